import { test, describe, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { openData } from '../../../src/core/data/open';
import { writeNpy } from '../../../src/core/io/npy';
import { MaxqError } from '../../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-open-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);
const isError = (kind: 'input' | 'usage', pattern: RegExp) => (e: unknown) => e instanceof MaxqError && e.kind === kind && pattern.test(e.message);

writeNpy(file('x.npy'), [10, 1, 4, 4], new Uint8Array(160).fill(3));
writeNpy(file('y.npy'), [10], BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i % 4)));
writeNpy(file('vx.npy'), [2, 4, 4], new Uint8Array(32));
writeNpy(file('vy.npy'), [2], Uint8Array.from([0, 3]));

function png(p: string): void {
  const img = new PNG({ width: 3, height: 3 });
  img.data.fill(255);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, PNG.sync.write(img));
}

describe('openData', () => {
  const model = { inputShape: ['N', 1, 4, 4], numClasses: 4 };

  test('npy with explicit validation files', () => {
    const d = openData({ kind: 'npy', normalize: 'unit', inputs: file('x.npy'), labels: file('y.npy'), valInputs: file('vx.npy'), valLabels: file('vy.npy') }, model)!;
    assert.equal(d.train.count, 10);
    assert.equal(d.val!.count, 2);
    assert.deepEqual(d.val!.getBatch([1]).labels, BigInt64Array.from([3n]));
    d.close();
  });

  test('npy without validation files holds out a seeded fraction', () => {
    const d = openData({ kind: 'npy', normalize: 'unit', inputs: file('x.npy'), labels: file('y.npy') }, model, { valFraction: 0.2, seed: 1 })!;
    assert.equal(d.train.count, 8);
    assert.equal(d.val!.count, 2);
    d.close();
    const none = openData({ kind: 'npy', normalize: 'unit', inputs: file('x.npy'), labels: file('y.npy') }, model)!;
    assert.equal(none.val, null);
    none.close();
    // 10 % of 4 samples rounds to none: all 4 train and there is no held-out set (it was an empty one, refused
    // as "the data set is empty").
    writeNpy(file('x4.npy'), [4, 1, 4, 4], new Uint8Array(64));
    writeNpy(file('y4.npy'), [4], BigInt64Array.from([0n, 1n, 2n, 3n]));
    const few = openData({ kind: 'npy', normalize: 'unit', inputs: file('x4.npy'), labels: file('y4.npy') }, model, { valFraction: 0.1, seed: 1 })!;
    assert.equal(few.train.count, 4);
    assert.equal(few.val, null);
    few.close();
  });

  test('npy without labels opens for distillation; labelled training needs labelled validation', () => {
    const d = openData({ kind: 'npy', normalize: 'unit', inputs: file('x.npy') }, model)!;
    assert.equal(d.train.hasLabels, false);
    assert.equal(d.train.count, 10);
    d.close();
    assert.throws(() => openData({ kind: 'npy', normalize: 'unit', inputs: file('x.npy'), labels: file('y.npy'), valInputs: file('x.npy') }, model), isError('usage', /validation labels/));
  });

  test('npy problems: model mismatch', () => {
    assert.throws(() => openData({ kind: 'npy', normalize: 'unit', inputs: file('x.npy'), labels: file('y.npy') }, { inputShape: [1, 3, 8, 8], numClasses: 4 }), isError('input', /channels differ/));
    assert.throws(() => openData({ kind: 'npy', normalize: 'unit', inputs: file('x.npy'), labels: file('y.npy') }, { inputShape: [1, 1, 4, 4], numClasses: 3 }), isError('input', /labels go up to 3/));
  });

  test('image folders: validation classes must match', () => {
    png(path.join(tmp, 'train', 'a', '1.png'));
    png(path.join(tmp, 'train', 'b', '1.png'));
    png(path.join(tmp, 'val', 'a', '1.png'));
    png(path.join(tmp, 'val', 'b', '1.png'));
    png(path.join(tmp, 'val2', 'a', '1.png'));
    png(path.join(tmp, 'val2', 'c', '1.png'));
    const rgb = { inputShape: [1, 3, 5, 5], numClasses: 2 };
    const d = openData({ kind: 'images', normalize: 'unit', dir: path.join(tmp, 'train'), valDir: path.join(tmp, 'val') }, rgb)!;
    assert.deepEqual([d.train.count, d.val!.count], [2, 2]);
    assert.deepEqual(d.train.inputShape, [3, 5, 5]);
    assert.throws(() => openData({ kind: 'images', normalize: 'unit', dir: path.join(tmp, 'train'), valDir: path.join(tmp, 'val2') }, rgb), isError('input', /class folders \[a, c\] differ/));
    assert.throws(() => openData({ kind: 'images', normalize: 'unit', dir: path.join(tmp, 'train') }, { inputShape: ['N', 3, 'H', 'W'], numClasses: 2 }), isError('usage', /fixed size/));
  });

  test('8-bit data with no preprocessing chosen is an error naming the file and the presets; none keeps raw bytes', () => {
    assert.throws(() => openData({ kind: 'npy', inputs: file('x.npy'), labels: file('y.npy') }, model),
      isError('usage', /x\.npy: the inputs \(uint8\) hold 8-bit values and no preprocessing was chosen; give --normalize .*none \(raw values\), unit \(\[0,1\]\), symmetric.*imagenet.*mnist \(MNIST mean\/std\)/));
    assert.throws(() => openData({ kind: 'images', dir: path.join(tmp, 'train') }, { inputShape: [1, 3, 5, 5], numClasses: 2 }), isError('usage', /train: the images hold 8-bit values/));
    const raw = openData({ kind: 'npy', normalize: 'none', inputs: file('x.npy') }, model)!;
    assert.equal(raw.train.getBatch([0]).inputs[0], 3);
    raw.close();
    const mnist = openData({ kind: 'npy', normalize: 'mnist', inputs: file('x.npy') }, model)!;
    assert.ok(Math.abs(mnist.train.getBatch([0]).inputs[0] - (3 / 255 - 0.1307) / 0.3081) < 1e-6);
    mnist.close();
    // Float inputs are taken as already preprocessed.
    writeNpy(file('xf.npy'), [2, 1, 4, 4], new Float32Array(32).fill(0.5));
    const f = openData({ kind: 'npy', inputs: file('xf.npy') }, model)!;
    assert.equal(f.train.getBatch([0]).inputs[0], 0.5);
    f.close();
  });

  test('MNIST demo and no data', () => {
    const d = openData({ kind: 'mnist-demo' }, { inputShape: ['batch', 1, 28, 28], numClasses: 10 })!;
    assert.deepEqual([d.train.count, d.val!.count], [8000, 2000]);
    assert.equal(openData({ kind: 'none' }, model), null);
  });
});

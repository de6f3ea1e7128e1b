import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { MnistDemoDataset, loadMnistDigits, MNIST_TOTAL } from '../../../src/core/data/mnist-demo';
import { checkCompatible } from '../../../src/core/data/validate';
import { MaxqError } from '../../../src/core/errors';

describe('MnistDemoDataset', () => {
  test('the package holds 10,000 real digits with labels 0..9', () => {
    const { pixels, labels } = loadMnistDigits();
    assert.equal(MNIST_TOTAL, 10_000);
    assert.equal(labels.length, 10_000);
    assert.equal(pixels.length, 10_000 * 784);
    const perClass = new Array(10).fill(0);
    for (const l of labels) perClass[l]++;
    // The package's per-class counts (the first 10,000 MNIST test digits).
    assert.deepEqual(perClass, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    // Sane raw pixel statistics: MNIST's mean intensity is ~0.13 and ~80% of pixels are background.
    let sum = 0;
    let zeros = 0;
    let max = 0;
    for (const p of pixels) {
      sum += p;
      if (p === 0) zeros++;
      if (p > max) max = p;
    }
    const mean = sum / pixels.length / 255;
    assert.ok(mean > 0.12 && mean < 0.145, `mean ${mean}`);
    assert.ok(zeros / pixels.length > 0.75 && zeros / pixels.length < 0.85, `background ${zeros / pixels.length}`);
    assert.equal(max, 255);
  });

  test('deterministic 8000/2000 split, disjoint, every class on both sides', () => {
    const train = new MnistDemoDataset({ split: 'train' });
    const testSet = new MnistDemoDataset({ split: 'test' });
    assert.equal(train.count, 8000);
    assert.equal(testSet.count, 2000);
    const seen = new Set([...train.indices, ...testSet.indices]);
    assert.equal(seen.size, 10_000);
    assert.deepEqual(new MnistDemoDataset({ split: 'test' }).indices, testSet.indices);
    assert.notDeepEqual(new MnistDemoDataset({ split: 'test', seed: 1 }).indices, testSet.indices);
    const classes = new Set(testSet.getBatch(Array.from({ length: 2000 }, (_, i) => i)).labels);
    assert.equal(classes.size, 10);
    assert.equal(new MnistDemoDataset({ split: 'all' }).count, 10_000);
  });

  test('batches are 1×28×28, normalised with the MNIST mean/std, labelled 0..9', () => {
    const ds = new MnistDemoDataset();
    assert.deepEqual(ds.inputShape, [1, 28, 28]);
    assert.equal(ds.numClasses, 10);
    checkCompatible(ds, ['N', 1, 28, 28], 10);
    const idx = Array.from({ length: 1000 }, (_, i) => i * 8);
    const b = ds.getBatch(idx);
    assert.equal(b.inputs.length, 1000 * 784);
    assert.ok(b.labels!.every((l) => l >= 0n && l <= 9n));
    let sum = 0;
    let sq = 0;
    let min = Infinity;
    for (const x of b.inputs) {
      sum += x;
      sq += x * x;
      if (x < min) min = x;
    }
    const mean = sum / b.inputs.length;
    const std = Math.sqrt(sq / b.inputs.length - mean * mean);
    assert.ok(Math.abs(mean) < 0.1, `normalised mean ${mean}`);
    assert.ok(std > 0.9 && std < 1.1, `normalised std ${std}`);
    assert.ok(Math.abs(min - -0.1307 / 0.3081) < 1e-6, `background ${min}`);
  });

  test('resized and repeated to 3 channels for other model inputs', () => {
    const ds = new MnistDemoDataset({ inputShape: [3, 32, 32], normalization: '1/255,0,1' });
    const b = ds.getBatch([0, 1]);
    assert.equal(b.inputs.length, 2 * 3 * 32 * 32);
    const plane = 32 * 32;
    assert.deepEqual(b.inputs.subarray(0, plane), b.inputs.subarray(2 * plane, 3 * plane));
    assert.ok(b.inputs.every((x) => x >= 0 && x <= 1));
    assert.ok(b.inputs.some((x) => x > 0.9));
    assert.throws(() => checkCompatible(ds, [1, 28, 28], 10), (e: unknown) => e instanceof MaxqError && /channels differ/.test(e.message));
  });
});

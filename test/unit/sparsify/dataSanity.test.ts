import { test, describe, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MnistDemoDataset } from '../../../src/core/data/mnist-demo';
import { NpyDataset } from '../../../src/core/data/npy-dataset';
import { writeNpy } from '../../../src/core/io/npy';
import { binomialTail, dataSanityCheck } from '../../../src/core/sparsify/dataSanity';
import { sparsify } from '../../../src/core/sparsify/sparsify';
import { optionsFromArgs } from '../../../src/cli/commands/sparsify';
import { parse } from '../../../src/cli/args';
import { MaxqError } from '../../../src/core/errors';
import { RunEvent } from '../../../src/core/types';

const root = path.resolve(__dirname, '../../../..');
const mnistModel = path.join(root, 'media', 'demo', 'mnist-cnn.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-sanity-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// 128 real digits as raw bytes, with their labels.
const digits = new MnistDemoDataset({ split: 'test', inputShape: [1, 28, 28], normalization: 'none' });
const batch = digits.getBatch(Array.from({ length: 128 }, (_, i) => i));
const xFile = path.join(tmp, 'x.npy');
const yFile = path.join(tmp, 'y.npy');
writeNpy(xFile, [128, 1, 28, 28], Uint8Array.from(batch.inputs, (v) => Math.round(v)));
writeNpy(yFile, [128], batch.labels!);

const open = (normalize: string, labels = true) => NpyDataset.open({ inputs: xFile, labels: labels ? yFile : undefined, normalization: normalize });

describe('data sanity check', () => {
  test('the right preprocessing passes', async () => {
    const r = await dataSanityCheck(mnistModel, open('mnist'), { batchSize: 32 });
    assert.equal(r!.metric, 'accuracy');
    assert.ok(r!.value > 0.9, `accuracy ${r!.value}`);
    assert.equal(r!.label, 'MNIST mean/std');
    assert.equal(r!.warning, undefined);
    assert.deepEqual(r!.presets, []);
  });

  test('a wrong preprocessing stops with the presets ranked by dense accuracy', async () => {
    await assert.rejects(dataSanityCheck(mnistModel, open('none'), { batchSize: 32 }), (e: unknown) => {
      assert.ok(e instanceof MaxqError && e.kind === 'usage', String(e));
      assert.match(e.message, /^dense accuracy \d+\.\d % under raw values on .*x\.npy; \d+\.\d % under (MNIST mean\/std \(--normalize mnist\)|\[0,1\] \(--normalize unit\)).* — the model expects other preprocessing/);
      const presets = (e.details!.sanityCheck as { presets: { name: string; value: number }[] }).presets;
      assert.ok(presets.find((p) => p.name === 'mnist')!.value > 0.9);
      assert.ok(!presets.some((p) => p.name === 'imagenet'), 'a 3-channel preset is not tried on 1-channel data');
      return true;
    });
  });

  test('well above chance but far below a preset (raw bytes ~45 % vs MNIST mean/std ~98 %) stops too', async () => {
    // 256 training digits spread over the split: raw values score ~45 %, far above chance but not the model's input.
    const train = new MnistDemoDataset({ split: 'train', inputShape: [1, 28, 28], normalization: 'none' });
    const b = train.getBatch(Array.from({ length: 256 }, (_, i) => i * 30));
    const x = path.join(tmp, 'train-x.npy'), y = path.join(tmp, 'train-y.npy');
    writeNpy(x, [256, 1, 28, 28], Uint8Array.from(b.inputs, (v) => Math.round(v)));
    writeNpy(y, [256], b.labels!);
    await assert.rejects(dataSanityCheck(mnistModel, NpyDataset.open({ inputs: x, labels: y, normalization: 'none' }), { batchSize: 64 }), (e: unknown) => {
      assert.ok(e instanceof MaxqError && e.kind === 'usage', String(e));
      const m = e.message.match(/^dense accuracy (\d+\.\d) % under raw values on .*train-x\.npy; (\d+\.\d) % under MNIST mean\/std \(--normalize mnist\)/);
      assert.ok(m, e.message);
      assert.ok(Number(m[1]) > 30 && Number(m[2]) > 90, e.message);
      return true;
    });
  });

  test('a lead on a handful of samples is a warning, not a stop (1 of 4 right is 25 %)', async () => {
    // Four digits under raw values, three of them mislabelled: the best preset gets 1 of 4 right (25 %, past
    // the old bar of chance and +10 points), which 4 samples cannot tell from luck (P ≈ 0.34 at a 10 % rate),
    // so the run goes on with a warning instead of stopping with a claim it cannot back.
    const few = path.join(tmp, 'few-x.npy'), fewY = path.join(tmp, 'few-y.npy');
    const b = digits.getBatch([0, 1, 2, 3]);
    writeNpy(few, [4, 1, 28, 28], Uint8Array.from(b.inputs, (v) => Math.round(v)));
    writeNpy(fewY, [4], b.labels!.map((v, i) => (i === 0 ? v : (v + 3n) % 10n)));
    const r = await dataSanityCheck(mnistModel, NpyDataset.open({ inputs: few, labels: fewY, normalization: 'none' }), { batchSize: 4 });
    assert.ok(r!.value < 0.9, 'raw values are suspect here too');
    assert.ok(r!.presets[0].value > r!.value, 'a preset does better');
    assert.match(r!.warning!, /^data sanity check: dense accuracy \d+\.\d % under raw values on .*few-x\.npy, \d+\.\d % under .*: 4 samples are too few to tell the preprocessing apart; check it$/);
  });

  test('binomialTail: P(X ≥ k) of Binomial(n, p)', () => {
    assert.equal(binomialTail(0, 10, 0.3), 1);
    assert.equal(binomialTail(11, 10, 0.3), 0);
    assert.ok(Math.abs(binomialTail(1, 4, 0.1) - (1 - 0.9 ** 4)) < 1e-12);
    assert.ok(Math.abs(binomialTail(4, 4, 0.5) - 1 / 16) < 1e-12);
    // 98 % of 256 where 45 % is the bar: far beyond luck; 25 % of 4 at a 10 % bar: easily luck.
    assert.ok(binomialTail(251, 256, 0.45) < 1e-30);
    assert.ok(binomialTail(1, 4, 0.1) > 0.3);
  });

  test('without labels: a confident model passes; its entropy is measured', async () => {
    const r = await dataSanityCheck(mnistModel, open('mnist', false), { batchSize: 32 });
    assert.equal(r!.metric, 'entropy');
    assert.ok(r!.value < 0.9);
    assert.equal(r!.warning, undefined);
  });

  test('sparsify runs the check before anything else, and --no-sanity-check skips it', async () => {
    const out = path.join(tmp, 'out.onnx');
    const events: RunEvent[] = [];
    const base = { model: mnistModel, out, pattern: '2:4', method: 'magnitude' as const, epochs: 0, batchSize: 32 };
    await assert.rejects(sparsify({ ...base, data: { kind: 'npy', inputs: xFile, labels: yFile, normalize: '1,0,1' } }, (e) => events.push(e)), /the model expects other preprocessing/);
    assert.ok(!events.some((e) => e.type === 'phase' && e.phase === 'masks'));
    assert.equal(fs.existsSync(out), false);
    await assert.rejects(sparsify({ ...base, data: { kind: 'npy', inputs: xFile, labels: yFile } }), /no preprocessing was chosen; give --normalize/);
    const p = parse(['m.onnx', '--pattern', '2:4', '--inputs', xFile, '--normalize', 'mnist', '--no-sanity-check'], {
      pattern: { type: 'string' }, inputs: { type: 'string' }, normalize: { type: 'string' }, 'no-sanity-check': { type: 'boolean' },
    } as const, 'usage');
    const opts = optionsFromArgs(p, mnistModel);
    assert.equal(opts.sanityCheck, false);
    assert.deepEqual(opts.data, { kind: 'npy', inputs: xFile, labels: undefined, valInputs: undefined, valLabels: undefined, normalize: 'mnist' });
  });
});

/**
 * Issue 8: models whose BatchNorm was folded at export. A BN-folded copy of the bundled demo CNN (folded with
 * the project's own ONNX code) must sparsify as well as the BN model: one-shot 2:4 with data within 2 points of
 * the BN model's one-shot + BN re-estimation, a 3-epoch MaxQ fine-tune at default settings within 0.5 point,
 * no NaN on BN-free ResNet basic blocks and SqueezeNet fire modules, and without data MaxQ keeps the scale.
 * (A diverging run's advice is checked in test/unit/training/divergence.test.ts.)
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { sparsify } from '../../../src/core/sparsify/sparsify';
import { SparsifyOptions } from '../../../src/core/sparsify/options';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { foldBatchNorm } from '../../../src/core/onnx/foldBatchNorm';
import { createSession, ort } from '../../../src/core/runtime/ortSession';
import { MaxqError } from '../../../src/core/errors';
import { RunEvent, RunSummary } from '../../../src/core/types';
import { DEMO_MODEL, syntheticImages, tempDir, writeModelFile, writeSyntheticNpy } from '../fixtures';
import { bnFreeFireModules, bnFreeResnetBlocks } from '../norm/bnFreeFixtures';

let dir: string;
let folded: string;

async function logits(file: string, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await createSession(file, file);
  try {
    return (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) }))[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

async function runOn(model: string, name: string, o: Partial<SparsifyOptions>): Promise<{ summary: RunSummary; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const summary = await sparsify({ model, out: path.join(dir, name), pattern: '2:4', method: 'maxq', epochs: 0, data: { kind: 'mnist-demo' }, ...o }, (e) => events.push(e));
  return { summary, events };
}

before(async () => {
  dir = tempDir('maxq-bn-folded-');
  const r = await foldBatchNorm(await OnnxModel.load(DEMO_MODEL));
  folded = writeModelFile(dir, 'mnist-cnn.folded.onnx', r.bytes);
});

describe('the BN-folded demo CNN', () => {
  it('foldBatchNorm: no BatchNormalization left, every conv has a bias, the same function', async () => {
    const m = await OnnxModel.load(folded);
    assert.equal(m.nodes.filter((n) => n.opType === 'BatchNormalization').length, 0);
    for (const n of m.nodes.filter((x) => x.opType === 'Conv')) assert.equal(n.input?.length, 3, `${n.name} has a bias`);
    const d = syntheticImages(4, 3, { channels: 1, size: 28, classes: 10 });
    const [a, b] = [await logits(folded, d.x, d.shape), await logits(DEMO_MODEL, d.x, d.shape)];
    let scale = 0;
    for (const v of b) scale = Math.max(scale, Math.abs(v));
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-4 * scale, `logit ${i}: ${v} vs ${b[i]}`));
    await assert.rejects(foldBatchNorm(m), (e: unknown) => e instanceof MaxqError && /has no BatchNormalization node to fold/.test(e.message));
  });

  for (const method of ['magnitude', 'maxq'] as const) {
    it(`one-shot 2:4 ${method} with data: within 2 points of the BN model's one-shot with BN re-estimation`, async () => {
      const bn = await runOn(DEMO_MODEL, `bn-${method}.onnx`, { method });
      const f = await runOn(folded, `folded-${method}.onnx`, { method });
      assert.ok(f.summary.finalAccuracy! >= bn.summary.finalAccuracy! - 0.02, `folded ${f.summary.finalAccuracy} vs BN ${bn.summary.finalAccuracy}`);
      assert.equal(f.summary.validationPass, true);
      assert.deepEqual(f.summary.normalisation, {
        normalised: ['block.conv1.weight', 'block.conv2.weight', 'block.down.conv.weight', 'head.conv.weight'], followedByBn: 0, skipped: [],
        message: '4 of 4 sparsified layers had no BatchNorm: 4 normalised for the run, folded back',
      });
      assert.ok(f.events.some((e) => e.type === 'phase' && e.phase === 'normalisation'));
      assert.notEqual(f.summary.numeric?.verdict.kind, 'blown-up');
      // Folded back: the written model has the input's graph (no node added, none removed).
      const [w, i] = [await OnnxModel.load(path.join(dir, `folded-${method}.onnx`)), await OnnxModel.load(folded)];
      assert.deepEqual(w.nodes.map((n) => n.opType), i.nodes.map((n) => n.opType));
    });
  }

  it('3-epoch MaxQ 2:4 fine-tune at default settings: no NaN, within 0.5 point of the BN model\'s', async () => {
    const bn = await runOn(DEMO_MODEL, 'bn-ft.onnx', { epochs: 3 });
    const f = await runOn(folded, 'folded-ft.onnx', { epochs: 3 });
    assert.ok(f.summary.finalAccuracy! >= bn.summary.finalAccuracy! - 0.005, `folded ${f.summary.finalAccuracy} vs BN ${bn.summary.finalAccuracy}`);
    assert.ok(f.events.filter((e) => e.type === 'step').every((e) => e.type === 'step' && Number.isFinite(e.loss)));
    assert.equal(f.summary.validationPass, true);
    assert.equal(f.summary.normalisation?.normalised.length, 4);
  });

  it('without the run normalisation the step guard keeps the fine-tune finite, but it ends far below', async () => {
    // Unguarded, this run's logits grew from 3e2 to 7e29 in six steps and the loss became NaN (issue 8).
    const f = await runOn(folded, 'no-norm.onnx', { epochs: 1, normalise: false });
    const steps = f.events.filter((e) => e.type === 'step');
    assert.ok(steps.every((e) => e.type === 'step' && Number.isFinite(e.loss)));
    assert.ok(f.events.some((e) => e.type === 'log' && e.level === 'warn' && /^epoch 1: \d+ of \d+ steps would have moved the weights by more than 1 % of their norm and were scaled down/.test(e.message)));
    const normalised = await runOn(folded, 'with-norm-1ep.onnx', { epochs: 1 });
    assert.ok(!normalised.events.some((e) => e.type === 'log' && /were scaled down/.test(e.message)), 'with the normalisation no step needs the guard');
    assert.ok(f.summary.finalAccuracy! < normalised.summary.finalAccuracy! - 0.03, `without ${f.summary.finalAccuracy}, with ${normalised.summary.finalAccuracy}`);
  });

  it('one-shot MaxQ without data keeps each filter\'s scale and says data would recover more', async () => {
    const { summary, events } = await runOn(folded, 'nodata.onnx', { data: { kind: 'none' } });
    assert.ok(events.some((e) => e.type === 'log' && /head\.conv\.weight: 2:4 maxq, \d+ blocks, filter scale kept/.test(e.message)));
    assert.ok(events.some((e) => e.type === 'log' && e.level === 'warn' && /^one-shot without data: each filter’s scale was kept .* would recover more accuracy/.test(e.message)));
    const out = summary.numeric!.outputs[0];
    assert.ok(out.maxAbsDiff <= 2 * out.referenceRange, `max |Δ| ${out.maxAbsDiff}, dense range ${out.referenceRange}`);
    assert.notEqual(summary.numeric!.verdict.kind, 'blown-up');
    assert.equal(summary.normalisation?.message, '4 of 4 sparsified layers had no BatchNorm: 4 could be normalised for the run with data');
  });
});

describe('BN-free fixtures (ResNet basic blocks, SqueezeNet fire modules): 1-epoch label-free MaxQ fine-tune at defaults', () => {
  for (const [name, bytes, layers] of [['resnet-blocks', bnFreeResnetBlocks(), 5], ['fire-modules', bnFreeFireModules(), 7]] as const) {
    it(`${name}: every step finite, every BN-free layer normalised and folded back, validates`, async () => {
      const model = writeModelFile(dir, `${name}.onnx`, bytes);
      const data = writeSyntheticNpy(dir, 96, 17, false, name);
      const events: RunEvent[] = [];
      const summary = await sparsify({ model, out: path.join(dir, `${name}.2of4.onnx`), pattern: '2:4', method: 'maxq', epochs: 1, batchSize: 16, data: { kind: 'npy', inputs: data.inputs } }, (e) => events.push(e));
      const steps = events.filter((e) => e.type === 'step');
      assert.ok(steps.length >= 5 && steps.every((e) => e.type === 'step' && Number.isFinite(e.loss)));
      assert.equal(summary.metric, 'agreement');
      assert.equal(summary.normalisation?.normalised.length, layers);
      assert.equal(summary.validationPass, true);
      assert.notEqual(summary.numeric?.verdict.kind, 'blown-up');
    });
  }
});

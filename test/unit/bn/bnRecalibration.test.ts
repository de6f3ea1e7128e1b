/**
 * BN re-estimation (issue 5 "Deliver"): run the pruned model with BN in training mode over the given batches and
 * replace running mean/var by the average of the batch means and unbiased batch variances, keeping every
 * weight. Checked against a float64 JS forward of the same tiny conv-BN model on the same batches.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { sparsify } from '../../../src/core/sparsify/sparsify';
import { recalibrateBatchNorm, batchNormCount } from '../../../src/core/bn/bnRecalibration';
import { epochBatches } from '../../../src/core/data/batches';
import { NpyDataset } from '../../../src/core/data/npy-dataset';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { writeNpy } from '../../../src/core/io/npy';
import { RunEvent } from '../../../src/core/types';
import { MaxqError } from '../../../src/core/errors';
import { convBnModel, randn, tempDir, writeModelFile } from '../fixtures';

const COUNT = 44, C_IN = 4, HW = 16, EPS = 1e-5;

interface Params {
  w1: Float32Array; w2: Float32Array;
  g1: Float32Array; b1: Float32Array; g2: Float32Array; b2: Float32Array;
}

/** 1×1 conv: y[n, o, p] = Σ_i w[o, i] · x[n, i, p]. */
function conv1x1(x: Float64Array, n: number, cin: number, w: Float32Array, cout: number): Float64Array {
  const y = new Float64Array(n * cout * HW);
  for (let b = 0; b < n; b++) for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) {
    const wv = w[o * cin + i];
    if (wv === 0) continue;
    for (let p = 0; p < HW; p++) y[(b * cout + o) * HW + p] += wv * x[(b * cin + i) * HW + p];
  }
  return y;
}

/** Batch mean and biased variance per channel. */
function stats(y: Float64Array, n: number, c: number): { mean: Float64Array; biased: Float64Array } {
  const mean = new Float64Array(c), biased = new Float64Array(c);
  const m = n * HW;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) for (let p = 0; p < HW; p++) s += y[(b * c + ch) * HW + p];
    mean[ch] = s / m;
    let v = 0;
    for (let b = 0; b < n; b++) for (let p = 0; p < HW; p++) v += (y[(b * c + ch) * HW + p] - mean[ch]) ** 2;
    biased[ch] = v / m;
  }
  return { mean, biased };
}

/** BN in training mode (batch statistics) followed by ReLU. */
function bnReluTrain(y: Float64Array, n: number, c: number, g: Float32Array, beta: Float32Array, st: { mean: Float64Array; biased: Float64Array }): Float64Array {
  const out = new Float64Array(y.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < HW; p++) {
    const i = (b * c + ch) * HW + p;
    out[i] = Math.max(0, (g[ch] * (y[i] - st.mean[ch])) / Math.sqrt(st.biased[ch] + EPS) + beta[ch]);
  }
  return out;
}

/** The expected running statistics: averages over the batches of batch mean and unbiased variance. */
function reference(x: Float32Array, batches: number[][], p: Params) {
  const acc = { m1: new Float64Array(8), v1: new Float64Array(8), m2: new Float64Array(8), v2: new Float64Array(8) };
  for (const idx of batches) {
    const n = idx.length;
    const xb = new Float64Array(n * C_IN * HW);
    idx.forEach((s, b) => { for (let k = 0; k < C_IN * HW; k++) xb[b * C_IN * HW + k] = x[s * C_IN * HW + k]; });
    const y1 = conv1x1(xb, n, C_IN, p.w1, 8);
    const s1 = stats(y1, n, 8);
    const y2 = conv1x1(bnReluTrain(y1, n, 8, p.g1, p.b1, s1), n, 8, p.w2, 8);
    const s2 = stats(y2, n, 8);
    const unbias = (n * HW) / (n * HW - 1);
    for (let c = 0; c < 8; c++) {
      acc.m1[c] += s1.mean[c]; acc.v1[c] += s1.biased[c] * unbias;
      acc.m2[c] += s2.mean[c]; acc.v2[c] += s2.biased[c] * unbias;
    }
  }
  const k = batches.length;
  return { m1: acc.m1.map((v) => v / k), v1: acc.v1.map((v) => v / k), m2: acc.m2.map((v) => v / k), v2: acc.v2.map((v) => v / k) };
}

function assertClose(actual: Float32Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-4 * Math.max(1, Math.abs(expected[i]));
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('BN re-estimation against a JS reference', () => {
  let dir: string, model: string, xFile: string, x: Float32Array;
  before(() => {
    dir = tempDir('maxq-bn-');
    model = writeModelFile(dir, 'convbn.onnx', convBnModel());
    x = randn(COUNT * C_IN * HW, 21);
    for (let i = 0; i < x.length; i++) x[i] = x[i] * 1.5 + 0.3 * ((i >> 4) % 4); // per-channel offsets
    xFile = path.join(dir, 'x.npy');
    writeNpy(xFile, [COUNT, C_IN, 4, 4], x);
  });

  async function params(file: string): Promise<Params> {
    const m = await OnnxModel.load(file);
    const r = (n: string) => m.readFloat32(n);
    return { w1: await r('c1.weight'), w2: await r('c2.weight'), g1: await r('bn1.weight'), b1: await r('bn1.bias'), g2: await r('bn2.weight'), b2: await r('bn2.bias') };
  }

  it('--bn-recalibrate 3: running mean/var = mean over 3 batches of batch mean / unbiased var, with the folded weights', async () => {
    const out = path.join(dir, 'bn3.onnx');
    const events: RunEvent[] = [];
    const summary = await sparsify({
      model, out, pattern: '2:4', method: 'magnitude', epochs: 0, include: ['c1.weight'], batchSize: 8, seed: 5, bnRecalibrate: 3,
      data: { kind: 'npy', inputs: xFile },
    }, (e) => events.push(e));
    assert.equal(summary.sparsifiedLayers, 2);
    assert.equal(summary.validationPass, true);
    const p = await params(out);
    // Both convs were folded before the statistics were measured.
    assert.equal(p.w1.filter((v) => v === 0).length, 16);
    assert.equal(p.w2.filter((v) => v === 0).length, 32);
    const plan = epochBatches(COUNT, { batchSize: 8, seed: 5, dropLast: true }).slice(0, 3);
    const ref = reference(x, plan, p);
    const m = await OnnxModel.load(out);
    assertClose(await m.readFloat32('bn1.running_mean'), ref.m1, 'bn1 mean');
    assertClose(await m.readFloat32('bn1.running_var'), ref.v1, 'bn1 var');
    assertClose(await m.readFloat32('bn2.running_mean'), ref.m2, 'bn2 mean');
    assertClose(await m.readFloat32('bn2.running_var'), ref.v2, 'bn2 var');
    assert.ok(events.some((e) => e.type === 'log' && e.message === 're-estimated 2 BN layers on 24 samples'));
    // BN affine parameters are kept.
    const orig = await params(model);
    assert.deepEqual([p.g1, p.b1, p.g2, p.b2].map((a) => Array.from(a)), [orig.g1, orig.b1, orig.g2, orig.b2].map((a) => Array.from(a)));
  });

  it('default (inputs without labels): re-estimates over every full batch there is, weights as without it', async () => {
    const out = path.join(dir, 'bn-default.onnx');
    const outNo = path.join(dir, 'bn-off.onnx');
    const base = { model, pattern: '2:4', method: 'maxq' as const, epochs: 0, batchSize: 8, data: { kind: 'npy' as const, inputs: xFile } };
    await sparsify({ ...base, out });
    await sparsify({ ...base, out: outNo, bnRecalibrate: false });
    const p = await params(out);
    const pNo = await params(outNo);
    // Without re-estimation nothing absorbs MaxQ's ×1…3 soft scale, so each filter keeps its dense L2 norm: the
    // same N:M zeros, the same weights up to one positive factor per filter.
    const per = p.w2.length / 8;
    for (let o = 0; o < 8; o++) {
      const a = p.w2.subarray(o * per, (o + 1) * per), b = pNo.w2.subarray(o * per, (o + 1) * per);
      assert.deepEqual(Array.from(a, (v) => v === 0), Array.from(b, (v) => v === 0), 'the same zeros with and without BN re-estimation');
      const k = b.find((v) => v !== 0)! / a.find((v) => v !== 0)!;
      assert.ok(k > 0);
      a.forEach((v, i) => assert.ok(Math.abs(v * k - b[i]) <= 1e-5 * Math.abs(b[i]) + 1e-7, `filter ${o}: one factor per filter`));
    }
    assert.deepEqual(Array.from(p.w1), Array.from((await params(model)).w1), 'c1 is the stem: dense by default');
    // 44 samples, batch 8 → 5 full batches (default 20 batches, capped by the data).
    const plan = epochBatches(COUNT, { batchSize: 8, seed: 0, dropLast: true });
    assert.equal(plan.length, 5);
    const ref = reference(x, plan, p);
    const m = await OnnxModel.load(out);
    assertClose(await m.readFloat32('bn2.running_mean'), ref.m2, 'bn2 mean');
    assertClose(await m.readFloat32('bn2.running_var'), ref.v2, 'bn2 var');
    const mNo = await OnnxModel.load(outNo);
    assert.deepEqual(Array.from(await mNo.readFloat32('bn2.running_var')), Array.from(await (await OnnxModel.load(model)).readFloat32('bn2.running_var')));
  });

  it('recalibrateBatchNorm directly: edits name the source statistics tensors; a batch larger than the data is capped', async () => {
    const m = await OnnxModel.load(model);
    assert.equal(batchNormCount(m), 2);
    const data = NpyDataset.open({ inputs: xFile });
    try {
      const r = await recalibrateBatchNorm(m, new Map(), data, { batches: 1, batchSize: 1000 });
      assert.equal(r.layers, 2);
      assert.equal(r.samples, COUNT);
      assert.deepEqual([...r.edits.keys()].sort(), ['bn1.running_mean', 'bn1.running_var', 'bn2.running_mean', 'bn2.running_var']);
      const ref = reference(x, epochBatches(COUNT, { batchSize: COUNT, seed: 0, dropLast: true }), await params(model));
      assertClose(r.edits.get('bn1.running_var')!, ref.v1, 'bn1 var (dense weights)');
      assertClose(r.edits.get('bn2.running_mean')!, ref.m2, 'bn2 mean (dense weights)');
    } finally {
      data.close();
    }
  });

  it('opset < 14 (no BN training mode): the default keeps the statistics with a warning; an explicit request is an input error', async () => {
    const old = writeModelFile(dir, 'opset13.onnx', convBnModel(3, 13));
    const events: RunEvent[] = [];
    const base = { model: old, pattern: '2:4', method: 'maxq' as const, epochs: 0, batchSize: 8, data: { kind: 'npy' as const, inputs: xFile } };
    const summary = await sparsify({ ...base, out: path.join(dir, 'op13.onnx') }, (e) => events.push(e));
    assert.equal(summary.validationPass, true);
    assert.ok(events.some((e) => e.type === 'log' && e.level === 'warn' && /re-estimation needs opset ≥ 14 \(this model has opset 13\)/.test(e.message)));
    const m = await OnnxModel.load(path.join(dir, 'op13.onnx'));
    assert.deepEqual(Array.from(await m.readFloat32('bn2.running_var')), Array.from(await (await OnnxModel.load(old)).readFloat32('bn2.running_var')));
    await assert.rejects(
      sparsify({ ...base, out: path.join(dir, 'op13b.onnx'), bnRecalibrate: 2 }),
      (e: unknown) => e instanceof MaxqError && e.file === old && /needs opset ≥ 14/.test(e.message),
    );
  });
});

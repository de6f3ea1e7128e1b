/**
 * validateModel (issue 2 "Fold and validate"): a model folded by sparsify validates clean when checked with
 * the same --include/--exclude; violations are reported at canonical coordinates (o, i, h, w), also for
 * weights stored [in, out]; the numeric check compares against the dense source.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { sparsify } from '../../../src/core/sparsify/sparsify';
import { validateModel } from '../../../src/core/validate/validateModel';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { LayerValidation } from '../../../src/core/types';
import { craftedViolations, layerZoo, tempDir, writeModelFile } from '../fixtures';

const byName = (layers: LayerValidation[]) => new Map(layers.map((l) => [l.name, l]));

describe('validate a model folded by sparsify (layer zoo: Identity, DequantizeLinear, Transpose, [in, out])', () => {
  let dir: string, zoo: string, out: string;
  const include = ['fc*', 'mm*', 'stem.w'];
  const exclude = ['idconv'];

  before(async () => {
    dir = tempDir('maxq-validate-');
    zoo = writeModelFile(dir, 'zoo.onnx', layerZoo());
    out = path.join(dir, 'zoo-2of4.onnx');
    const summary = await sparsify({ model: zoo, out, pattern: '2:4', method: 'maxq', epochs: 0, include, exclude });
    assert.equal(summary.sparsifiedLayers, 7);
    assert.equal(summary.validationPass, true);
  });

  it('with the same include/exclude every sparsified layer passes and every other one is skipped with its reason', async () => {
    const report = await validateModel(out, { pattern: '2:4', include, exclude });
    assert.equal(report.pass, true);
    const l = byName(report.layers);
    assert.deepEqual(report.layers.filter((x) => x.status === 'pass').map((x) => x.name), ['stem.w', 'to6.w', 'q.w', 'fc1.w', 'fc2.w', 'mm.w', 'mmt.w']);
    assert.deepEqual(
      report.layers.filter((x) => x.status === 'skipped').map((x) => [x.name, x.reason]),
      [
        ['dw.w', 'depthwise conv'], ['grp.w', 'grouped conv (group=2)'], ['cin6.w', 'Cin 6 is not a multiple of M=4'],
        ['dyn.w', 'weight is not a constant initializer'], ['id.src', 'excluded by --exclude'],
        ['cls.w', 'final classifier (kept dense unless named with --include)'],
      ],
    );
    for (const name of ['fc2.w', 'mm.w', 'mmt.w', 'q.w']) {
      assert.deepEqual(l.get(name)!.detected, { n: 2, m: 4 }, name);
      assert.equal(l.get(name)!.violatingGroups, 0);
    }
    assert.equal(l.get('mm.w')!.totalGroups, 8 * 3);
  });

  it('without the same selection, the layers left dense on purpose are reported', async () => {
    // The default policy selects idconv's weight, which the run excluded.
    const d = await validateModel(out, { pattern: '2:4' });
    assert.equal(d.pass, false);
    assert.deepEqual(d.layers.filter((x) => x.status === 'fail').map((x) => x.name), ['id.src']);
    assert.equal((await validateModel(out, { pattern: '2:4', exclude })).pass, true);
    const r = await validateModel(out, { pattern: '2:4', include: ['cls.w', 'id.src'] });
    assert.equal(r.pass, false);
    assert.deepEqual(r.layers.filter((x) => x.status === 'fail').map((x) => x.name), ['id.src', 'cls.w']);
  });

  it('the folded weights hold N:M in their stored layouts and the rest is byte-identical', async () => {
    const [a, b] = await Promise.all([zoo, out].map((f) => OnnxModel.load(f)));
    const mm = await b.readFloat32('mm.w'); // [12 in, 8 out]: groups run down columns
    for (let col = 0; col < 8; col++) for (let g = 0; g < 3; g++) {
      let nz = 0;
      for (let r = 0; r < 4; r++) nz += mm[(4 * g + r) * 8 + col] !== 0 ? 1 : 0;
      assert.ok(nz <= 2, `mm.w column ${col} group ${g}: ${nz}`);
    }
    const mmt = await b.readFloat32('mmt.w'); // [4, 8] behind Transpose: canonical = stored, groups along rows
    for (let k = 0; k < 8; k++) assert.ok(Array.from(mmt.subarray(4 * k, 4 * k + 4)).filter((v) => v !== 0).length <= 2);
    const q0 = (await a.readTensor('q.w')).data as Int8Array, q1 = (await b.readTensor('q.w')).data as Int8Array;
    assert.ok(q1 instanceof Int8Array, 'int8 stays int8');
    // Folding is W ⊙ S (maxq: S ≥ 1 on kept weights), re-quantized: pruned → exactly 0, kept keep their sign.
    for (let i = 0; i < q0.length; i++) assert.ok(q1[i] === 0 || Math.sign(q1[i]) === Math.sign(q0[i]), `q.w[${i}]`);
    assert.ok(q1.filter((v) => v === 0).length >= 32);
    for (const name of ['dw.w', 'grp.w', 'cin6.w', 'id.src', 'cls.w']) {
      assert.deepEqual(Array.from(await b.readFloat32(name)), Array.from(await a.readFloat32(name)), name);
    }
  });

  it('numeric check against the dense source runs both models on random inputs', async () => {
    const r = await validateModel(out, { pattern: '2:4', include, exclude, reference: zoo });
    assert.ok(r.numeric);
    assert.equal(r.numeric.reference, zoo);
    assert.equal(r.numeric.inputsFrom, 'random normal (seed 0, batch 1)'); // what was run, not the default 8
    assert.equal(r.numeric.samples, 1); // the zoo's input has a fixed batch of 1
    const [y] = r.numeric.outputs;
    assert.equal(y.name, 'Y');
    assert.ok(y.maxAbsDiff > 0 && Number.isFinite(y.maxAbsDiff));
    assert.ok(y.cosine > -1 && y.cosine <= 1 + 1e-12);
    assert.ok(y.top1Agreement === 0 || y.top1Agreement === 1);
  });
});

describe('violations at canonical coordinates', () => {
  const crafted = craftedViolations();
  let file: string;
  before(() => {
    file = writeModelFile(tempDir('maxq-validate-crafted-'), 'crafted.onnx', crafted.bytes);
  });

  it('conv OIHW and Gemm [in, out]: (o, i, h, w) of each failing group, in order', async () => {
    const r = await validateModel(file, { pattern: '2:4', include: ['head.w'] });
    assert.equal(r.pass, false);
    const l = byName(r.layers);
    const target = l.get('target.w')!, head = l.get('head.w')!;
    assert.deepEqual([target.status, target.totalGroups, target.violatingGroups, target.n, target.m], ['fail', 36, 2, 2, 4]);
    assert.deepEqual(target.firstViolations, crafted.target);
    assert.deepEqual([head.status, head.totalGroups, head.violatingGroups], ['fail', 6, 1]);
    assert.deepEqual(head.firstViolations, crafted.head);
    assert.deepEqual([l.get('stem.w')!.status, l.get('expand.w')!.reason], ['skipped', 'Cin 2 is not a multiple of M=4']);
  });

  it('maxListed caps the listed groups, not the count', async () => {
    const r = await validateModel(file, { pattern: '2:4', maxListed: 1 });
    const target = byName(r.layers).get('target.w')!;
    assert.equal(target.violatingGroups, 2);
    assert.deepEqual(target.firstViolations, crafted.target.slice(0, 1));
    assert.equal(byName(r.layers).get('head.w')!.status, 'skipped'); // final classifier, not named
  });

  it('a looser pattern passes; detect mode finds the tightest N:M', async () => {
    assert.equal((await validateModel(file, { pattern: '3:4' })).layers.find((x) => x.name === 'target.w')!.status, 'fail');
    const ok = await validateModel(file, { pattern: '6:8' });
    assert.equal(ok.layers.find((x) => x.name === 'target.w')!.status, 'pass');
    const detect = await validateModel(file);
    assert.equal(detect.pattern, null);
    // Channels 0..7 at (o 0, kernel (0, 1)) hold 6 non-zeros; with M = 4 one group is dense.
    assert.deepEqual(detect.layers.find((x) => x.name === 'target.w')!.detected, { n: 6, m: 8 });
  });
});

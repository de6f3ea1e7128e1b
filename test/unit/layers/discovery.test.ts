/**
 * Layer discovery and the default policy (issue 2 "Layers and eligibility", spec §2.2 and §8.2): which weights
 * are found, their canonical shapes and storage layout, which are eligible, which the policy selects, the
 * reason given for every layer left dense, and how --include / --exclude change that.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { discoverLayers } from '../../../src/core/layers/layerDiscovery';
import { globToRegExp } from '../../../src/core/layers/layerPolicy';
import { canonicalToSource, loadLayerWeight } from '../../../src/core/layers/layerWeights';
import { selectedLayers } from '../../../src/core/sparsify/layerMasks';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { MaxqError } from '../../../src/core/errors';
import { LayerInfo } from '../../../src/core/types';
import { buildModel, floatTensor, node, valueInfo } from '../../../src/core/onnx/builder';
import { DataType } from '../../../src/core/onnx/proto';
import { DEMO_MODEL, layerZoo, noEligibleModel, tempDir, writeModelFile } from '../fixtures';

async function loadZoo(): Promise<OnnxModel> {
  return OnnxModel.load(writeModelFile(tempDir(), 'zoo.onnx', layerZoo()));
}

function byName(layers: LayerInfo[]): Map<string, LayerInfo> {
  return new Map(layers.map((l) => [l.name, l]));
}

describe('layer discovery: structure and default policy (M = 4)', () => {
  it('finds every Conv/Gemm/MatMul weight, in graph order, named by its source tensor', async () => {
    const layers = discoverLayers(await loadZoo(), { m: 4 });
    assert.deepEqual(layers.map((l) => l.name), ['stem.w', 'dw.w', 'grp.w', 'to6.w', 'cin6.w', 'dyn.w', 'id.src', 'q.w', 'fc1.w', 'fc2.w', 'mm.w', 'mmt.w', 'cls.w']);
    assert.deepEqual(layers.map((l) => l.nodeName), ['stem', 'dw', 'grp', 'to6', 'cin6', 'dyn', 'idconv', 'qconv', 'fc1', 'fc2', 'mm', 'mmt', 'cls']);
  });

  it('keeps the stem dense with a reason, but it stays structurally eligible', async () => {
    const l = byName(discoverLayers(await loadZoo(), { m: 4 })).get('stem.w')!;
    assert.equal(l.eligible, true);
    assert.equal(l.selected, false);
    assert.match(l.reason ?? '', /^first conv \(consumes the model input/);
  });

  it('depthwise and grouped convs are ineligible with their reasons', async () => {
    const m = byName(discoverLayers(await loadZoo(), { m: 4 }));
    const dw = m.get('dw.w')!, grp = m.get('grp.w')!;
    assert.deepEqual([dw.eligible, dw.selected, dw.reason, dw.group], [false, false, 'depthwise conv', 8]);
    assert.deepEqual([grp.eligible, grp.selected, grp.reason, grp.group], [false, false, 'grouped conv (group=2)', 2]);
  });

  it('Cin not a multiple of M is ineligible; the same layer is fine for structural checks alone', async () => {
    const model = await loadZoo();
    const cin6 = byName(discoverLayers(model, { m: 4 })).get('cin6.w')!;
    assert.deepEqual([cin6.eligible, cin6.selected, cin6.reason], [false, false, 'Cin 6 is not a multiple of M=4']);
    assert.deepEqual(cin6.canonicalShape, [8, 6, 1, 1]);
    const structural = byName(discoverLayers(model)).get('cin6.w')!;
    assert.equal(structural.eligible, true);
    assert.equal(structural.selected, true);
  });

  it('the channel check comes before the stem rule; linear layers name in-features', async () => {
    const m = byName(discoverLayers(await loadZoo(), { m: 8 }));
    assert.equal(m.get('stem.w')!.reason, 'Cin 4 is not a multiple of M=8');
    assert.equal(m.get('to6.w')!.selected, true); // Cin 8
    assert.equal(m.get('mm.w')!.reason, 'in-features 12 is not a multiple of M=8');
    assert.equal(m.get('fc1.w')!.eligible, true); // in 8
  });

  it('a Conv whose weight is a graph input is listed, not eligible', async () => {
    const l = byName(discoverLayers(await loadZoo(), { m: 4 })).get('dyn.w')!;
    assert.deepEqual([l.op, l.eligible, l.selected, l.reason], ['Conv', false, false, 'weight is not a constant initializer']);
  });

  it('weights through Identity and DequantizeLinear resolve to their stored tensor', async () => {
    const m = byName(discoverLayers(await loadZoo(), { m: 4 }));
    const id = m.get('id.src')!, q = m.get('q.w')!;
    assert.deepEqual([id.selected, id.via, id.dtype, id.storageShape], [true, ['Identity'], 'float', [8, 8, 1, 1]]);
    assert.deepEqual([q.selected, q.via, q.dtype, q.canonicalShape], [true, ['DequantizeLinear'], 'int8', [8, 8, 1, 1]]);
    assert.equal(m.get('to6.w')!.selected, true);
  });

  it('Gemm transB=1/0 and MatMul: canonical [out, in] and the storage layout flag', async () => {
    const m = byName(discoverLayers(await loadZoo(), { m: 4 }));
    const pick = (n: string) => {
      const l = m.get(n)!;
      return { op: l.op, storage: l.storageShape, canonical: l.canonicalShape, transposed: l.storageTransposed, via: l.via };
    };
    assert.deepEqual(pick('fc1.w'), { op: 'Gemm', storage: [16, 8], canonical: [16, 8, 1, 1], transposed: false, via: [] });
    assert.deepEqual(pick('fc2.w'), { op: 'Gemm', storage: [16, 12], canonical: [12, 16, 1, 1], transposed: true, via: [] });
    assert.deepEqual(pick('mm.w'), { op: 'MatMul', storage: [12, 8], canonical: [8, 12, 1, 1], transposed: true, via: [] });
    // Transpose([4, 8]) is [8 in, 4 out] as MatMul sees it: canonical [4 out, 8 in], the stored layout itself.
    assert.deepEqual(pick('mmt.w'), { op: 'MatMul', storage: [4, 8], canonical: [4, 8, 1, 1], transposed: true, via: ['Transpose'] });
  });

  it('linear layers holding more weights than the selected convs are selected too; the final classifier stays dense', async () => {
    // Here the linears (448 weights) outweigh the selected convs; with lighter linears they are opt-in
    // (test/unit/layers/linearFallback.test.ts).
    const m = byName(discoverLayers(await loadZoo(), { m: 4 }));
    for (const n of ['fc1.w', 'fc2.w', 'mm.w', 'mmt.w']) {
      assert.equal(m.get(n)!.selected, true, n);
      assert.equal(m.get(n)!.linearFallback, true, n);
    }
    assert.equal(m.get('cls.w')!.selected, false);
    assert.equal(m.get('cls.w')!.reason, 'final classifier (kept dense unless named with --include)');
    assert.equal(m.get('cls.w')!.eligible, true);
    const narrowed = byName(discoverLayers(await loadZoo(), { m: 4, include: ['id.src'] }));
    assert.equal(narrowed.get('fc1.w')!.reason, 'linear layer (opt-in: name it with --include)', 'an include list turns it off');
  });

  it('the bundled MNIST CNN: 4 convs selected, stem (Cin 1) and classifier dense', async () => {
    const layers = discoverLayers(await OnnxModel.load(DEMO_MODEL), { m: 4 });
    assert.deepEqual(layers.filter((l) => l.selected).map((l) => l.name), ['block.conv1.weight', 'block.conv2.weight', 'block.down.conv.weight', 'head.conv.weight']);
    const reasons = Object.fromEntries(layers.filter((l) => !l.selected).map((l) => [l.name, l.reason]));
    assert.deepEqual(reasons, {
      'stem.conv.weight': 'Cin 1 is not a multiple of M=4',
      'fc.weight': 'final classifier (kept dense unless named with --include)',
    });
  });
});

describe('layer policy: --include / --exclude', () => {
  const selected = (layers: LayerInfo[]) => layers.filter((l) => l.selected).map((l) => l.name).sort();

  it('a glob opts linear layers in, but not the final classifier', async () => {
    const model = await loadZoo();
    const layers = discoverLayers(model, { m: 4, include: ['fc*', 'mm*', 'cls*', 'c*.w'] });
    assert.deepEqual(selected(layers), ['fc1.w', 'fc2.w', 'id.src', 'mm.w', 'mmt.w', 'q.w', 'to6.w']);
    assert.equal(byName(layers).get('cls.w')!.reason, 'final classifier (kept dense unless named with --include)');
  });

  it('the final classifier is selected when named exactly, by weight or by node name', async () => {
    const model = await loadZoo();
    assert.equal(byName(discoverLayers(model, { m: 4, include: ['cls.w'] })).get('cls.w')!.selected, true);
    assert.equal(byName(discoverLayers(model, { m: 4, include: ['cls'] })).get('cls.w')!.selected, true);
    // A glob that happens to match only the classifier is still a glob.
    assert.equal(byName(discoverLayers(model, { m: 4, include: ['cl?.w'] })).get('cls.w')!.selected, false);
  });

  it('the stem can be opted in; structural reasons cannot be overridden', async () => {
    const m = byName(discoverLayers(await loadZoo(), { m: 4, include: ['stem*', 'dw.w', 'grp', 'cin6.w', 'dyn.w'] }));
    assert.equal(m.get('stem.w')!.selected, true);
    assert.equal(m.get('stem.w')!.reason, undefined);
    assert.equal(m.get('dw.w')!.reason, 'depthwise conv');
    assert.equal(m.get('grp.w')!.reason, 'grouped conv (group=2)');
    assert.equal(m.get('cin6.w')!.reason, 'Cin 6 is not a multiple of M=4');
    assert.equal(m.get('dyn.w')!.reason, 'weight is not a constant initializer');
    for (const n of ['dw.w', 'grp.w', 'cin6.w', 'dyn.w']) assert.equal(m.get(n)!.selected, false, n);
  });

  it('--exclude by name, node name or glob wins over the default and over --include', async () => {
    const model = await loadZoo();
    const m = byName(discoverLayers(model, { m: 4, include: ['fc1.w', 'cls.w'], exclude: ['to6.w', '*conv', 'cls'] }));
    for (const n of ['to6.w', 'id.src', 'q.w', 'cls.w']) {
      assert.equal(m.get(n)!.selected, false, n);
      assert.equal(m.get(n)!.reason, 'excluded by --exclude', n);
    }
    assert.equal(m.get('fc1.w')!.selected, true);
  });

  it('globs match the whole name and escape regex characters', () => {
    assert.equal(globToRegExp('fc*').test('fc1.w'), true);
    assert.equal(globToRegExp('fc').test('fc1.w'), false);
    assert.equal(globToRegExp('a.b').test('aXb'), false);
    assert.equal(globToRegExp('a?b').test('aXb'), true);
    assert.equal(globToRegExp('layer[0]').test('layer[0]'), true);
  });

  it('the same selection everywhere: selectedLayers = discoverLayers filtered', async () => {
    const model = await loadZoo();
    const opts = { include: ['mm*'], exclude: ['q.w'] };
    const sel = selectedLayers(model, { pattern: NmPattern.parse('2:4'), ...opts }).map((l) => l.name);
    assert.deepEqual(sel, discoverLayers(model, { m: 4, ...opts }).filter((l) => l.selected).map((l) => l.name));
    assert.deepEqual(sel, ['to6.w', 'id.src', 'mm.w', 'mmt.w']);
  });

  it('no eligible layer: a clear input error naming the file and the reasons', async () => {
    const file = writeModelFile(tempDir(), 'none.onnx', noEligibleModel());
    const model = await OnnxModel.load(file);
    assert.throws(() => selectedLayers(model, { pattern: NmPattern.parse('2:4') }), (e: unknown) => {
      assert.ok(e instanceof MaxqError);
      assert.equal(e.kind, 'input');
      assert.equal(e.file, file);
      assert.match(e.message, /no eligible layer for 2:4/);
      assert.match(e.message, /a\.w: Cin 3 is not a multiple of M=4/);
      assert.match(e.message, /dw\.w: depthwise conv/);
      return true;
    });
  });
});

describe('layer weights: canonical view and back', () => {
  it('[in, out] storage is transposed to canonical [out, in] and back exactly', async () => {
    const model = await loadZoo();
    const layers = byName(discoverLayers(model, { m: 4 }));
    for (const name of ['fc2.w', 'mm.w']) {
      const layer = layers.get(name)!;
      const stored = await model.readFloat32(name);
      const [inF, outF] = layer.storageShape;
      const w = await loadLayerWeight(model, layer);
      assert.deepEqual([w.O, w.I, w.Kh, w.Kw], layer.canonicalShape);
      for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) assert.equal(w.data[o * inF + i], stored[i * outF + o], `${name}[${o}, ${i}]`);
      assert.deepEqual(Array.from(canonicalToSource(model, layer, w.data)), Array.from(stored));
    }
  });

  it('through a Transpose the canonical view is what the MatMul computes with', async () => {
    const model = await loadZoo();
    const layer = byName(discoverLayers(model, { m: 4 })).get('mmt.w')!;
    const stored = await model.readFloat32('mmt.w'); // [4, 8] → MatMul sees [8 in, 4 out]; Wc[o, i] = stored[o, i]
    const w = await loadLayerWeight(model, layer);
    assert.deepEqual(Array.from(w.data), Array.from(stored));
    assert.deepEqual(Array.from(canonicalToSource(model, layer, w.data)), Array.from(stored));
  });

  it('an int8 weight behind DequantizeLinear is read dequantized', async () => {
    const model = await loadZoo();
    const layer = byName(discoverLayers(model, { m: 4 })).get('q.w')!;
    const q = (await model.readTensor('q.w')).data as Int8Array;
    const w = await loadLayerWeight(model, layer);
    for (let i = 0; i < q.length; i++) assert.ok(Math.abs(w.data[i] - q[i] * 0.01) < 1e-7, `q.w[${i}]`);
  });

  it('Gemm transB=1 fed through Transpose of an [in, out] tensor: canonical is the transposed storage, written back in place', async () => {
    const stored = Float32Array.from({ length: 8 * 4 }, (_, k) => k + 1); // [8 in, 4 out]
    const file = writeModelFile(tempDir(), 'gemmT.onnx', buildModel({
      nodes: [node('Transpose', ['W'], ['Wt'], { perm: [1, 0] }, 'T'), node('Gemm', ['X', 'Wt'], ['h'], { transB: 1 }, 'g'), node('Relu', ['h'], ['Y'], {}, 'r')],
      inputs: [valueInfo('X', DataType.FLOAT, [1, 8])],
      outputs: [valueInfo('Y', DataType.FLOAT, [1, 4])],
      initializers: [floatTensor('W', [8, 4], stored)],
    }));
    const model = await OnnxModel.load(file);
    const [layer] = discoverLayers(model, { m: 4, include: ['W'] });
    assert.deepEqual([layer.name, layer.storageShape, layer.canonicalShape, layer.storageTransposed, layer.via, layer.selected], ['W', [8, 4], [4, 8, 1, 1], false, ['Transpose'], true]);
    const w = await loadLayerWeight(model, layer);
    for (let o = 0; o < 4; o++) for (let i = 0; i < 8; i++) assert.equal(w.data[o * 8 + i], stored[i * 4 + o]);
    assert.deepEqual(Array.from(canonicalToSource(model, layer, w.data)), Array.from(stored));
  });

  it('a weight shared by two layers is sparsified once; the second user is told why not', async () => {
    const file = writeModelFile(tempDir(), 'shared.onnx', buildModel({
      nodes: [
        node('Conv', ['X', 'stem.w'], ['a'], { kernel_shape: [1, 1] }, 'stem'),
        node('Conv', ['a', 'S'], ['b'], { kernel_shape: [1, 1] }, 'first'),
        node('Conv', ['b', 'S'], ['Y'], { kernel_shape: [1, 1] }, 'second'),
      ],
      inputs: [valueInfo('X', DataType.FLOAT, [1, 4, 2, 2])],
      outputs: [valueInfo('Y', DataType.FLOAT, [1, 4, 2, 2])],
      initializers: [floatTensor('stem.w', [4, 4, 1, 1], new Float32Array(16).fill(1)), floatTensor('S', [4, 4, 1, 1], new Float32Array(16).fill(1))],
    }));
    const layers = discoverLayers(await OnnxModel.load(file), { m: 4 });
    assert.deepEqual(layers.map((l) => [l.nodeName, l.name, l.selected, l.reason]), [
      ['stem', 'stem.w', false, 'first conv (consumes the model input; the MaxQ reference keeps it dense)'],
      ['first', 'S', true, undefined],
      ['second', 'S', false, 'weight shared with first'],
    ]);
  });
});

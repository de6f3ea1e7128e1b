/**
 * Trainable parameters of transformer blocks: LayerNormalization scale/bias and the bias of a linear layer
 * exported as MatMul → Add (nn.Linear on 3-D input). findParamCandidates finds them (and nothing else of the
 * Add/Mul constants), the whole-model gradients of a small transformer-style classifier (including those
 * tensors) match central differences of a float64 reference (eps 1e-6, rel-L2 ≤ 1e-3, max abs ≤ 1e-4), and a
 * run unties a shared MatMul → Add bias like any other bias.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { onnx } from '../../../../src/core/onnx/proto';
import { encodeModel } from '../../../../src/core/onnx/builder';
import { OnnxModel } from '../../../../src/core/onnx/onnxModel';
import { sharedInputs } from '../../../../src/core/onnx/untie';
import { buildTrainingGraph } from '../../../../src/core/training/graph/trainingGraph';
import { findParamCandidates } from '../../../../src/core/training/graph/prepare';
import { floatData } from '../../../../src/core/training/graph/onnxUtil';
import { Rng, f32, fdGrad, floatTensor, i64, model, node, randn, relL2, session } from './helpers';
import { crossEntropy } from './reference';
import { TransformerSpec, transformerForward, transformerModel } from '../transformerModel';

const listed = (m: onnx.IModelProto) => findParamCandidates(m).map((p) => `${p.name}<${p.sourceInitializer}>:${p.kind}:${p.dims.join('x')}`);

test('findParamCandidates: LayerNormalization scale/bias and MatMul → Add biases; no other Add/Mul constant', () => {
  const rng = new Rng(5);
  const w = (name: string) => floatTensor(name, [4, 5], randn(rng, [4, 5]));
  const m = model({
    inputs: [['X', [2, 3, 4]]],
    outputs: ['y1', 'y2', 'y3', 'y4', 'y5', 'y6', 'y7', 'y8', 'n1', 'n2'],
    nodes: [
      node('MatMul', ['X', 'w1'], ['m1']),
      node('Add', ['m1', 'b1'], ['y1']), // the linear bias
      node('MatMul', ['X', 'w2'], ['m2']),
      node('Add', ['m2', 'eps'], ['y2']), // a scalar (epsilon)
      node('MatMul', ['X', 'w3'], ['m3']),
      node('Add', ['pos', 'm3'], ['y3']), // a 2-D table
      node('MatMul', ['X', 'w4'], ['m4']),
      node('Add', ['m4', 'short'], ['y4']), // 1-D, but not one value per output feature
      node('Transpose', ['X'], ['Xt'], { perm: [0, 2, 1] }),
      node('MatMul', ['X', 'Xt'], ['s']),
      node('Add', ['s', 'mask'], ['y5']), // after a MatMul of two activations (attention scores)
      node('Add', ['y1', 'c5'], ['y6']), // not right after the MatMul
      node('Mul', ['m1', 'c5'], ['y7']),
      node('MatMul', ['X', 'w6'], ['m6']),
      node('Identity', ['b1'], ['b1.tie']),
      node('Add', ['b1.tie', 'm6'], ['y8']), // a tied use of b1, operands swapped
      node('LayerNormalization', ['X', 'ln.s', 'ln.b'], ['n1'], { axis: -1 }),
      node('LayerNormalization', ['X', 'lnb.s'], ['n2'], { axis: -1 }),
    ],
    inits: [
      w('w1'), w('w2'), w('w3'), w('w4'), w('w6'),
      floatTensor('b1', [5], randn(rng, [5])),
      floatTensor('eps', [], [1e-5]),
      floatTensor('pos', [3, 5], randn(rng, [3, 5])),
      floatTensor('short', [4], randn(rng, [4])),
      floatTensor('mask', [3], [0, -1e4, 0]),
      floatTensor('c5', [5], randn(rng, [5])),
      floatTensor('ln.s', [4], [1, 1, 1, 1]),
      floatTensor('ln.b', [4], [0, 0, 0, 0]),
      floatTensor('lnb.s', [4], [1, 2, 3, 4]),
    ],
  });
  assert.deepEqual(listed(m), [
    'w1<w1>:linear-weight:4x5',
    'b1<b1>:bias:5',
    'w2<w2>:linear-weight:4x5',
    'w3<w3>:linear-weight:4x5',
    'w4<w4>:linear-weight:4x5',
    'w6<w6>:linear-weight:4x5',
    'b1.tie<b1>:bias:5',
    'ln.s<ln.s>:norm-scale:4',
    'ln.b<ln.b>:norm-bias:4',
    'lnb.s<lnb.s>:norm-scale:4',
  ]);
});

const SPEC: TransformerSpec = { C: 4, H: 2, W: 4, T: 8, D: 4, F: 8, K: 3 };
const N = 4;

test('findParamCandidates on the transformer block: LN affine tensors and MatMul biases, Identity ties split', () => {
  const expected = (ln2: string) => [
    'ln1.s<ln1.s>:norm-scale:4',
    'ln1.b<ln1.b>:norm-bias:4',
    'mlp1.weight<mlp1.weight>:linear-weight:4x8',
    'mlp1.bias<mlp1.bias>:bias:8',
    'mlp2.weight<mlp2.weight>:linear-weight:8x4',
    'mlp2.bias<mlp2.bias.src>:bias:4',
    `ln2.s<${ln2}.s>:norm-scale:4`,
    `ln2.b<${ln2}.b>:norm-bias:4`,
    'fc.weight<fc.weight>:linear-weight:3x4',
    'fc.bias<fc.bias>:bias:3',
  ];
  assert.deepEqual(listed(transformerModel(SPEC)), expected('ln2'));
  assert.deepEqual(listed(transformerModel({ ...SPEC, tiedNorm: true })), expected('ln1'));
});

for (const tiedNorm of [false, true]) {
  test(`transformer block${tiedNorm ? ' (ln2 tied to ln1 through Identity)' : ''}: loss, logits and every parameter gradient vs float64 central differences`, async () => {
    const spec = { ...SPEC, tiedNorm };
    const m = transformerModel(spec);
    const tg = buildTrainingGraph(m, { batchSize: N });
    assert.deepEqual(tg.inputDims, [N, 4, 2, 4]);
    assert.deepEqual(
      tg.params.map((p) => `${p.name}:${p.kind}`),
      ['ln1.s:norm-scale', 'ln1.b:norm-bias', 'mlp1.weight:linear-weight', 'mlp1.bias:bias', 'mlp2.weight:linear-weight', 'mlp2.bias:bias',
        'ln2.s:norm-scale', 'ln2.b:norm-bias', 'fc.weight:linear-weight', 'fc.bias:bias'],
    );
    const decoded = onnx.ModelProto.decode(tg.modelBytes);
    // The frozen constants stay initializers; no parameter is one any more.
    const initNames = new Set(decoded.graph!.initializer!.map((t) => t.name));
    for (const frozen of ['pos', 'sqrt2', 'one', 'half']) assert.ok(initNames.has(frozen), `${frozen} stays frozen`);
    for (const p of tg.params) assert.ok(!initNames.has(p.name) && decoded.graph!.input!.some((i) => i.name === p.name), `${p.name} is a graph input`);

    const sess = await session(tg.modelBytes);
    const rng = new Rng(17);
    const x = randn(rng, tg.inputDims);
    const labels = Array.from({ length: N }, () => rng.int(spec.K));
    const inits = new Map((m.graph!.initializer ?? []).map((t) => [t.name!, t]));
    const feeds: Record<string, ort.Tensor> = { [tg.inputName]: f32(x, tg.inputDims), [tg.labelsName]: i64(labels) };
    const params = new Map<string, Float64Array>();
    for (const p of tg.params) {
      const data = floatData(inits.get(p.sourceInitializer)!);
      feeds[p.name] = f32(data, p.dims);
      params.set(p.name, Float64Array.from(data));
    }
    const frozen = new Map([['pos', Float64Array.from(floatData(inits.get('pos')!))]]);
    const out = await sess.run(feeds);
    const x64 = Float64Array.from(x);
    const lossOf = (p: Map<string, Float64Array>) => crossEntropy(transformerForward(spec, x64, N, p, frozen), labels, 0);
    const ref = transformerForward(spec, x64, N, params, frozen);
    assert.ok(relL2(out[tg.logitsName].data as Float32Array, ref.v) < 1e-5, 'logits');
    assert.ok(Math.abs((out[tg.lossName].data as Float32Array)[0] - lossOf(params)) < 1e-5, 'loss');
    for (const p of tg.params) {
      const { fd } = fdGrad(params, p.name, lossOf, 1e-6);
      const g = out[p.gradOutput].data as Float32Array;
      assert.equal(g.length, fd.length, p.gradOutput);
      assert.ok(fd.some((v) => Math.abs(v) > 1e-4), `${p.name}: the gradient is not ~0 (a meaningful check)`);
      const maxAbs = Math.max(...fd.map((v, i) => Math.abs(v - g[i])));
      const err = relL2(g, fd);
      assert.ok(err < 1e-3 && maxAbs < 1e-4, `${p.gradOutput}: rel-L2 ${err.toExponential(2)}, max abs ${maxAbs.toExponential(2)}`);
    }
    if (tiedNorm) {
      // The tied uses train separately: different gradients for the same initial values.
      assert.ok(relL2(out['grad.ln1.s'].data as Float32Array, out['grad.ln2.s'].data as Float32Array) > 1e-2);
      assert.equal(tg.params.find((p) => p.name === 'ln2.s')?.sourceInitializer, 'ln1.s');
    }
    await sess.release();
  });
}

test('a MatMul → Add bias shared by two linear layers is untied for a run that trains biases, like a Gemm bias', () => {
  const rng = new Rng(9);
  const m = model({
    inputs: [['X', [2, 3, 4]]],
    outputs: ['y'],
    nodes: [
      node('MatMul', ['X', 'w1'], ['m1'], {}, 'l1/MatMul'),
      node('Add', ['m1', 'b'], ['y1'], {}, 'l1/Add'),
      node('MatMul', ['X', 'w2'], ['m2'], {}, 'l2/MatMul'),
      node('Identity', ['b'], ['b.tie'], {}, 'tie'),
      node('Add', ['b.tie', 'm2'], ['y2'], {}, 'l2/Add'),
      node('Add', ['y1', 'y2'], ['y'], {}, 'sum'),
    ],
    inits: [floatTensor('w1', [4, 5], randn(rng, [4, 5])), floatTensor('w2', [4, 5], randn(rng, [4, 5])), floatTensor('b', [5], new Float32Array(5))],
  });
  const om = OnnxModel.fromBytes(encodeModel(m), 'shared-bias.onnx');
  assert.deepEqual(sharedInputs(om, new Set(['bias'])).map((r) => [r.node.name, r.input]), [['l2/Add', 0]]);
  assert.deepEqual(sharedInputs(om, new Set(['weight'])), []);
});

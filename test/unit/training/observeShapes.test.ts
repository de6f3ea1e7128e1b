/**
 * Only float paths from a parameter to the loss need gradient rules. Integer and boolean sub-graphs (Swin's
 * window masks) and float nodes no parameter reaches are measured once (observeShapes) and stay in the
 * forward graph, folded to constants when every input is one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTrainingGraph } from '../../../src/core/training/graph';
import { observeShapes } from '../../../src/core/training/observeShapes';
import { isMaxqError } from '../../../src/core/errors';
import { DataType } from '../../../src/core/onnx/proto';
import { createSession, ort } from '../../../src/core/runtime/ortSession';
import { floatTensor, model, node, Rng, randn } from './graph/helpers';
import { int64Tensor } from '../../../src/core/onnx/builder';

/**
 * input [N, 2, 4, 4] → conv 2→4 → ReLU → × channel mask (Range(0, 4, 1) → Mod 2 → CumSum → Cast float →
 * Reshape [1, 4, 1, 1] = [0, 1, 1, 2]; integer, CumSum rule-less) + Softplus(input) through a 1×1 conv of constant weight (float, no parameter
 * upstream) → GAP → Flatten → fc 4→3.
 */
function maskedModel() {
  const rng = new Rng(4);
  return model({
    inputs: [['input', [1, 2, 4, 4]]],
    outputs: ['logits'],
    nodes: [
      node('Conv', ['input', 'w'], ['a'], { pads: [1, 1, 1, 1] }, 'conv'),
      node('Relu', ['a'], ['r'], {}, 'relu'),
      node('Range', ['start', 'limit', 'delta'], ['idx'], {}, 'range'),
      node('Mod', ['idx', 'two'], ['odd'], {}, 'mod'),
      node('CumSum', ['odd', 'axis0'], ['count'], {}, 'cumsum'),
      node('Cast', ['count'], ['oddf'], { to: DataType.FLOAT }, 'cast'),
      node('Reshape', ['oddf', 'mshape'], ['mask'], {}, 'reshape'),
      node('Mul', ['r', 'mask'], ['masked'], {}, 'apply_mask'),
      node('Softplus', ['input'], ['sp'], {}, 'softplus_input'),
      node('Sum', ['sp'], ['sp2'], {}, 'sum_input'),
      node('ReduceMean', ['sp2'], ['spm'], { axes: [1], keepdims: 1 }, 'mean_input'),
      node('Add', ['masked', 'spm'], ['y'], {}, 'add'),
      node('GlobalAveragePool', ['y'], ['g'], {}, 'gap'),
      node('Flatten', ['g'], ['f'], {}, 'flatten'),
      node('Gemm', ['f', 'fc'], ['logits'], { transB: 1 }, 'fc'),
    ],
    inits: [
      floatTensor('w', [4, 2, 3, 3], randn(rng, [4, 2, 3, 3])), floatTensor('fc', [3, 4], randn(rng, [3, 4])),
      int64Tensor('start', [0], []), int64Tensor('limit', [4], []), int64Tensor('delta', [1], []), int64Tensor('two', [2], []), int64Tensor('axis0', [0], []),
      int64Tensor('mshape', [1, 4, 1, 1]),
    ],
  });
}

test('without observation the rule-less nodes are refused; with it only float paths from a parameter count', async () => {
  const m = maskedModel();
  assert.throws(() => buildTrainingGraph(m, { batchSize: 2 }), (e: unknown) => isMaxqError(e) && /CumSum ×1 \(cumsum\); Softplus ×1 \(softplus_input\); Sum ×1/.test(e.message));
  const observed = await observeShapes(m, { batchSize: 2 });
  assert.ok(['count', 'sp', 'sp2'].every((t) => observed.has(t)), [...observed.keys()].join(', '));
  assert.deepEqual(observed.get('count'), { dims: [4], dtype: DataType.INT64, value: [0, 1, 1, 2] });
  assert.deepEqual(observed.get('sp')?.dims, [2, 2, 4, 4]);
  const g = buildTrainingGraph(m, { batchSize: 2, observed });
  const s = await createSession(g.modelBytes, 'observed');
  try {
    const rng = new Rng(5);
    const feeds: Record<string, ort.Tensor> = {
      [g.inputName]: new ort.Tensor('float32', randn(rng, [2, 2, 4, 4]), [2, 2, 4, 4]),
      [g.labelsName]: new ort.Tensor('int64', BigInt64Array.of(0n, 2n), [2]),
    };
    for (const p of g.params) feeds[p.name] = new ort.Tensor('float32', randn(rng, p.dims, 0.3), p.dims);
    const out = await s.run(feeds);
    assert.ok(Number.isFinite((out[g.lossName].data as Float32Array)[0]));
    // The mask zeroes channel 0: its filter gets no gradient, the others do.
    const dw = out['grad.w'].data as Float32Array;
    const per = 2 * 3 * 3;
    assert.ok(dw.subarray(0, per).every((v) => v === 0), 'filter 0');
    for (const o of [1, 2, 3]) assert.ok(dw.subarray(o * per, (o + 1) * per).some((v) => v !== 0), `filter ${o}`);
  } finally {
    await s.release();
  }
});

test('a rule-less float node on the path from a parameter is still refused, by name', async () => {
  const rng = new Rng(6);
  const m = model({
    inputs: [['input', [1, 2, 4, 4]]],
    outputs: ['logits'],
    nodes: [
      node('Conv', ['input', 'w'], ['a'], {}, 'conv'),
      node('Softplus', ['a'], ['s'], {}, 'softplus_after_conv'),
      node('GlobalAveragePool', ['s'], ['g'], {}, 'gap'),
      node('Flatten', ['g'], ['logits'], {}, 'flatten'),
    ],
    inits: [floatTensor('w', [3, 2, 3, 3], randn(rng, [3, 2, 3, 3]))],
  });
  const observed = await observeShapes(m, { batchSize: 2 });
  assert.throws(() => buildTrainingGraph(m, { batchSize: 2, observed }), /no gradient rule for 1 node on the training path: Softplus ×1 \(softplus_after_conv\)/);
});

/**
 * Small constant tensors keep their values through Transpose and multi-dimensional Slice: Swin's window padding
 * is computed from the activation's shape as Concat → Reshape [-1, 2] → Slice (reversed rows) → Transpose →
 * Reshape [-1] → Cast, and Pad needs those pads as a constant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shapeRules } from '../../../../src/core/training/graph/shapes';
import { int64Tensor } from '../../../../src/core/onnx/builder';
import { DataType } from '../../../../src/core/onnx/proto';
import { buildTrainingGraph } from '../../../../src/core/training/graph';
import { floatTensor, model, node, Rng, randn } from './helpers';

const i64 = (dims: number[], value: number[]) => ({ dims, dtype: DataType.INT64, value });

test('Transpose and Slice of a rank-2 constant carry its values', () => {
  const x = i64([3, 2], [1, 2, 3, 4, 5, 6]);
  const [t] = shapeRules.Transpose(node('Transpose', ['x'], ['t'], { perm: [1, 0] }), [x]);
  assert.deepEqual(t, i64([2, 3], [1, 3, 5, 2, 4, 6]));
  const [s] = shapeRules.Slice(node('Slice', ['x', 's', 'e', 'a', 'st'], ['y']), [x, i64([1], [-1]), i64([1], [-4]), i64([1], [0]), i64([1], [-1])]);
  assert.deepEqual(s, i64([3, 2], [5, 6, 3, 4, 1, 2]));
  const [s2] = shapeRules.Slice(node('Slice', ['x', 's', 'e', 'a'], ['y']), [x, i64([1], [1]), i64([1], [2]), i64([1], [1])]);
  assert.deepEqual(s2, i64([3, 1], [2, 4, 6]));
});

test('a Swin-style padding chain folds to constant pads and the training graph builds', () => {
  const rng = new Rng(8);
  const m = model({
    inputs: [['input', [1, 4, 6, 6]]],
    outputs: ['logits'],
    nodes: [
      node('Conv', ['input', 'w'], ['a'], {}, 'conv'),
      // pads for H and W up to a multiple of 4: (4 − 6 mod 4) mod 4 = 2 each, ONNX order via the exporter's dance.
      node('Shape', ['a'], ['shape']),
      node('Gather', ['shape', 'two'], ['h'], { axis: 0 }),
      node('Mod', ['h', 'four'], ['hm']),
      node('Sub', ['four', 'hm'], ['hp']),
      node('Unsqueeze', ['hp', 'zero'], ['hp1']),
      // torch's F.pad order, last axis first: (W left, W right, H top, H bottom, C…, N…).
      node('Concat', ['zero', 'hp1', 'zero', 'hp1', 'zeros4'], ['flat'], { axis: 0 }),
      node('Reshape', ['flat', 'rows'], ['pairs']),
      node('Slice', ['pairs', 'm1', 'big', 'zero', 'm1'], ['rev']),
      node('Transpose', ['rev'], ['tr'], { perm: [1, 0] }),
      node('Reshape', ['tr', 'minus1'], ['pads64']),
      node('Cast', ['pads64'], ['pads'], { to: DataType.INT64 }),
      node('Pad', ['a', 'pads'], ['p'], {}, 'pad'),
      node('GlobalAveragePool', ['p'], ['g']),
      node('Flatten', ['g'], ['logits']),
    ],
    inits: [
      floatTensor('w', [4, 4, 3, 3], randn(rng, [4, 4, 3, 3])),
      int64Tensor('two', [2], []), int64Tensor('four', [4], []), int64Tensor('zero', [0]), int64Tensor('zeros4', [0, 0, 0, 0]),
      int64Tensor('rows', [-1, 2]), int64Tensor('m1', [-1]), int64Tensor('big', [-9999]), int64Tensor('minus1', [-1]),
    ],
  });
  const g = buildTrainingGraph(m, { batchSize: 2 });
  assert.deepEqual(g.inputDims, [2, 4, 6, 6]);
  assert.equal(g.numClasses, 4);
  assert.equal(g.params.length, 1);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { int64Tensor } from '../../../../src/core/onnx/builder';
import { Rng, assertReports, checkVjp, model, node, randn } from './helpers';

const TOL = 1e-4;

test('Flatten axis 1 and axis 2: dX vs finite differences', async () => {
  for (const axis of [1, 2]) {
    const m = model({ inputs: [['X', [2, 3, 2, 2]]], outputs: ['Y'], nodes: [node('Flatten', ['X'], ['Y'], { axis })] });
    const reports = await checkVjp({ model: m, wrt: ['X'], feeds: { X: randn(new Rng(axis), [2, 3, 2, 2]) }, eps: 0.5, tol: TOL });
    assertReports(assert, reports, TOL, `Flatten axis ${axis}`);
  }
});

test('Reshape with a constant target (0 and -1 entries)', async () => {
  const m = model({
    inputs: [['X', [2, 3, 2, 2]]],
    outputs: ['Y'],
    nodes: [node('Reshape', ['X', 'shape'], ['Y'])],
    inits: [int64Tensor('shape', [0, -1])],
  });
  const reports = await checkVjp({ model: m, wrt: ['X'], eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'Reshape');
});

test('Reshape whose target comes from Shape → Gather → Unsqueeze → Concat (folded statically)', async () => {
  const m = model({
    inputs: [['X', [2, 3, 2, 2]]],
    outputs: ['Y'],
    nodes: [
      node('Shape', ['X'], ['s']),
      node('Gather', ['s', 'zero'], ['n'], { axis: 0 }),
      node('Unsqueeze', ['n', 'ax0'], ['n1']),
      node('Concat', ['n1', 'minus1'], ['target'], { axis: 0 }),
      node('Reshape', ['X', 'target'], ['Y']),
    ],
    inits: [int64Tensor('zero', [0], []), int64Tensor('ax0', [0]), int64Tensor('minus1', [-1])],
  });
  const reports = await checkVjp({ model: m, wrt: ['X'], eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'Reshape via Shape');
  assert.deepEqual(reports[0].analytic.length, 24);
});

test('Transpose, Squeeze, Unsqueeze (opset 11 attribute form) chains', async () => {
  const m = model({
    inputs: [['X', [2, 3, 1, 4]]],
    outputs: ['Y'],
    nodes: [
      node('Transpose', ['X'], ['t'], { perm: [3, 0, 2, 1] }),
      node('Squeeze', ['t'], ['s'], { axes: [2] }),
      node('Unsqueeze', ['s'], ['Y'], { axes: [0] }),
    ],
    opset: 11,
  });
  const reports = await checkVjp({ model: m, wrt: ['X'], eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'Transpose/Squeeze/Unsqueeze');
});

test('Concat along channels: every operand vs finite differences', async () => {
  const rng = new Rng(4);
  const m = model({
    inputs: [['A', [2, 2, 3, 3]], ['B', [2, 3, 3, 3]], ['C', [2, 1, 3, 3]]],
    outputs: ['Y'],
    nodes: [node('Concat', ['A', 'B', 'C'], ['Y'], { axis: 1 })],
  });
  const reports = await checkVjp({ model: m, wrt: ['A', 'B', 'C'], feeds: { A: randn(rng, [2, 2, 3, 3]) }, eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'Concat');
});

test('Concat where only one operand needs a gradient', async () => {
  const m = model({
    inputs: [['A', [2, 3]], ['B', [2, 4]]],
    outputs: ['Y'],
    nodes: [node('Concat', ['A', 'B'], ['Y'], { axis: -1 })],
  });
  const reports = await checkVjp({ model: m, wrt: ['B'], eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'Concat partial');
});

test('ReduceMean over H, W (keepdims 0 and 1) and ReduceSum (opset-11 attribute axes)', async () => {
  for (const [op, keepdims, opset] of [['ReduceMean', 0, 17], ['ReduceMean', 1, 17], ['ReduceSum', 1, 11]] as const) {
    const m = model({
      inputs: [['X', [2, 3, 4, 5]]],
      outputs: ['Y'],
      nodes: [node(op, ['X'], ['Y'], { axes: [2, 3], keepdims })],
      opset,
    });
    const reports = await checkVjp({ model: m, wrt: ['X'], eps: 0.5, tol: TOL });
    assertReports(assert, reports, TOL, `${op} keepdims ${keepdims} opset ${opset}`);
  }
});

test('ReduceSum with an axes input (opset 13+) and ReduceMean over everything', async () => {
  const m = model({
    inputs: [['X', [2, 3, 4]]],
    outputs: ['Y', 'Z'],
    nodes: [node('ReduceSum', ['X', 'ax'], ['Y'], { keepdims: 0 }), node('ReduceMean', ['X'], ['Z'], { keepdims: 0 })],
    inits: [int64Tensor('ax', [-1, 0])],
  });
  const reports = await checkVjp({ model: m, wrt: ['X'], eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'ReduceSum axes input + ReduceMean all');
});

test('Pad (constant mode): input form, and the opset-2 attribute form with a value', async () => {
  const a = model({
    inputs: [['X', [2, 2, 3, 3]]],
    outputs: ['Y'],
    nodes: [node('Pad', ['X', 'pads'], ['Y'], { mode: 'constant' })],
    inits: [int64Tensor('pads', [0, 0, 1, 2, 0, 1, 0, 1])],
  });
  assertReports(assert, await checkVjp({ model: a, wrt: ['X'], eps: 0.5, tol: TOL }), TOL, 'Pad input form');
  const b = model({
    inputs: [['X', [2, 2, 3, 3]]],
    outputs: ['Y'],
    nodes: [node('Pad', ['X'], ['Y'], { pads: [0, 0, 2, 1, 0, 0, 1, 0], value: 0.5 })],
    opset: 10,
  });
  assertReports(assert, await checkVjp({ model: b, wrt: ['X'], eps: 0.5, tol: TOL }), TOL, 'Pad attribute form');
});

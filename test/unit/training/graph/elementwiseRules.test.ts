import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, assertReports, awayFrom, checkVjp, floatTensor, model, node, randn } from './helpers';

const X = [2, 3, 4, 4];

interface UnaryCase {
  label: string;
  nodes: ReturnType<typeof node>[];
  inits?: ReturnType<typeof floatTensor>[];
  kinks: number[];
  eps: number;
  tol: number;
  opset?: number;
}

const unary: UnaryCase[] = [
  { label: 'Relu', nodes: [node('Relu', ['X'], ['Y'])], kinks: [0], eps: 0.05, tol: 1e-4 },
  { label: 'LeakyRelu α=0.2', nodes: [node('LeakyRelu', ['X'], ['Y'], { alpha: 0.2 })], kinks: [0], eps: 0.05, tol: 1e-4 },
  {
    label: 'Clip (ReLU6, min/max inputs)',
    nodes: [node('Clip', ['X', 'lo', 'hi'], ['Y'])],
    inits: [floatTensor('lo', [], [0]), floatTensor('hi', [], [1.5])],
    kinks: [0, 1.5],
    eps: 0.05,
    tol: 1e-4,
  },
  { label: 'Clip (max input only)', nodes: [node('Clip', ['X', '', 'hi'], ['Y'])], inits: [floatTensor('hi', [], [0.7])], kinks: [0.7], eps: 0.05, tol: 1e-4 },
  { label: 'Clip (opset-10 min/max attributes)', nodes: [node('Clip', ['X'], ['Y'], { min: -0.5, max: 1.25 })], kinks: [-0.5, 1.25], eps: 0.05, tol: 1e-4, opset: 10 },
  { label: 'Sigmoid', nodes: [node('Sigmoid', ['X'], ['Y'])], kinks: [], eps: 1e-2, tol: 2e-3 },
  { label: 'Tanh', nodes: [node('Tanh', ['X'], ['Y'])], kinks: [], eps: 1e-2, tol: 2e-3 },
  { label: 'HardSigmoid α=0.25 β=0.4', nodes: [node('HardSigmoid', ['X'], ['Y'], { alpha: 0.25, beta: 0.4 })], kinks: [-1.6, 2.4], eps: 0.05, tol: 1e-4 },
  { label: 'HardSwish', nodes: [node('HardSwish', ['X'], ['Y'])], kinks: [-3, 3], eps: 1e-2, tol: 2e-3 },
  { label: 'Neg', nodes: [node('Neg', ['X'], ['Y'])], kinks: [], eps: 0.5, tol: 1e-4 },
  { label: 'Identity', nodes: [node('Identity', ['X'], ['Y'])], kinks: [], eps: 0.5, tol: 1e-4 },
  { label: 'Dropout (inference: identity)', nodes: [node('Dropout', ['X'], ['Y'])], kinks: [], eps: 0.5, tol: 1e-4 },
  { label: 'Softmax axis 1', nodes: [node('Softmax', ['X'], ['Y'], { axis: 1 })], kinks: [], eps: 1e-2, tol: 2e-3 },
  { label: 'Softmax last axis', nodes: [node('Softmax', ['X'], ['Y'])], kinks: [], eps: 1e-2, tol: 2e-3 },
  { label: 'LogSoftmax axis 1', nodes: [node('LogSoftmax', ['X'], ['Y'], { axis: 1 })], kinks: [], eps: 1e-2, tol: 2e-3 },
];

for (const [ci, c] of unary.entries()) {
  test(`${c.label}: dX vs finite differences`, async () => {
    const rng = new Rng(10 + ci);
    const m = model({ inputs: [['X', X]], outputs: ['Y'], nodes: c.nodes, inits: c.inits, opset: c.opset });
    const x = awayFrom(rng, X, c.kinks, 3 * c.eps, 2.5);
    const reports = await checkVjp({ model: m, wrt: ['X'], feeds: { X: x }, eps: c.eps, tol: c.tol, seed: ci });
    assertReports(assert, reports, c.tol, c.label);
  });
}

interface BinaryCase {
  op: string;
  a: number[];
  b: number[];
}

const binary: BinaryCase[] = [
  { op: 'Add', a: [2, 3, 4, 4], b: [2, 3, 4, 4] },
  { op: 'Add', a: [2, 3, 4, 4], b: [1, 3, 1, 1] },
  { op: 'Add', a: [3, 1, 1], b: [2, 3, 4, 4] },
  { op: 'Sub', a: [2, 3, 4, 4], b: [3, 1, 4] },
  { op: 'Sub', a: [4], b: [2, 3, 4, 4] },
  { op: 'Mul', a: [2, 3, 4, 4], b: [2, 3, 1, 1] },
  { op: 'Mul', a: [1, 3, 1, 4], b: [2, 1, 4, 1] },
  { op: 'Div', a: [2, 3, 4, 4], b: [1, 3, 1, 1] },
];

for (const [ci, c] of binary.entries()) {
  test(`${c.op} [${c.a}] ⊙ [${c.b}]: both operands vs finite differences (broadcast axes reduced)`, async () => {
    const rng = new Rng(40 + ci);
    const m = model({ inputs: [['A', c.a], ['B', c.b]], outputs: ['Y'], nodes: [node(c.op, ['A', 'B'], ['Y'])] });
    const smooth = c.op === 'Div';
    // Div: keep the divisor away from 0.
    const b = smooth ? rng.array(c.b.reduce((p, q) => p * q, 1), () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(1, 2)) : randn(rng, c.b);
    const eps = smooth ? 1e-2 : 0.5;
    const tol = smooth ? 2e-3 : 1e-4;
    const reports = await checkVjp({ model: m, wrt: ['A', 'B'], feeds: { A: randn(rng, c.a), B: b }, eps, tol, seed: ci });
    assertReports(assert, reports, tol, `${c.op}`);
  });
}

test('Mul with the same tensor on both sides (fan-out within one node) sums both contributions', async () => {
  const rng = new Rng(77);
  const m = model({ inputs: [['A', [2, 5]]], outputs: ['Y'], nodes: [node('Mul', ['A', 'A'], ['Y'])] });
  const reports = await checkVjp({ model: m, wrt: ['A'], feeds: { A: randn(rng, [2, 5]) }, eps: 0.25, tol: 1e-4 });
  assertReports(assert, reports, 1e-4, 'A*A');
});

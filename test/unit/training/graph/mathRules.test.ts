import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../../../../src/core/onnx/proto';
import { int64Tensor, tensor } from '../../../../src/core/onnx/builder';
// The whole table (shapes.ts spreads mathShapes.ts's rules into it).
import { shapeRules as mathShapeRules } from '../../../../src/core/training/graph/shapes';
import { Rng, assertReports, checkVjp, distinct, floatTensor, model, node, randn, runVjp } from './helpers';

// Smooth ops: eps 1e-2, rel-L2 2e-3; piecewise-linear ops (ReduceMax, Where, MatMul): eps 0.05–0.5, 1e-4.
const SMOOTH = { eps: 1e-2, tol: 2e-3 };
const LINEAR = { eps: 0.5, tol: 1e-4 };
const X3 = [2, 3, 4];

const positive = (rng: Rng, d: number[]) => rng.array(d.reduce((p, q) => p * q, 1), () => rng.uniform(0.5, 2));
const signed = (rng: Rng, d: number[]) => rng.array(d.reduce((p, q) => p * q, 1), () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.5, 2));
const boolTensor = (name: string, dims: number[], v: number[]) => tensor(name, dims, Uint8Array.from(v), DataType.BOOL);

interface Case {
  label: string;
  nodes: ReturnType<typeof node>[];
  inputs?: [string, number[]][];
  inits?: ReturnType<typeof floatTensor>[];
  wrt?: string[];
  feeds?: (rng: Rng) => Record<string, Float32Array>;
  opset?: number;
  eps: number;
  tol: number;
}

const cases: Case[] = [
  { label: 'Erf', nodes: [node('Erf', ['X'], ['Y'])], ...SMOOTH },
  // The exact and tanh derivatives differ by < 1e-3 (most near |x| ≈ 2): a tighter tolerance tells them apart.
  { label: 'Gelu approximate none (opset 20)', nodes: [node('Gelu', ['X'], ['Y'])], opset: 20, feeds: (r) => ({ X: randn(r, X3, 2) }), eps: 1e-2, tol: 1e-4 },
  {
    label: "Gelu approximate 'tanh' (opset 20)",
    nodes: [node('Gelu', ['X'], ['Y'], { approximate: 'tanh' })],
    opset: 20,
    feeds: (r) => ({ X: randn(r, X3, 2) }),
    eps: 1e-2,
    tol: 1e-4,
  },
  {
    label: 'exact GELU as PyTorch exports it (Div, Erf, Add, Mul, Mul)',
    nodes: [
      node('Div', ['X', 'sqrt2'], ['d']),
      node('Erf', ['d'], ['e']),
      node('Add', ['e', 'one'], ['e1']),
      node('Mul', ['X', 'e1'], ['m']),
      node('Mul', ['m', 'half'], ['Y']),
    ],
    inits: [floatTensor('sqrt2', [], [Math.SQRT2]), floatTensor('one', [], [1]), floatTensor('half', [], [0.5])],
    ...SMOOTH,
  },
  { label: 'Sqrt', nodes: [node('Sqrt', ['X'], ['Y'])], feeds: (r) => ({ X: positive(r, X3) }), ...SMOOTH },
  { label: 'Exp', nodes: [node('Exp', ['X'], ['Y'])], ...SMOOTH },
  { label: 'Log', nodes: [node('Log', ['X'], ['Y'])], feeds: (r) => ({ X: positive(r, X3) }), ...SMOOTH },
  { label: 'Reciprocal', nodes: [node('Reciprocal', ['X'], ['Y'])], feeds: (r) => ({ X: signed(r, X3) }), ...SMOOTH },
  { label: 'Pow, constant exponent 2 (x.pow(2))', nodes: [node('Pow', ['X', 'E'], ['Y'])], inits: [floatTensor('E', [], [2])], ...SMOOTH },
  { label: 'Pow, exponent 3, negative bases', nodes: [node('Pow', ['X', 'E'], ['Y'])], inits: [floatTensor('E', [1], [3])], feeds: (r) => ({ X: signed(r, X3) }), ...SMOOTH },
  { label: 'Pow, exponent 0.5', nodes: [node('Pow', ['X', 'E'], ['Y'])], inits: [floatTensor('E', [], [0.5])], feeds: (r) => ({ X: positive(r, X3) }), ...SMOOTH },
  { label: 'Pow, int64 exponent 3', nodes: [node('Pow', ['X', 'E'], ['Y'])], inits: [int64Tensor('E', [3], [])], ...SMOOTH },
  {
    label: 'Pow, per-column exponents [4] broadcast',
    nodes: [node('Pow', ['X', 'E'], ['Y'])],
    inits: [floatTensor('E', [4], [1.5, 2, 2.5, -1])],
    feeds: (r) => ({ X: positive(r, X3) }),
    ...SMOOTH,
  },
  {
    label: 'Pow: dX and dE (exponent [3,1] trainable, broadcast)',
    nodes: [node('Pow', ['X', 'E'], ['Y'])],
    inits: [floatTensor('E', [3, 1], [0.5, 1.5, 2.5])],
    wrt: ['X', 'E'],
    feeds: (r) => ({ X: positive(r, X3) }),
    ...SMOOTH,
  },
  {
    label: 'Sub (activation − its ReduceMean, keepdims)',
    nodes: [node('ReduceMean', ['X'], ['mu'], { axes: [-1] }), node('Sub', ['X', 'mu'], ['Y'])],
    ...LINEAR,
  },
  {
    label: 'decomposed LayerNorm (ReduceMean, Sub, Pow 2, ReduceMean, Add, Sqrt, Div, Mul, Add)',
    nodes: [
      node('ReduceMean', ['X'], ['mu'], { axes: [-1] }),
      node('Sub', ['X', 'mu'], ['xc']),
      node('Pow', ['xc', 'two'], ['sq']),
      node('ReduceMean', ['sq'], ['var'], { axes: [-1] }),
      node('Add', ['var', 'epsc'], ['ve']),
      node('Sqrt', ['ve'], ['sd']),
      node('Div', ['xc', 'sd'], ['xh']),
      node('Mul', ['xh', 'S'], ['xs']),
      node('Add', ['xs', 'B'], ['Y']),
    ],
    inits: [floatTensor('two', [], [2]), floatTensor('epsc', [], [1e-5]), floatTensor('S', [4], [0.5, 1, 1.5, -1]), floatTensor('B', [4], [0.1, 0.2, -0.3, 0])],
    wrt: ['X', 'S', 'B'],
    ...SMOOTH,
  },
  {
    label: 'Where(bool [2,1,4], A [2,3,4], B [4]): both branches, reduced over broadcast axes',
    inputs: [['A', X3], ['B', [4]]],
    nodes: [node('Where', ['C', 'A', 'B'], ['Y'])],
    inits: [boolTensor('C', [2, 1, 4], [1, 0, 1, 1, 0, 0, 1, 0])],
    wrt: ['A', 'B'],
    ...LINEAR,
  },
  {
    label: 'Where(Greater(M, 0), fill, X) (masked_fill) → Softmax',
    inputs: [['X', X3]],
    nodes: [node('Greater', ['M', 'zero'], ['C']), node('Where', ['C', 'fill', 'X'], ['s']), node('Softmax', ['s'], ['Y'], { axis: -1 })],
    inits: [floatTensor('M', [3, 4], [1, -1, 1, 1, -1, -1, 1, 1, 1, 1, 1, -1]), floatTensor('zero', [], [0]), floatTensor('fill', [], [-30])],
    ...SMOOTH,
  },
  { label: 'Softmax axis 2 of a 4-D tensor', inputs: [['X', [2, 3, 4, 2]]], nodes: [node('Softmax', ['X'], ['Y'], { axis: 2 })], ...SMOOTH },
  { label: 'Softmax axis -1 of a 3-D tensor', nodes: [node('Softmax', ['X'], ['Y'], { axis: -1 })], ...SMOOTH },
  { label: 'LogSoftmax axis 2 of a 4-D tensor', inputs: [['X', [2, 3, 4, 2]]], nodes: [node('LogSoftmax', ['X'], ['Y'], { axis: 2 })], ...SMOOTH },
  { label: 'LogSoftmax axis -1 of a 3-D tensor', nodes: [node('LogSoftmax', ['X'], ['Y'], { axis: -1 })], ...SMOOTH },
  {
    label: 'MatMul [2,3,4] @ [2,4,5], two activations',
    inputs: [['A', [2, 3, 4]], ['B', [2, 4, 5]]],
    nodes: [node('MatMul', ['A', 'B'], ['Y'])],
    wrt: ['A', 'B'],
    ...LINEAR,
  },
  {
    label: 'attention Q·Kᵀ: MatMul(Q [2,2,3,4], Transpose(K [2,2,3,4]))',
    inputs: [['Q', [2, 2, 3, 4]], ['K', [2, 2, 3, 4]]],
    nodes: [node('Transpose', ['K'], ['Kt'], { perm: [0, 1, 3, 2] }), node('MatMul', ['Q', 'Kt'], ['Y'])],
    wrt: ['Q', 'K'],
    ...LINEAR,
  },
  {
    label: 'MatMul batch broadcast [2,1,3,4] @ [1,2,4,5]',
    inputs: [['A', [2, 1, 3, 4]], ['B', [1, 2, 4, 5]]],
    nodes: [node('MatMul', ['A', 'B'], ['Y'])],
    wrt: ['A', 'B'],
    ...LINEAR,
  },
  {
    label: 'MatMul 2-D activation @ [2,4,5] (A broadcast over the batch)',
    inputs: [['A', [3, 4]], ['B', [2, 4, 5]]],
    nodes: [node('MatMul', ['A', 'B'], ['Y'])],
    wrt: ['A', 'B'],
    ...LINEAR,
  },
];

const ln = (extra: Partial<Case> & { label: string; nodes: Case['nodes']; dims: number[]; sd: number[] }): Case => ({
  inputs: [['X', extra.dims]],
  inits: [floatTensor('S', extra.sd, randn(new Rng(3), extra.sd).map((v) => 1 + 0.3 * v)), floatTensor('B', extra.sd, randn(new Rng(4), extra.sd))],
  wrt: ['X', 'S', 'B'],
  ...SMOOTH,
  ...extra,
});

cases.push(
  ln({ label: 'LayerNormalization axis -1: dX, dScale, dBias', dims: [2, 3, 8], sd: [8], nodes: [node('LayerNormalization', ['X', 'S', 'B'], ['Y'], { epsilon: 1e-5 })] }),
  ln({
    label: 'LayerNormalization with its Mean/InvStdDev outputs (unused)',
    dims: [2, 3, 8],
    sd: [8],
    nodes: [node('LayerNormalization', ['X', 'S', 'B'], ['Y', 'mean', 'inv'], { axis: -1 })],
  }),
  ln({ label: 'LayerNormalization axis 1 of [2,3,4] (scale [3,4])', dims: X3, sd: [3, 4], nodes: [node('LayerNormalization', ['X', 'S', 'B'], ['Y'], { axis: 1 })] }),
  ln({ label: 'LayerNormalization without bias', dims: [2, 3, 8], sd: [8], wrt: ['X', 'S'], nodes: [node('LayerNormalization', ['X', 'S'], ['Y'])] }),
);

for (const [ci, c] of cases.entries()) {
  test(`${c.label}: vs finite differences`, async () => {
    const rng = new Rng(100 + ci);
    const m = model({ inputs: c.inputs ?? [['X', X3]], outputs: ['Y'], nodes: c.nodes, inits: c.inits, opset: c.opset });
    const reports = await checkVjp({ model: m, wrt: c.wrt ?? ['X'], feeds: c.feeds?.(rng), eps: c.eps, tol: c.tol, seed: ci });
    assertReports(assert, reports, c.tol, c.label);
  });
}

const reduceMax: [string, number[], ReturnType<typeof node>, ReturnType<typeof floatTensor>[]?, number?][] = [
  ['ReduceMax axes [1] keepdims 1', X3, node('ReduceMax', ['X'], ['Y'], { axes: [1] })],
  ['ReduceMax axes [-1] keepdims 0', X3, node('ReduceMax', ['X'], ['Y'], { axes: [-1], keepdims: 0 })],
  ['ReduceMax all axes keepdims 0 (scalar)', X3, node('ReduceMax', ['X'], ['Y'], { keepdims: 0 })],
  ['ReduceMax opset 18, axes input [2, 3]', [2, 3, 2, 2], node('ReduceMax', ['X', 'ax'], ['Y']), [int64Tensor('ax', [2, 3])], 18],
  ['ReduceMin axes [0, 2]', X3, node('ReduceMin', ['X'], ['Y'], { axes: [0, 2] })],
];
for (const [ri, [label, dims, n, inits, opset]] of reduceMax.entries()) {
  test(`${label}: dX vs finite differences (distinct values)`, async () => {
    const m = model({ inputs: [['X', dims]], outputs: ['Y'], nodes: [n], inits, opset });
    const x = distinct(new Rng(200 + ri), dims, 0.2);
    const reports = await checkVjp({ model: m, wrt: ['X'], feeds: { X: x }, eps: 0.05, tol: 1e-4, seed: ri });
    assertReports(assert, reports, 1e-4, label);
  });
}

test('ReduceMax ties: dY is split evenly among the tied maxima (PyTorch amax)', async () => {
  const m = model({ inputs: [['X', [2, 4]]], outputs: ['Y'], nodes: [node('ReduceMax', ['X'], ['Y'], { axes: [1] })] });
  const x = Float32Array.from([3, 1, 3, 3, 0, 2, -1, 2]);
  const run = await runVjp(m, ['X'], { X: x }, 7);
  const r = run.seeds.get('Y')!;
  const want = [r[0] / 3, 0, r[0] / 3, r[0] / 3, 0, r[1] / 2, 0, r[1] / 2];
  want.forEach((w, i) => assert.ok(Math.abs(run.grads.X[i] - w) < 1e-6, `dX[${i}] = ${run.grads.X[i]}, want ${w}`));
});

test('shape rules: Where/Equal/Pow fold constant integers; LayerNorm stats and ReduceMax shapes', () => {
  const i64 = (dims: number[], value: number[]) => ({ dims, dtype: DataType.INT64, value });
  const s = i64([3], [2, 3, 4]);
  const eq = mathShapeRules.Equal(node('Equal', ['s', 't'], ['e']), [s, i64([], [3])])[0];
  assert.deepEqual([eq.dtype, eq.value], [DataType.BOOL, [0, 1, 0]]);
  const w = mathShapeRules.Where(node('Where', ['e', 'm', 's'], ['w']), [eq, i64([1], [-1]), s])[0];
  assert.deepEqual([w.dims, w.value], [[3], [2, -1, 4]]);
  assert.deepEqual(mathShapeRules.Pow(node('Pow', ['s', 'k'], ['p']), [s, i64([], [2])])[0].value, [4, 9, 16]);
  const f = { dims: [2, 3, 4], dtype: DataType.FLOAT };
  const lnOut = mathShapeRules.LayerNormalization(node('LayerNormalization', ['x', 's'], ['y', 'm', 'v'], { axis: 1 }), [f, f]);
  assert.deepEqual(lnOut.map((o) => o.dims), [[2, 3, 4], [2, 1, 1], [2, 1, 1]]);
  assert.deepEqual(mathShapeRules.ReduceMax(node('ReduceMax', ['x'], ['y'], { axes: [1], keepdims: 0 }), [f])[0].dims, [2, 4]);
  assert.equal(mathShapeRules.Where(node('Where', ['c', 'a', 'b'], ['y']), [{ dims: [3, 1], dtype: DataType.BOOL }, f, { dims: [], dtype: DataType.FLOAT }])[0].dims.join(), '2,3,4');
});

test('Reshape target built by Shape → Equal → Where is folded statically', async () => {
  const m = model({
    inputs: [['X', X3]],
    outputs: ['Y'],
    nodes: [node('Shape', ['X'], ['s']), node('Equal', ['s', 'three'], ['e']), node('Where', ['e', 'm1', 's'], ['t']), node('Reshape', ['X', 't'], ['r']), node('Exp', ['r'], ['Y'])],
    inits: [int64Tensor('three', [3], []), int64Tensor('m1', [-1])],
  });
  const reports = await checkVjp({ model: m, wrt: ['X'], eps: SMOOTH.eps, tol: SMOOTH.tol });
  assertReports(assert, reports, SMOOTH.tol, 'Shape/Equal/Where');
});

/** LayerNorm → Q,K,V → heads → softmax(Q·Kᵀ/√d)·V → out proj → residual → LayerNorm → MLP with exact GELU → residual. */
test('transformer block: every weight gradient vs finite differences', async () => {
  const [B, T, D, H, F] = [2, 3, 8, 2, 16];
  const dh = D / H;
  const rng = new Rng(7);
  const w = (name: string, dims: number[], scale: number) => floatTensor(name, dims, randn(rng, dims, scale));
  const near1 = (name: string) => floatTensor(name, [D], randn(rng, [D], 0.2).map((v) => 1 + v));
  const heads = (x: string, perm: number[]) => [node('Reshape', [x, 'hshape'], [`${x}_h`]), node('Transpose', [`${x}_h`], [`${x}_t`], { perm })];
  const m = model({
    inputs: [['X', [B, T, D]]],
    outputs: ['Y'],
    nodes: [
      node('LayerNormalization', ['X', 'g1', 'b1'], ['n1'], { axis: -1, epsilon: 1e-5 }),
      node('MatMul', ['n1', 'Wq'], ['q']),
      node('MatMul', ['n1', 'Wk'], ['k']),
      node('MatMul', ['n1', 'Wv'], ['v']),
      ...heads('q', [0, 2, 1, 3]),
      ...heads('k', [0, 2, 3, 1]),
      ...heads('v', [0, 2, 1, 3]),
      node('MatMul', ['q_t', 'k_t'], ['s']),
      node('Div', ['s', 'sqrtd'], ['s2']),
      node('Softmax', ['s2'], ['a'], { axis: -1 }),
      node('MatMul', ['a', 'v_t'], ['o']),
      node('Transpose', ['o'], ['o_t'], { perm: [0, 2, 1, 3] }),
      node('Reshape', ['o_t', 'dshape'], ['o2']),
      node('MatMul', ['o2', 'Wo'], ['p']),
      node('Add', ['X', 'p'], ['r1']),
      node('LayerNormalization', ['r1', 'g2', 'b2'], ['n2'], { axis: -1, epsilon: 1e-5 }),
      node('MatMul', ['n2', 'W1'], ['h0']),
      node('Add', ['h0', 'c1'], ['h']),
      node('Div', ['h', 'sqrt2'], ['hd']),
      node('Erf', ['hd'], ['he']),
      node('Add', ['he', 'one'], ['he1']),
      node('Mul', ['h', 'he1'], ['hm']),
      node('Mul', ['hm', 'half'], ['g']),
      node('MatMul', ['g', 'W2'], ['f']),
      node('Add', ['r1', 'f'], ['Y']),
    ],
    inits: [
      near1('g1'), w('b1', [D], 0.1), near1('g2'), w('b2', [D], 0.1),
      w('Wq', [D, D], 0.4), w('Wk', [D, D], 0.4), w('Wv', [D, D], 0.4), w('Wo', [D, D], 0.4),
      w('W1', [D, F], 0.4), w('c1', [F], 0.1), w('W2', [F, D], 0.3),
      int64Tensor('hshape', [B, T, H, dh]), int64Tensor('dshape', [B, T, D]),
      floatTensor('sqrtd', [], [Math.sqrt(dh)]), floatTensor('sqrt2', [], [Math.SQRT2]), floatTensor('one', [], [1]), floatTensor('half', [], [0.5]),
    ],
  });
  const wrt = ['Wq', 'Wk', 'Wv', 'Wo', 'W1', 'c1', 'W2', 'g1', 'b1', 'g2', 'b2', 'X'];
  const reports = await checkVjp({ model: m, wrt, eps: SMOOTH.eps, tol: SMOOTH.tol, probes: 16, seed: 3 });
  assertReports(assert, reports, SMOOTH.tol, 'transformer block');
});

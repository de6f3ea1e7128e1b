import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, assertReports, checkVjp, floatTensor, model, node, randn } from './helpers';

const TOL = 1e-4;

for (const transA of [0, 1]) {
  for (const transB of [0, 1]) {
    test(`Gemm transA=${transA} transB=${transB} α=0.7 β=1.3: dA, dB, dC vs finite differences`, async () => {
      const rng = new Rng(transA * 2 + transB);
      const M = 3;
      const K = 4;
      const N = 5;
      const a = transA ? [K, M] : [M, K];
      const b = transB ? [N, K] : [K, N];
      const m = model({
        inputs: [['A', a]],
        outputs: ['Y'],
        nodes: [node('Gemm', ['A', 'B', 'C'], ['Y'], { transA, transB, alpha: 0.7, beta: 1.3 })],
        inits: [floatTensor('B', b, randn(rng, b)), floatTensor('C', [N], randn(rng, [N]))],
      });
      const reports = await checkVjp({ model: m, wrt: ['A', 'B', 'C'], eps: 0.5, tol: TOL });
      assertReports(assert, reports, TOL, `Gemm ${transA}${transB}`);
    });
  }
}

test('Gemm with default α, β and a [M, N] C', async () => {
  const rng = new Rng(5);
  const m = model({
    inputs: [['A', [3, 4]]],
    outputs: ['Y'],
    nodes: [node('Gemm', ['A', 'B', 'C'], ['Y'], { transB: 1 })],
    inits: [floatTensor('B', [2, 4], randn(rng, [2, 4])), floatTensor('C', [3, 2], randn(rng, [3, 2]))],
  });
  const reports = await checkVjp({ model: m, wrt: ['A', 'B', 'C'], eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'Gemm default');
});

test('MatMul 2-D: both operands', async () => {
  const m = model({ inputs: [['A', [3, 4]], ['B', [4, 2]]], outputs: ['Y'], nodes: [node('MatMul', ['A', 'B'], ['Y'])] });
  const reports = await checkVjp({ model: m, wrt: ['A', 'B'], eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'MatMul 2-D');
});

test('MatMul batched A [2,3,4] @ 2-D weight [4,5]', async () => {
  const rng = new Rng(8);
  const m = model({
    inputs: [['A', [2, 3, 4]]],
    outputs: ['Y'],
    nodes: [node('MatMul', ['A', 'W'], ['Y'])],
    inits: [floatTensor('W', [4, 5], randn(rng, [4, 5]))],
  });
  const reports = await checkVjp({ model: m, wrt: ['A', 'W'], eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'MatMul batched');
});

test('MatMul broadcast batch [2,1,3,4] @ [3,4,2]', async () => {
  const m = model({ inputs: [['A', [2, 1, 3, 4]], ['B', [3, 4, 2]]], outputs: ['Y'], nodes: [node('MatMul', ['A', 'B'], ['Y'])] });
  const reports = await checkVjp({ model: m, wrt: ['A', 'B'], eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'MatMul broadcast');
});

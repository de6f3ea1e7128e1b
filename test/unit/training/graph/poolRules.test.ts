import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttrValue } from '../../../../src/core/onnx/builder';
import { Rng, assertReports, checkVjp, distinct, model, node, randn, relL2, runVjp } from './helpers';

const TOL = 1e-4;

interface PoolCase {
  label: string;
  op: 'MaxPool' | 'AveragePool';
  x: number[];
  attrs: Record<string, AttrValue>;
}

const cases: PoolCase[] = [
  { label: 'MaxPool k3 s2 p1 (overlapping)', op: 'MaxPool', x: [2, 3, 8, 8], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: 'MaxPool k2 s2', op: 'MaxPool', x: [2, 2, 6, 6], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { label: 'MaxPool k3 s2 ceil_mode H8', op: 'MaxPool', x: [1, 2, 8, 8], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
  { label: 'MaxPool k3 s1 SAME_UPPER', op: 'MaxPool', x: [1, 2, 5, 5], attrs: { kernel_shape: [3, 3], auto_pad: 'SAME_UPPER' } },
  { label: 'MaxPool k2 s1 dilation 2', op: 'MaxPool', x: [1, 2, 6, 6], attrs: { kernel_shape: [2, 2], dilations: [2, 2] } },
  { label: 'AveragePool k3 s2 p1 count_include_pad 0', op: 'AveragePool', x: [2, 3, 7, 7], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: 'AveragePool k3 s2 p1 count_include_pad 1', op: 'AveragePool', x: [2, 3, 7, 7], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } },
  { label: 'AveragePool k3 s2 ceil_mode, count_include_pad 1', op: 'AveragePool', x: [1, 2, 8, 8], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 } },
  { label: 'AveragePool k3 s2 ceil_mode, count_include_pad 0', op: 'AveragePool', x: [1, 2, 8, 8], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
  { label: 'AveragePool k2 s2 non-overlapping, odd H (remainder row)', op: 'AveragePool', x: [2, 3, 7, 6], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { label: 'AveragePool k2 s2 ceil_mode non-overlapping', op: 'AveragePool', x: [1, 2, 5, 5], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } },
  { label: 'AveragePool k3 s1 SAME_LOWER asymmetric pads', op: 'AveragePool', x: [1, 2, 6, 6], attrs: { kernel_shape: [2, 3], auto_pad: 'SAME_LOWER' } },
  { label: 'AveragePool k2 s1 asymmetric pads count_include_pad 1', op: 'AveragePool', x: [1, 2, 5, 5], attrs: { kernel_shape: [2, 2], pads: [1, 0, 0, 1], count_include_pad: 1 } },
];

for (const [ci, c] of cases.entries()) {
  test(`${c.label}: dX vs finite differences`, async () => {
    const rng = new Rng(50 + ci);
    const m = model({ inputs: [['X', c.x]], outputs: ['Y'], nodes: [node(c.op, ['X'], ['Y'], c.attrs, 'pool')] });
    // MaxPool inputs are distinct and spaced 0.1 apart, so ±eps never changes the arg-max.
    const x = c.op === 'MaxPool' ? distinct(rng, c.x, 0.1) : randn(rng, c.x);
    const eps = c.op === 'MaxPool' ? 0.02 : 0.5;
    const reports = await checkVjp({ model: m, wrt: ['X'], feeds: { X: x }, eps, tol: TOL, probes: 64, seed: ci });
    assertReports(assert, reports, TOL, c.label);
  });
}

test('MaxPool with ties: each window sends its gradient to its first maximum (PyTorch rule), overlaps add up', async () => {
  const rng = new Rng(9);
  const d = [2, 2, 7, 7];
  const [N, C, H, W] = d;
  const m = model({ inputs: [['X', d]], outputs: ['Y'], nodes: [node('MaxPool', ['X'], ['Y'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })] });
  // Values from {0, 1, 2}: most windows hold several equal maxima (like ReLU outputs full of zeros).
  const x = rng.array(N * C * H * W, () => rng.int(3));
  const run = await runVjp(m, ['X'], { X: x }, 4);
  const r = run.seeds.get('Y')!;
  const Ho = 4;
  const Wo = 4;
  const ref = new Float64Array(x.length);
  for (let nc = 0; nc < N * C; nc++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        let best = -1;
        let bv = -Infinity;
        for (let a = 0; a < 3; a++)
          for (let e = 0; e < 3; e++) {
            const h = i * 2 + a - 1;
            const w = j * 2 + e - 1;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const idx = (nc * H + h) * W + w;
            if (x[idx] > bv) {
              bv = x[idx];
              best = idx;
            }
          }
        ref[best] += r[(nc * Ho + i) * Wo + j];
      }
  assert.ok(relL2(run.grads.X, ref) < 1e-6, `rel-L2 ${relL2(run.grads.X, ref)}`);
  const total = r.reduce((a, b) => a + b, 0);
  const got = run.grads.X.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - got) < 1e-4, 'gradient mass is conserved');
});

test('GlobalAveragePool: dX vs finite differences', async () => {
  const rng = new Rng(3);
  const m = model({ inputs: [['X', [2, 3, 4, 5]]], outputs: ['Y'], nodes: [node('GlobalAveragePool', ['X'], ['Y'])] });
  const reports = await checkVjp({ model: m, wrt: ['X'], feeds: { X: randn(rng, [2, 3, 4, 5]) }, eps: 0.5, tol: TOL });
  assertReports(assert, reports, TOL, 'GAP');
});

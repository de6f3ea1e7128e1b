import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, fdGrad, floatTensor, model, node, randn, relL2, runVjp, toF64 } from './helpers';
import { bnTrain } from './reference';

/**
 * BatchNormalization (training mode) backward against central differences of a float64 JS reference of the
 * training-mode forward (float32 FD through BN is too noisy). Tolerance: rel-L2 1e-4 (the float32 backward
 * itself, doc §5).
 */
const X = [4, 3, 3, 3];

for (const [label, scaleMean] of [['centred input', 0], ['input with a large mean', 5]] as const) {
  test(`BatchNormalization training mode (${label}): dX, dγ, dβ vs float64 finite differences`, async () => {
    const rng = new Rng(21);
    const C = X[1];
    const m = model({
      inputs: [['X', X]],
      outputs: ['Y'],
      nodes: [node('BatchNormalization', ['X', 'g', 'b', 'mu', 'var'], ['Y'], { epsilon: 1e-3, momentum: 0.9 }, 'bn')],
      inits: [
        floatTensor('g', [C], rng.array(C, () => rng.uniform(0.5, 1.5))),
        floatTensor('b', [C], randn(rng, [C])),
        floatTensor('mu', [C], randn(rng, [C])),
        floatTensor('var', [C], rng.array(C, () => rng.uniform(0.5, 2))),
      ],
    });
    const x = randn(rng, X).map((v) => v * 2 + scaleMean);
    const run = await runVjp(m, ['X', 'g', 'b'], { X: Float32Array.from(x) }, 5);
    const r = run.seeds.get('Y')!;
    const vals = toF64(run.values);
    const loss = (v: Map<string, Float64Array>) => {
      const y = bnTrain({ d: X, v: v.get('X')! }, v.get('g')!, v.get('b')!, 1e-3).y.v;
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i] * r[i];
      return s;
    };
    // Forward (training mode: batch statistics, not the stored ones) agrees with the reference.
    const yRef = bnTrain({ d: X, v: vals.get('X')! }, vals.get('g')!, vals.get('b')!, 1e-3).y.v;
    assert.ok(relL2(run.outputs.Y, yRef) < 1e-6, 'training-mode forward');
    for (const name of ['X', 'g', 'b']) {
      const { idx, fd } = fdGrad(vals, name, loss, 1e-5);
      const an = idx.map((i) => run.grads[name][i]);
      const err = relL2(an, fd);
      assert.ok(err < 1e-4, `${name}: rel-L2 ${err}`);
    }
  });
}

test('BatchNormalization on [N, C] (BatchNorm1d form)', async () => {
  const rng = new Rng(2);
  const d = [6, 4];
  const m = model({
    inputs: [['X', d]],
    outputs: ['Y'],
    nodes: [node('BatchNormalization', ['X', 'g', 'b', 'mu', 'var'], ['Y'], { epsilon: 1e-5 })],
    inits: [
      floatTensor('g', [4], rng.array(4, () => rng.uniform(0.5, 1.5))),
      floatTensor('b', [4], randn(rng, [4])),
      floatTensor('mu', [4], [0, 0, 0, 0]),
      floatTensor('var', [4], [1, 1, 1, 1]),
    ],
  });
  const run = await runVjp(m, ['X', 'g', 'b'], {}, 3);
  const r = run.seeds.get('Y')!;
  const vals = toF64(run.values);
  const loss = (v: Map<string, Float64Array>) => {
    // [N, C] is [N, C, 1, 1] for the reference.
    const y = bnTrain({ d: [6, 4, 1, 1], v: v.get('X')! }, v.get('g')!, v.get('b')!, 1e-5).y.v;
    return y.reduce((s, yi, i) => s + yi * r[i], 0);
  };
  for (const name of ['X', 'g', 'b']) {
    const { idx, fd } = fdGrad(vals, name, loss, 1e-5);
    const err = relL2(idx.map((i) => run.grads[name][i]), fd);
    assert.ok(err < 1e-4, `${name}: rel-L2 ${err}`);
  }
});

import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { AdamW } from '../../../src/core/training/optim/adamw';
import { OptimParam } from '../../../src/core/training/optim/param';
import { MaxqError } from '../../../src/core/errors';

const GRADS = [
  [0.5, -1],
  [0.25, 0.5],
  [-0.5, 0.25],
];

function run(opt: AdamW, decay: boolean): number[][] {
  const p: OptimParam = { name: 'w', data: Float32Array.from([1, -2]), grad: new Float32Array(2), decay };
  const out: number[][] = [];
  for (const g of GRADS) {
    p.grad.set(g);
    opt.step([p], 0.01);
    out.push(Array.from(p.data));
  }
  return out;
}

function near(actual: number[][], expected: number[][]): void {
  actual.forEach((row, s) =>
    row.forEach((x, i) => assert.ok(Math.abs(x - expected[s][i]) < 2e-7, `step ${s + 1} [${i}]: ${x} vs ${expected[s][i]}`)),
  );
}

describe('AdamW', () => {
  test('decoupled weight decay and bias correction, 3 steps by hand', () => {
    // lr 0.01, β = (0.9, 0.999), ε = 1e-8, wd 0.1.
    // t=1: W ← W·(1 − 0.001) = [0.999, −1.998]; m = [0.05, −0.1]; v = [2.5e-4, 1e-3];
    //      m̂ = m/0.1 = [0.5, −1], v̂ = v/0.001 = [0.25, 1] → step lr·m̂/(√v̂ + ε) = [0.01, −0.01]: the first
    //      Adam step moves each weight by lr·sign(g) → W = [0.989, −1.988].
    // t=2: W·0.999 = [0.988011, −1.986012]; m = [0.07, −0.04]; v = [3.1225e-4, 1.249e-3];
    //      m̂ = m/0.19, v̂ = v/0.001999 → step [0.0093218, −0.0026634] → W = [0.9786892, −1.9833486].
    // t=3: similarly → W = [0.9766027, −1.9807514].
    near(run(new AdamW({ weightDecay: 0.1 }), true), [
      [0.989, -1.988],
      [0.978689204, -1.98334863],
      [0.976602684, -1.980751392],
    ]);
  });

  test('no decay on parameters flagged decay: false', () => {
    near(run(new AdamW({ weightDecay: 0.1 }), false), [
      [0.99, -1.99],
      [0.980678204, -1.98733663],
      [0.979570373, -1.986722741],
    ]);
  });

  test('per-parameter step counts: a parameter joining late gets its own bias correction', () => {
    const opt = new AdamW({ weightDecay: 0 });
    const a: OptimParam = { name: 'a', data: Float32Array.from([0]), grad: Float32Array.from([2]), decay: true };
    const b: OptimParam = { name: 'b', data: Float32Array.from([0]), grad: Float32Array.from([2]), decay: true };
    opt.step([a], 0.1);
    opt.step([a], 0.1);
    opt.step([b], 0.1);
    // b's first step is a first step: exactly −lr·sign(g) (up to ε).
    assert.ok(Math.abs(b.data[0] + 0.1) < 1e-6);
    assert.deepEqual(opt.state().steps, { a: 2, b: 1 });
  });

  test('bad hyper-parameters', () => {
    const usage = (e: unknown) => e instanceof MaxqError && e.kind === 'usage';
    assert.throws(() => new AdamW({ beta1: 1 }), usage);
    assert.throws(() => new AdamW({ beta2: -0.1 }), usage);
    assert.throws(() => new AdamW({ eps: 0 }), usage);
    assert.throws(() => new AdamW({ weightDecay: -0.1 }), usage);
  });
});

import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { Sgd } from '../../../src/core/training/optim/sgd';
import { OptimParam, decaysByDefault } from '../../../src/core/training/optim/param';
import { MaxqError } from '../../../src/core/errors';

/** The same three gradients for every case: the expected weights below were worked out by hand from them. */
const GRADS = [
  [0.5, -1],
  [0.25, 0.5],
  [-0.5, 0.25],
];

function param(name: string, decay: boolean): OptimParam & { grad: Float32Array } {
  return { name, data: Float32Array.from([1, -2]), grad: new Float32Array(2), decay };
}

/** Runs the three steps at lr 0.1 and returns the weights after each. */
function run(opt: Sgd, p: OptimParam & { grad: Float32Array }): number[][] {
  const out: number[][] = [];
  for (const g of GRADS) {
    p.grad.set(g);
    opt.step([p], 0.1);
    out.push(Array.from(p.data));
  }
  return out;
}

function near(actual: number[][], expected: number[][]): void {
  actual.forEach((row, s) =>
    row.forEach((x, i) => assert.ok(Math.abs(x - expected[s][i]) < 1e-6, `step ${s + 1} [${i}]: ${x} vs ${expected[s][i]}`)),
  );
}

describe('Sgd (reference order of spec §6)', () => {
  test('momentum 0.9, no weight decay', () => {
    // v1 = g1 = [0.5, −1]                       W1 = [1 − 0.05, −2 + 0.1]       = [0.95, −1.9]
    // v2 = 0.9·v1 + g2 = [0.7, −0.4]            W2 = [0.95 − 0.07, −1.9 + 0.04] = [0.88, −1.86]
    // v3 = 0.9·v2 + g3 = [0.13, −0.11]          W3 = [0.867, −1.849]
    near(run(new Sgd({ momentum: 0.9 }), param('w', true)), [
      [0.95, -1.9],
      [0.88, -1.86],
      [0.867, -1.849],
    ]);
  });

  test('momentum 0.9, weight decay 0.01 on a decayed parameter (g += wd·W before the momentum)', () => {
    // g1 = [0.51, −1.02]  v1 = g1                            W1 = [0.949, −1.898]
    // g2 = [0.25949, 0.48102]  v2 = [0.71849, −0.43698]      W2 = [0.877151, −1.854302]
    // g3 = [−0.49122849, 0.23145698]  v3 = [0.15541251, −0.16182502]  W3 = [0.861609749, −1.838119498]
    near(run(new Sgd({ momentum: 0.9, weightDecay: 0.01 }), param('w', true)), [
      [0.949, -1.898],
      [0.877151, -1.854302],
      [0.861609749, -1.838119498],
    ]);
  });

  test('weight decay skips parameters flagged decay: false (biases, BatchNorm)', () => {
    near(run(new Sgd({ momentum: 0.9, weightDecay: 0.01 }), param('bn.bias', false)), [
      [0.95, -1.9],
      [0.88, -1.86],
      [0.867, -1.849],
    ]);
    assert.equal(decaysByDefault([64, 3, 3, 3]), true);
    assert.equal(decaysByDefault([10, 512]), true);
    assert.equal(decaysByDefault([64]), false);
  });

  test('Nesterov: W −= lr·(g + μ·v)', () => {
    // step 1: v = g, update 1.9·g = [0.95, −1.9]              W1 = [0.905, −1.81]
    // step 2: v = [0.7, −0.4], update [0.88, 0.14]            W2 = [0.817, −1.824]
    // step 3: v = [0.13, −0.11], update [−0.383, 0.151]       W3 = [0.8553, −1.8391]
    near(run(new Sgd({ momentum: 0.9, nesterov: true }), param('w', true)), [
      [0.905, -1.81],
      [0.817, -1.824],
      [0.8553, -1.8391],
    ]);
  });

  test('no momentum: plain W −= lr·g, and no state kept', () => {
    const opt = new Sgd({ momentum: 0 });
    near(run(opt, param('w', true)), [
      [0.95, -1.9],
      [0.925, -1.95],
      [0.975, -1.975],
    ]);
    assert.deepEqual(opt.state().tensors, {});
  });

  test('several tensors in one step keep separate buffers; gradients are not modified', () => {
    const opt = new Sgd({ momentum: 0.9, weightDecay: 0.5 });
    const a = param('a', true);
    const b = param('b', false);
    a.grad.set([1, 1]);
    b.grad.set([1, 1]);
    opt.step([a, b], 0.1);
    assert.deepEqual(Array.from(a.grad), [1, 1]);
    assert.deepEqual(Array.from(a.data), [Math.fround(1 - 0.1 * 1.5), Math.fround(-2 - 0.1 * 0)]);
    assert.deepEqual(Array.from(b.data), [Math.fround(0.9), Math.fround(-2.1)]);
    assert.deepEqual(Object.keys(opt.state().tensors).sort(), ['momentum/a', 'momentum/b']);
  });

  test('bad hyper-parameters and mismatched gradients', () => {
    const usage = (e: unknown) => e instanceof MaxqError && e.kind === 'usage';
    assert.throws(() => new Sgd({ momentum: 1 }), usage);
    assert.throws(() => new Sgd({ momentum: 0, nesterov: true }), usage);
    assert.throws(() => new Sgd({ weightDecay: -1 }), usage);
    assert.throws(() => new Sgd().step([param('w', true)], NaN), usage);
    assert.throws(() => new Sgd().step([{ name: 'x', data: new Float32Array(2), grad: new Float32Array(3), decay: false }], 0.1), /gradient of 'x' has 3 elements/);
  });
});

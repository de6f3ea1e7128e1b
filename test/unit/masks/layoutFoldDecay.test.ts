import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { canonicalShapeOf, fromCanonical, toCanonical } from '../../../src/core/masks/layout';
import { foldWeights } from '../../../src/core/masks/fold';
import { addSrsteDecay, SRSTE_LAMBDA } from '../../../src/core/masks/srsteDecay';
import { hardNmMask } from '../../../src/core/masks/hardMask';
import { computeLayerMask } from '../../../src/core/masks/layerMask';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { isMaxqError } from '../../../src/core/errors';
import { firstMismatch, randomWeight, rng } from './helpers';

test('layout: [in, out] storage is transposed to canonical [out, in] and back (round trip, any size)', () => {
  for (const [inF, outF] of [[1, 1], [3, 5], [64, 33], [40, 100]]) {
    const storage = Float32Array.from({ length: inF * outF }, (_, k) => k + 0.5);
    const canon = toCanonical(storage, [inF, outF], true);
    for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) assert.equal(canon[o * inF + i], storage[i * outF + o]);
    assert.equal(firstMismatch(fromCanonical(canon, [inF, outF], true), storage), -1);
    const mask = Uint8Array.from(canon, (v) => (v > 10 ? 1 : 0));
    const back = fromCanonical(mask, [inF, outF], true);
    assert.ok(back instanceof Uint8Array);
    for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) assert.equal(back[i * outF + o], mask[o * inF + i]);
  }
  assert.deepEqual(canonicalShapeOf([16, 8], true), [8, 16, 1, 1]);
  assert.deepEqual(canonicalShapeOf([8, 16], false), [8, 16, 1, 1]);
  assert.deepEqual(canonicalShapeOf([4, 8, 3, 3], false), [4, 8, 3, 3]);
});

test('layout: [out, in] and OIHW storage are returned as they are (no copy)', () => {
  const conv = new Float32Array(4 * 8 * 9);
  assert.equal(toCanonical(conv, [4, 8, 3, 3], false), conv);
  assert.equal(fromCanonical(conv, [4, 8, 3, 3], false), conv);
  const lin = new Float32Array(12);
  assert.equal(toCanonical(lin, [3, 4], false), lin);
  const usage = (re: RegExp) => (e: unknown) => isMaxqError(e) && e.kind === 'usage' && re.test(e.message);
  assert.throws(() => toCanonical(conv, [4, 8, 3, 3], true), usage(/cannot be transposed/));
  assert.throws(() => toCanonical(new Float32Array(6), [6], false), usage(/neither 2-D/));
  assert.throws(() => toCanonical(new Float32Array(6), [2, 4], true), usage(/needs 8/));
  assert.throws(() => fromCanonical(new Float32Array(0), [0, 4], true), usage(/non-positive/));
});

test('layout: a mask computed canonically runs down a column of [in, out] storage', () => {
  // storage [in=8, out=2]: a block is 4 consecutive input features of one output = a column run of 4.
  const storage = Float32Array.from([0.1, 9, 0.4, 8, 0.3, 7, 0.2, 6, 5, 0.05, 6, 0.06, 7, 0.07, 8, 0.08]);
  const canon = toCanonical(storage, [8, 2], true);
  const hard = hardNmMask({ data: canon, O: 2, I: 8, Kh: 1, Kw: 1 }, NmPattern.parse('2:4'));
  const stored = fromCanonical(hard, [8, 2], true);
  assert.deepEqual([...stored], [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
});

test('fold: W·S in fp32, exact zeros where H = 0 (−0 for negative weights unless canonical zeros)', () => {
  const w = randomWeight(5, 8, 16, 3, 3, 'normal', 0.05);
  const m = computeLayerMask(w, NmPattern.parse('2:4'), 'maxq');
  const folded = foldWeights(w, m.soft);
  const canonical = foldWeights(w.data, m.soft, { canonicalZeros: true });
  let negZeros = 0;
  for (let i = 0; i < folded.length; i++) {
    assert.equal(folded[i], Math.fround(w.data[i] * m.soft[i]));
    if (m.hard[i] === 0) {
      assert.ok(folded[i] === 0);
      if (w.data[i] < 0) {
        assert.ok(Object.is(folded[i], -0));
        negZeros++;
      }
      assert.ok(Object.is(canonical[i], 0), 'canonical zeros are +0');
    } else {
      assert.equal(canonical[i], folded[i]);
      assert.ok(Math.abs(folded[i]) >= Math.abs(w.data[i]) && Math.abs(folded[i]) <= 3 * Math.abs(w.data[i]) + 1e-12);
    }
  }
  assert.ok(negZeros > 0);
  const out = new Float32Array(folded.length);
  assert.equal(foldWeights(w, m.soft, { out }), out);
  assert.throws(() => foldWeights(w, new Float32Array(3)), (e: unknown) => isMaxqError(e) && /mask of the weight's length/.test(e.message));
});

test('SR-STE decay: G += λ(1 − H)W in place, only on pruned weights', () => {
  const r = rng(3);
  const n = 64;
  const weight = Float32Array.from({ length: n }, () => r() - 0.5);
  const grad = Float32Array.from({ length: n }, () => r() - 0.5);
  const hard = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const before = grad.slice();
  assert.equal(addSrsteDecay(grad, weight, hard), grad);
  for (let i = 0; i < n; i++) {
    if (hard[i]) assert.equal(grad[i], before[i]);
    else assert.equal(grad[i], Math.fround(before[i] + SRSTE_LAMBDA * weight[i]));
  }
  assert.equal(SRSTE_LAMBDA, 2e-4);
  const g2 = before.slice();
  addSrsteDecay(g2, weight, hard, 0.5);
  assert.equal(g2[1], Math.fround(before[1] + 0.5 * weight[1]));
  assert.throws(() => addSrsteDecay(grad, weight.subarray(1), hard), /equal lengths/);
  assert.throws(() => addSrsteDecay(grad, weight, hard, -1), /lambda/);
});

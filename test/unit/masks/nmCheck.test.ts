import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkNm, detectTightestNm, maxGroupNonZeros, zeroFraction } from '../../../src/core/validate/nmCheck';
import { computeLayerMask } from '../../../src/core/masks/layerMask';
import { foldWeights } from '../../../src/core/masks/fold';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { canonicalWeight, CanonicalWeight } from '../../../src/core/masks/canonicalWeight';
import { isMaxqError } from '../../../src/core/errors';
import { randomWeight } from './helpers';

function sparsified(w: CanonicalWeight, pattern: string): CanonicalWeight {
  const p = NmPattern.parse(pattern);
  return { ...w, data: foldWeights(w, computeLayerMask(w, p, 'magnitude').soft) };
}

test('a folded N:M weight passes; counts groups', () => {
  const w = sparsified(randomWeight(1, 8, 16, 3, 3), '2:4');
  const r = checkNm(w, NmPattern.parse('2:4'));
  assert.deepEqual(r, { pass: true, totalGroups: 8 * 4 * 9, violatingGroups: 0, firstViolations: [] });
  assert.equal(checkNm(w, NmPattern.parse('1:4')).pass, false);
});

test('violations are reported with canonical coordinates (o, group start i, h, w) and their non-zero count', () => {
  const w = sparsified(randomWeight(2, 4, 16, 3, 3), '2:4');
  const at = (o: number, i: number, h: number, x: number) => ((o * 16 + i) * 3 + h) * 3 + x;
  // Group o=1, channels 4..7, (h, w) = (2, 0): make all 4 non-zero.
  for (let j = 0; j < 4; j++) w.data[at(1, 4 + j, 2, 0)] = 0.5;
  // Group o=3, channels 12..15, (0, 1): 3 non-zeros.
  for (let j = 0; j < 3; j++) w.data[at(3, 12 + j, 0, 1)] = -0.25;
  w.data[at(3, 15, 0, 1)] = 0;
  const r = checkNm(w, NmPattern.parse('2:4'));
  assert.equal(r.pass, false);
  assert.equal(r.violatingGroups, 2);
  assert.deepEqual(r.firstViolations, [
    { o: 1, i: 4, h: 2, w: 0, nonZeros: 4 },
    { o: 3, i: 12, h: 0, w: 1, nonZeros: 3 },
  ]);
  assert.equal(checkNm(w, NmPattern.parse('2:4'), 1).firstViolations.length, 1);
  assert.equal(checkNm(w, NmPattern.parse('2:4'), 0).firstViolations.length, 0);
});

test('−0 counts as zero, NaN as non-zero; linear layers check along the input axis', () => {
  const w = canonicalWeight(Float32Array.from([-0, -0, 1, 2, 0, Number.NaN, 3, 0]), 1, 8);
  assert.equal(checkNm(w, NmPattern.parse('2:4')).pass, true);
  assert.equal(checkNm(w, NmPattern.parse('1:4')).violatingGroups, 2);
  const lin = canonicalWeight(Float32Array.from([1, 1, 0, 0, 0, 0, 1, 1]), 2, 4);
  assert.deepEqual(checkNm(lin, NmPattern.parse('1:4')).firstViolations, [
    { o: 0, i: 0, h: 0, w: 0, nonZeros: 2 },
    { o: 1, i: 0, h: 0, w: 0, nonZeros: 2 },
  ]);
  assert.throws(() => checkNm(canonicalWeight(new Float32Array(6), 1, 6), NmPattern.parse('2:4')), (e: unknown) => isMaxqError(e) && e.kind === 'usage');
});

test('detect: 2:4 → 2:4, 1:8 → 1:8 (not 2:16), 1:4, 1:16, 4:8, dense → null, zeros → 1:16', () => {
  const base = randomWeight(3, 8, 32, 3, 3);
  assert.deepEqual(detectTightestNm(sparsified(base, '2:4')), { n: 2, m: 4 });
  assert.deepEqual(detectTightestNm(sparsified(base, '1:8')), { n: 1, m: 8 });
  assert.deepEqual(detectTightestNm(sparsified(base, '1:4')), { n: 1, m: 4 });
  assert.deepEqual(detectTightestNm(sparsified(base, '1:16')), { n: 1, m: 16 });
  assert.deepEqual(detectTightestNm(sparsified(base, '4:8')), { n: 4, m: 8 });
  assert.equal(detectTightestNm(base), null);
  // All zeros satisfies 1:M for every M; 1:16 has the lowest ratio.
  assert.deepEqual(detectTightestNm({ ...base, data: new Float32Array(base.data.length) }), { n: 1, m: 16 });
  // Only M that divide I are considered: I = 12 → M = 4 only.
  const w12 = sparsified(randomWeight(4, 2, 12), '1:4');
  assert.deepEqual(detectTightestNm(w12), { n: 1, m: 4 });
  assert.equal(detectTightestNm(randomWeight(5, 2, 6)), null);
  assert.deepEqual(detectTightestNm(sparsified(base, '2:8'), [8, 4]), { n: 2, m: 8 });
  assert.throws(() => detectTightestNm(base, [1]), (e: unknown) => isMaxqError(e) && /M must be/.test(e.message));
  assert.equal(maxGroupNonZeros(sparsified(base, '3:8'), 8), 3);
});

test('zero fraction counts ±0', () => {
  assert.equal(zeroFraction(Float32Array.from([0, -0, 1, Number.NaN])), 0.5);
  assert.equal(zeroFraction(new Float32Array(0)), 0);
  assert.equal(zeroFraction(sparsified(randomWeight(6, 4, 8), '1:4').data), 0.75);
});

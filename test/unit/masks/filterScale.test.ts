/** keepFilterScale: each filter of W·S rescaled to its dense L2 norm; zeros (the N:M pattern) untouched. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { keepFilterScale } from '../../../src/core/masks/filterScale';
import { computeLayerMask } from '../../../src/core/masks/layerMask';
import { foldWeights } from '../../../src/core/masks/fold';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { checkNm } from '../../../src/core/validate/nmCheck';
import { randn } from '../fixtures';

describe('keepFilterScale', () => {
  it('MaxQ W·S (×1…3 per kept weight) gets back each dense filter\'s L2 norm, keeping every N:M zero', () => {
    const w = { data: randn(8 * 16 * 3 * 3, 4, 0.05), O: 8, I: 16, Kh: 3, Kw: 3 };
    const pattern = NmPattern.parse('2:4');
    const mask = computeLayerMask(w, pattern, 'maxq', 0, 'w');
    const folded = foldWeights(w.data, mask.soft);
    const raw = Float32Array.from(folded);
    keepFilterScale(w, folded);
    const per = 16 * 9;
    const norm = (a: Float32Array, o: number) => Math.hypot(...a.subarray(o * per, (o + 1) * per));
    for (let o = 0; o < 8; o++) {
      assert.ok(norm(raw, o) > 1.2 * norm(w.data, o), 'W·S is larger than the dense filter');
      assert.ok(Math.abs(norm(folded, o) - norm(w.data, o)) <= 1e-5 * norm(w.data, o), `filter ${o} keeps its norm`);
      const k = folded[o * per + mask.hard.subarray(o * per).indexOf(1)] / raw[o * per + mask.hard.subarray(o * per).indexOf(1)];
      for (let j = o * per; j < (o + 1) * per; j++) assert.ok(Math.abs(folded[j] - raw[j] * k) <= 1e-6 * Math.abs(raw[j]) + 1e-9, 'one factor per filter');
    }
    assert.equal(checkNm({ ...w, data: folded }, pattern, 1).pass, true);
  });

  it('an all-zero filter stays zero', () => {
    const w = { data: new Float32Array(2 * 4), O: 2, I: 4, Kh: 1, Kw: 1 };
    w.data.set([1, 2, 3, 4], 4);
    const folded = Float32Array.of(0, 0, 0, 0, 0, 0, 6, 8);
    keepFilterScale(w, folded);
    assert.deepEqual(Array.from(folded.subarray(0, 4)), [0, 0, 0, 0]);
    assert.ok(Math.abs(Math.hypot(...folded.subarray(4)) - Math.hypot(1, 2, 3, 4)) < 1e-6);
  });
});

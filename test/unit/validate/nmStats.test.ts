/** layerNmStats (one pass) gives exactly what detectTightestNm, zeroFraction and checkNm give. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkNm, detectTightestNm, layerNmStats, zeroFraction } from '../../../src/core/validate/nmCheck';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { CanonicalWeight } from '../../../src/core/masks/canonicalWeight';
import { mulberry32 } from '../../../src/core/data/random';

function weight(O: number, I: number, Kh: number, Kw: number, keep: number, seed: number): CanonicalWeight {
  const rand = mulberry32(seed);
  const data = new Float32Array(O * I * Kh * Kw);
  for (let i = 0; i < data.length; i++) {
    const r = rand();
    data[i] = r < keep ? rand() - 0.5 : r < keep + 0.05 ? -0 : 0;
  }
  if (data.length > 3) data[3] = NaN; // NaN counts as non-zero
  return { data, O, I, Kh, Kw };
}

describe('layerNmStats', () => {
  const shapes: [number, number, number, number][] = [[4, 16, 3, 3], [8, 32, 1, 1], [3, 48, 1, 3], [5, 8, 3, 3], [2, 12, 1, 1], [6, 4, 1, 1]];
  const patterns = [null, '2:4', '1:4', '4:8', '2:8', '8:16', '3:12'];
  for (const [O, I, Kh, Kw] of shapes) {
    for (const keep of [0, 0.3, 0.5, 0.95]) {
      it(`[${O}, ${I}, ${Kh}, ${Kw}] with ${keep * 100}% non-zeros`, () => {
        const w = weight(O, I, Kh, Kw, keep, O * 1000 + I + keep * 10);
        for (const p of patterns) {
          const pattern = p ? NmPattern.parse(p) : null;
          if (pattern && I % pattern.m !== 0) continue;
          const got = layerNmStats(w, pattern, 3);
          assert.deepEqual(got.detected, detectTightestNm(w), `${p} detected`);
          assert.equal(got.zeroFraction, zeroFraction(w.data));
          assert.deepEqual(got.check, pattern ? checkNm(w, pattern, 3) : undefined, `${p} check`);
        }
      });
    }
  }

  it('falls back for M that are not multiples of 4 (2:6) and I not a multiple of 4', () => {
    const w = weight(3, 12, 1, 1, 0.5, 9);
    assert.deepEqual(layerNmStats(w, NmPattern.parse('2:6'), 5).check, checkNm(w, NmPattern.parse('2:6'), 5));
    const odd = weight(3, 6, 3, 3, 0.5, 10);
    assert.deepEqual(layerNmStats(odd, NmPattern.parse('1:2'), 5).check, checkNm(odd, NmPattern.parse('1:2'), 5));
  });
});

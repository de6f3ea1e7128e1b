/**
 * N:M checks on a weight in canonical OIHW order (spec §2, §7 "check before writing"): count the non-zeros of
 * every group of M input channels at a fixed (o, h, w). −0 counts as zero (−0 == 0); NaN counts as non-zero.
 * Also detects the tightest N:M a weight already satisfies, for validating models sparsified elsewhere.
 */
import { CanonicalWeight, MAGNITUDE_MASK, magnitudeKeys } from '../masks/canonicalWeight';
import { assertGroupable } from '../masks/hardMask';
import { NmPattern } from '../masks/nmPattern';
import { usageError } from '../errors';
import { Violation } from '../types';

export interface NmCheckResult {
  pass: boolean;
  totalGroups: number;
  violatingGroups: number;
  /** Up to `maxListed` failing groups, in OIHW order of their first element. */
  firstViolations: Violation[];
}

/** Checks that every group of `pattern.m` has at most `pattern.n` non-zeros. */
export function checkNm(w: CanonicalWeight, pattern: NmPattern, maxListed = 10): NmCheckResult {
  assertGroupable(w, pattern);
  const M = pattern.m;
  const N = pattern.n;
  const G = w.I / M;
  const KK = w.Kh * w.Kw;
  const keys = magnitudeKeys(w.data);
  const chunks = w.O * G;
  const firstViolations: Violation[] = [];
  let violatingGroups = 0;
  for (let c = 0; c < chunks; c++) {
    const base = c * M * KK;
    for (let p = 0; p < KK; p++) {
      let nz = 0;
      // (−key) >>> 31 is 1 exactly when key > 0, i.e. the value is not ±0.
      for (let j = 0, idx = base + p; j < M; j++, idx += KK) nz += -(keys[idx] & MAGNITUDE_MASK) >>> 31;
      if (nz > N) {
        violatingGroups++;
        if (firstViolations.length < maxListed) {
          firstViolations.push({ o: Math.floor(c / G), i: (c % G) * M, h: Math.floor(p / w.Kw), w: p % w.Kw, nonZeros: nz });
        }
      }
    }
  }
  return { pass: violatingGroups === 0, totalGroups: chunks * KK, violatingGroups, firstViolations };
}

/** Largest number of non-zeros in any group of `m` (stops early once a group is fully dense). */
export function maxGroupNonZeros(w: CanonicalWeight, m: number): number {
  if (w.I % m !== 0) throw usageError(`input channels ${w.I} are not a multiple of M=${m}`);
  const KK = w.Kh * w.Kw;
  const keys = magnitudeKeys(w.data);
  const chunks = (w.O * w.I) / m;
  let max = 0;
  for (let c = 0; c < chunks; c++) {
    const base = c * m * KK;
    for (let p = 0; p < KK; p++) {
      let nz = 0;
      for (let j = 0, idx = base + p; j < m; j++, idx += KK) nz += -(keys[idx] & MAGNITUDE_MASK) >>> 31;
      if (nz > max) {
        max = nz;
        if (max === m) return max;
      }
    }
  }
  return max;
}

/**
 * The tightest N:M the weight satisfies among `ms` (only M that divide I): lowest N/M. On equal ratios the
 * smaller M wins, because it is the stronger statement (1:8 implies 2:16, not the other way round). Returns
 * null when no M qualifies, e.g. for a dense weight, which only satisfies N = M — not an N:M pattern.
 * An all-zero weight satisfies 1:M.
 */
export function detectTightestNm(w: CanonicalWeight, ms: readonly number[] = [4, 8, 16]): { n: number; m: number } | null {
  let best: { n: number; m: number } | null = null;
  for (const m of ms) {
    if (!Number.isInteger(m) || m < 2) throw usageError(`M must be an integer ≥ 2, got ${m}`);
    if (w.I % m !== 0) continue;
    const n = Math.max(1, maxGroupNonZeros(w, m));
    if (n >= m) continue;
    // Compare n/m with best.n/best.m exactly by cross-multiplying.
    if (best === null || n * best.m < best.n * m || (n * best.m === best.n * m && m < best.m)) best = { n, m };
  }
  return best;
}

/** Share of exact zeros (±0) in the values; 0 for an empty array. */
export function zeroFraction(data: Float32Array): number {
  if (data.length === 0) return 0;
  const keys = magnitudeKeys(data);
  let nonZero = 0;
  for (let i = 0; i < keys.length; i++) nonZero += -(keys[i] & MAGNITUDE_MASK) >>> 31;
  return (data.length - nonZero) / data.length;
}

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

export interface LayerNmStats {
  detected: { n: number; m: number } | null;
  zeroFraction: number;
  /** The check against `pattern`, when one was given. */
  check?: NmCheckResult;
}

/** Non-zeros of every group of 4 input channels at each kernel position: counts[c4 * KK + p]; and their total. */
function countFours(keys: Int32Array, chunks4: number, KK: number): { counts: Uint8Array; nonZero: number } {
  const counts = new Uint8Array(chunks4 * KK);
  let nonZero = 0;
  if (KK === 1) {
    for (let c = 0, i = 0; c < chunks4; c++, i += 4) {
      // (−key) >>> 31 is 1 exactly when key > 0: the value is not ±0 (NaN counts as non-zero).
      const nz = (-(keys[i] & MAGNITUDE_MASK) >>> 31) + (-(keys[i + 1] & MAGNITUDE_MASK) >>> 31) +
        (-(keys[i + 2] & MAGNITUDE_MASK) >>> 31) + (-(keys[i + 3] & MAGNITUDE_MASK) >>> 31);
      counts[c] = nz;
      nonZero += nz;
    }
    return { counts, nonZero };
  }
  const KK2 = 2 * KK, KK3 = 3 * KK;
  for (let c = 0, base = 0, k = 0; c < chunks4; c++, base += 4 * KK) {
    for (let i = base, end = base + KK; i < end; i++, k++) {
      const nz = (-(keys[i] & MAGNITUDE_MASK) >>> 31) + (-(keys[i + KK] & MAGNITUDE_MASK) >>> 31) +
        (-(keys[i + KK2] & MAGNITUDE_MASK) >>> 31) + (-(keys[i + KK3] & MAGNITUDE_MASK) >>> 31);
      counts[k] = nz;
      nonZero += nz;
    }
  }
  return { counts, nonZero };
}

/** Largest count of a group of `per` consecutive chunks of 4 (stops once a group is fully dense). */
function groupMax(counts: Uint8Array, chunks4: number, KK: number, per: number): number {
  const full = 4 * per;
  let max = 0;
  if (per === 1) {
    for (let k = 0; k < counts.length; k++) if (counts[k] > max && (max = counts[k]) === full) return max;
    return max;
  }
  for (let first = 0, end = chunks4 * KK; first < end; first += per * KK) {
    for (let p = 0; p < KK; p++) {
      let nz = 0;
      for (let j = 0, k = first + p; j < per; j++, k += KK) nz += counts[k];
      if (nz > max && (max = nz) === full) return max;
    }
  }
  return max;
}

/**
 * `detectTightestNm`, `zeroFraction` and `checkNm` of one weight from a single read of its values: the non-zeros
 * of every group of 4 input channels are counted once (a byte each), and groups of 8 and 16 (and the pattern's
 * M) are sums of those counts. Same results as the three functions, reading the weight once instead of five
 * times; falls back to them when I or an M is not a multiple of 4.
 */
export function layerNmStats(w: CanonicalWeight, pattern: NmPattern | null, maxListed = 10, ms: readonly number[] = [4, 8, 16]): LayerNmStats {
  if (w.I % 4 !== 0 || (pattern && pattern.m % 4 !== 0) || ms.some((m) => !Number.isInteger(m) || m < 4 || m % 4 !== 0)) {
    return { detected: detectTightestNm(w, ms), zeroFraction: zeroFraction(w.data), check: pattern ? checkNm(w, pattern, maxListed) : undefined };
  }
  if (pattern) assertGroupable(w, pattern);
  const KK = w.Kh * w.Kw;
  const chunks4 = (w.O * w.I) / 4;
  const { counts, nonZero } = countFours(magnitudeKeys(w.data), chunks4, KK);
  let detected: { n: number; m: number } | null = null;
  for (const m of ms) {
    if (w.I % m !== 0) continue;
    const n = Math.max(1, groupMax(counts, chunks4, KK, m / 4));
    if (n >= m) continue;
    if (detected === null || n * detected.m < detected.n * m || (n * detected.m === detected.n * m && m < detected.m)) detected = { n, m };
  }
  let check: NmCheckResult | undefined;
  if (pattern) {
    const M = pattern.m, N = pattern.n, G = w.I / M, per = M / 4;
    const firstViolations: Violation[] = [];
    let violatingGroups = 0;
    for (let c = 0, first = 0, chunks = chunks4 / per; c < chunks; c++, first += per * KK) {
      for (let p = 0; p < KK; p++) {
        let nz = 0;
        for (let j = 0, k = first + p; j < per; j++, k += KK) nz += counts[k];
        if (nz > N) {
          violatingGroups++;
          if (firstViolations.length < maxListed) firstViolations.push({ o: Math.floor(c / G), i: (c % G) * M, h: Math.floor(p / w.Kw), w: p % w.Kw, nonZeros: nz });
        }
      }
    }
    check = { pass: violatingGroups === 0, totalGroups: w.O * G * KK, violatingGroups, firstViolations };
  }
  const total = w.data.length;
  return { detected, zeroFraction: total === 0 ? 0 : (total - nonZero) / total, check };
}

/**
 * Incremental-sparsity schedule, second half (spec §4.2): with dense fraction p, the floor(p·num_blocks) blocks
 * of smallest L1 norm get H = 1 on all M entries (ties: lower block index first). The lowest-L1 blocks stay dense
 * on purpose, so the high-magnitude blocks are the first to become N:M.
 *
 * Block index b = ((o·Kh + h)·Kw + w)·(I/M) + g, i.e. OHWI order — not OIHW memory order — so the tie rule walks
 * blocks in that order.
 */
import { usageError } from '../errors';
import { CanonicalWeight } from './canonicalWeight';
import { assertGroupable } from './hardMask';
import { NmPattern } from './nmPattern';
import { quickselectFloat64 } from './select';

export function blockCount(w: CanonicalWeight, pattern: NmPattern): number {
  return (w.O * w.Kh * w.Kw * w.I) / pattern.m;
}

export function assertDenseFraction(p: number): void {
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) {
    throw usageError(`dense fraction must be a number in [0, 1], got ${p}`);
  }
}

/** floor(p · numBlocks) in doubles, exactly as the spec prescribes (192.00000000000003 floors to 192). */
export function numDenseBlocks(p: number, numBlocks: number): number {
  assertDenseFraction(p);
  return Math.floor(p * numBlocks);
}

/** L1 norm of every block, indexed by block index b (sums in float64). */
export function blockL1(w: CanonicalWeight, pattern: NmPattern, out?: Float64Array): Float64Array {
  assertGroupable(w, pattern);
  const M = pattern.m;
  const G = w.I / M;
  const KK = w.Kh * w.Kw;
  const l1 = out && out.length >= blockCount(w, pattern) ? out : new Float64Array(blockCount(w, pattern));
  const data = w.data;
  for (let o = 0; o < w.O; o++) {
    for (let g = 0; g < G; g++) {
      const chunk = (o * w.I + g * M) * KK;
      for (let hw = 0; hw < KK; hw++) {
        let s = 0;
        for (let j = 0, idx = chunk + hw; j < M; j++, idx += KK) s += Math.abs(data[idx]);
        l1[(o * KK + hw) * G + g] = s;
      }
    }
  }
  return l1;
}

/**
 * Sets H = 1 on the floor(p·num_blocks) lowest-L1 blocks of `hard` (in place) and returns how many blocks that
 * is. The boundary value comes from quickselect on a copy of the norms, not a sort.
 */
export function forceDenseBlocks(w: CanonicalWeight, pattern: NmPattern, hard: Uint8Array, p: number): number {
  const total = blockCount(w, pattern);
  const count = numDenseBlocks(p, total);
  if (count === 0) return 0;
  if (hard.length !== w.data.length) throw usageError(`hard mask has ${hard.length} entries, weight has ${w.data.length}`);
  const M = pattern.m;
  const G = w.I / M;
  const KK = w.Kh * w.Kw;
  if (count === total) {
    hard.fill(1);
    return count;
  }
  const l1 = blockL1(w, pattern);
  const v = quickselectFloat64(Float64Array.from(l1), 0, total, count - 1);
  let less = 0;
  for (let b = 0; b < total; b++) if (l1[b] < v) less++;
  let equalsToTake = count - less;
  // Walk blocks in block-index order so that equal norms go to the lower index first.
  let b = 0;
  for (let o = 0; o < w.O; o++) {
    for (let hw = 0; hw < KK; hw++) {
      for (let g = 0; g < G; g++, b++) {
        const x = l1[b];
        let dense = x < v;
        if (!dense && x === v && equalsToTake > 0) {
          dense = true;
          equalsToTake--;
        }
        if (dense) {
          const first = (o * w.I + g * M) * KK + hw;
          for (let j = 0, idx = first; j < M; j++, idx += KK) hard[idx] = 1;
        }
      }
    }
  }
  return count;
}

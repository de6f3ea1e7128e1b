/**
 * Incremental-sparsity schedule, second half (spec §4.2): with dense fraction p, the floor(p·num_blocks) blocks
 * of smallest L1 norm get H = 1 on all M entries (ties: lower block index first). The lowest-L1 blocks stay dense
 * on purpose, so the high-magnitude blocks are the first to become N:M.
 *
 * Block index b = ((o·Kh + h)·Kw + w)·(I/M) + g, i.e. OHWI order — not OIHW memory order.
 *
 * Norms are summed in fp32 in channel order, like the reference (which sums in float32; the spec's vectors keep
 * a 1e-5 relative gap at the boundary so the summation order does not matter there). Non-negative fp32 values
 * order like their bit patterns, so the boundary is found with the same branch-free `RankBoundary` as the soft
 * terms: linear time, no sort.
 */
import { usageError } from '../errors';
import { CanonicalWeight } from './canonicalWeight';
import { assertGroupable } from './hardMask';
import { NmPattern } from './nmPattern';
import { defaultWorkspace, MaskWorkspace } from './workspace';

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

/** fp32 L1 norm of every block, indexed by block index b. */
export function blockL1(w: CanonicalWeight, pattern: NmPattern, out?: Float32Array): Float32Array {
  assertGroupable(w, pattern);
  const M = pattern.m;
  const G = w.I / M;
  const KK = w.Kh * w.Kw;
  const total = blockCount(w, pattern);
  const l1 = out && out.length >= total ? out : new Float32Array(total);
  const data = w.data;
  for (let o = 0; o < w.O; o++) {
    for (let g = 0; g < G; g++) {
      const chunk = (o * w.I + g * M) * KK;
      if (M === 4) {
        // Unrolled; fround(0 + a0) = a0, so this is the same sum as the loop below.
        for (let i0 = chunk, b = o * KK * G + g, end = chunk + KK; i0 < end; i0++, b += G) {
          const s01 = Math.fround(Math.abs(data[i0]) + Math.abs(data[i0 + KK]));
          l1[b] = Math.fround(Math.fround(s01 + Math.abs(data[i0 + 2 * KK])) + Math.abs(data[i0 + 3 * KK]));
        }
        continue;
      }
      for (let hw = 0, b = o * KK * G + g; hw < KK; hw++, b += G) {
        let s = 0;
        for (let j = 0, idx = chunk + hw; j < M; j++, idx += KK) s = Math.fround(s + Math.abs(data[idx]));
        l1[b] = s;
      }
    }
  }
  return l1;
}

/**
 * Sets H = 1 on the floor(p·num_blocks) lowest-L1 blocks of `hard` (in place) and returns how many blocks that
 * is. `hard` must already hold the N:M mask.
 */
export function forceDenseBlocks(
  w: CanonicalWeight,
  pattern: NmPattern,
  hard: Uint8Array,
  p: number,
  ws: MaskWorkspace = defaultWorkspace(),
): number {
  const total = blockCount(w, pattern);
  const count = numDenseBlocks(p, total);
  if (count === 0) return 0;
  if (hard.length !== w.data.length) throw usageError(`hard mask has ${hard.length} entries, weight has ${w.data.length}`);
  if (count === total) {
    hard.fill(1);
    return count;
  }
  const M = pattern.m;
  const G = w.I / M;
  const KK = w.Kh * w.Kw;
  const l1 = blockL1(w, pattern, ws.blockNorms(total));
  const keys = new Int32Array(l1.buffer, l1.byteOffset, total);
  const boundary = ws.blockBoundary;
  boundary.resetHint();
  boundary.find(keys, 0, total, count);
  const vk = boundary.vk;
  // Blocks with key < vk are dense. Of the blocks equal to vk, the first `count − #less` in block order are too;
  // without a tie (countLE = count) that is simply key ≤ vk.
  let equalsToTake = count;
  if (boundary.countLE !== count) {
    for (let b = 0; b < total; b++) equalsToTake -= (keys[b] - vk) >>> 31;
  }
  const tied = boundary.countLE !== count;
  let b = 0;
  for (let o = 0; o < w.O; o++) {
    for (let hw = 0; hw < KK; hw++) {
      for (let g = 0; g < G; g++, b++) {
        const key = keys[b];
        let dense = (vk - key) >>> 31 ^ 1; // key ≤ vk
        if (tied && key === vk) {
          dense = equalsToTake > 0 ? 1 : 0;
          equalsToTake--;
        }
        const first = (o * w.I + g * M) * KK + hw;
        if (M === 4) {
          hard[first] |= dense;
          hard[first + KK] |= dense;
          hard[first + 2 * KK] |= dense;
          hard[first + 3 * KK] |= dense;
        } else {
          for (let j = 0, idx = first; j < M; j++, idx += KK) hard[idx] |= dense;
        }
      }
    }
  }
  return count;
}

/**
 * Hard N:M mask H (spec §3): in every block of M consecutive input channels at a fixed (o, h, w), keep the N
 * largest |w|; on equal |w| the lower channel index wins. Output is 1 = kept, 0 = pruned.
 *
 * In OIHW memory a block is strided by Kh·Kw, and the M·Kh·Kw values of one (o, g) chunk are contiguous, so the
 * loops walk chunks in memory order and the Kh·Kw blocks inside each chunk.
 *
 * Magnitudes are compared as integer keys (see `magnitudeKeys`): `(a − b) >>> 31` is 1 exactly when a < b, which
 * lets M = 2 and M = 4 compute every rank with arithmetic only; V8 turns float compares in ternaries into
 * branches, which mispredict half the time on random weights. Other M use a partial selection per block.
 */
import { usageError } from '../errors';
import { assertCanonicalShape, assertFiniteWeight, CanonicalWeight, MAGNITUDE_MASK, magnitudeKeys } from './canonicalWeight';
import { NmPattern } from './nmPattern';
import { quickselectInt32 } from './select';

export function assertGroupable(w: CanonicalWeight, pattern: NmPattern, name?: string): void {
  if (w.I % pattern.m !== 0) {
    const where = name ? `layer '${name}': ` : '';
    throw usageError(`${where}input channels ${w.I} are not a multiple of M=${pattern.m}`);
  }
}

/**
 * H for `w` (a fresh array unless `out` is given; `out` must have the weight's length). Rejects non-finite
 * weights (spec §7) with a usage error naming `name`: NaN has no rank, and the check rides along in the same
 * pass at the cost of two integer ops per weight.
 */
export function hardNmMask(w: CanonicalWeight, pattern: NmPattern, out?: Uint8Array, name?: string): Uint8Array {
  assertCanonicalShape(w, name);
  assertGroupable(w, pattern, name);
  const total = w.data.length;
  const mask = out ?? new Uint8Array(total);
  if (mask.length !== total) throw usageError(`hard mask buffer has ${mask.length} entries, weight has ${total}`);
  const finite = hardChunks(magnitudeKeys(w.data), mask, 0, (w.O * w.I) / pattern.m, w.Kh * w.Kw, pattern.n, pattern.m);
  if (finite < 0) assertFiniteWeight(w, name);
  return mask;
}

/**
 * H for the (o, g) chunks [first, end) — chunk c covers the M·Kh·Kw contiguous values of channels g·M..g·M+M−1
 * of filter o, with c = o·(I/M) + g — written into `mask` at the same offsets. Returns a value < 0 when a
 * non-finite weight was seen (see FINITE_MAX). The fused soft-mask pass (collectRows.ts) repeats the M = 4
 * arithmetic inline, for rows it reads anyway.
 */
function hardChunks(keys: Int32Array, mask: Uint8Array, first: number, end: number, KK: number, n: number, m: number): number {
  if (m === 4) return KK === 1 ? hard4Contiguous(keys, mask, first * 4, end * 4, n) : hard4(keys, mask, first, end, KK, n);
  if (m === 2) return hard2(keys, mask, first, end, KK);
  return hardGeneric(keys, mask, first, end, KK, n, m);
}

/**
 * Largest finite magnitude key (the bits of FLT_MAX). `acc |= FINITE_MAX − key` keeps acc ≥ 0 exactly while every
 * key is finite, since Inf/NaN keys are larger; the loops return acc and a negative value means "not finite".
 */
export const FINITE_MAX = 0x7f7fffff;

/**
 * M = 4, any N. With n_qj = [a_q < a_j] for q < j, the number of block members ranked above j is
 *   rank_j = Σ_{q<j} [a_q ≥ a_j] + Σ_{q>j} [a_q > a_j] = Σ_{q<j} (1 − n_qj) + Σ_{q>j} n_jq,
 * which encodes the lower-index-wins tie rule; H_j = [rank_j < N] = (rank_j − N) >>> 31.
 */
function hard4(keys: Int32Array, mask: Uint8Array, first: number, end: number, KK: number, n: number): number {
  const stride = KK;
  const chunkLen = 4 * KK;
  let acc = 0;
  for (let c = first; c < end; c++) {
    const base = c * chunkLen;
    for (let p = 0; p < KK; p++) {
      const i0 = base + p;
      const i1 = i0 + stride;
      const i2 = i1 + stride;
      const i3 = i2 + stride;
      const a0 = keys[i0] & MAGNITUDE_MASK;
      const a1 = keys[i1] & MAGNITUDE_MASK;
      const a2 = keys[i2] & MAGNITUDE_MASK;
      const a3 = keys[i3] & MAGNITUDE_MASK;
      const n01 = (a0 - a1) >>> 31;
      const n02 = (a0 - a2) >>> 31;
      const n03 = (a0 - a3) >>> 31;
      const n12 = (a1 - a2) >>> 31;
      const n13 = (a1 - a3) >>> 31;
      const n23 = (a2 - a3) >>> 31;
      mask[i0] = (n01 + n02 + n03 - n) >>> 31;
      mask[i1] = (1 - n01 + n12 + n13 - n) >>> 31;
      mask[i2] = (2 - n02 - n12 + n23 - n) >>> 31;
      mask[i3] = (3 - n03 - n13 - n23 - n) >>> 31;
      acc |= (FINITE_MAX - a0) | (FINITE_MAX - a1) | (FINITE_MAX - a2) | (FINITE_MAX - a3);
    }
  }
  return acc;
}

/** M = 4 with Kh·Kw = 1 (1×1 convs, linear layers): blocks are 4 consecutive values. Same arithmetic as hard4. */
function hard4Contiguous(keys: Int32Array, mask: Uint8Array, start: number, end: number, n: number): number {
  let acc = 0;
  for (let i0 = start; i0 < end; i0 += 4) {
    const a0 = keys[i0] & MAGNITUDE_MASK;
    const a1 = keys[i0 + 1] & MAGNITUDE_MASK;
    const a2 = keys[i0 + 2] & MAGNITUDE_MASK;
    const a3 = keys[i0 + 3] & MAGNITUDE_MASK;
    const n01 = (a0 - a1) >>> 31;
    const n02 = (a0 - a2) >>> 31;
    const n03 = (a0 - a3) >>> 31;
    const n12 = (a1 - a2) >>> 31;
    const n13 = (a1 - a3) >>> 31;
    const n23 = (a2 - a3) >>> 31;
    mask[i0] = (n01 + n02 + n03 - n) >>> 31;
    mask[i0 + 1] = (1 - n01 + n12 + n13 - n) >>> 31;
    mask[i0 + 2] = (2 - n02 - n12 + n23 - n) >>> 31;
    mask[i0 + 3] = (3 - n03 - n13 - n23 - n) >>> 31;
    acc |= (FINITE_MAX - a0) | (FINITE_MAX - a1) | (FINITE_MAX - a2) | (FINITE_MAX - a3);
  }
  return acc;
}

/** M = 2 (so N = 1): keep the first unless the second is strictly larger. */
function hard2(keys: Int32Array, mask: Uint8Array, first: number, end: number, KK: number): number {
  const chunkLen = 2 * KK;
  let acc = 0;
  for (let c = first; c < end; c++) {
    const base = c * chunkLen;
    for (let p = 0; p < KK; p++) {
      const i0 = base + p;
      const i1 = i0 + KK;
      const a0 = keys[i0] & MAGNITUDE_MASK;
      const a1 = keys[i1] & MAGNITUDE_MASK;
      const keepFirst = 1 ^ ((a0 - a1) >>> 31);
      mask[i0] = keepFirst;
      mask[i1] = 1 - keepFirst;
      acc |= (FINITE_MAX - a0) | (FINITE_MAX - a1);
    }
  }
  return acc;
}

/**
 * Any M: copy the block's keys, select the N-th largest value v, keep everything above v and the first
 * (N − #above) members equal to v in channel order. Expected O(M) per block.
 */
function hardGeneric(keys: Int32Array, mask: Uint8Array, first: number, end: number, KK: number, n: number, m: number): number {
  const scratch = new Int32Array(m);
  let acc = 0;
  const chunkLen = m * KK;
  const rankFromBottom = m - n; // 0-based ascending index of the N-th largest
  for (let c = first; c < end; c++) {
    const base = c * chunkLen;
    for (let p = 0; p < KK; p++) {
      const first = base + p;
      for (let j = 0, idx = first; j < m; j++, idx += KK) {
        const a = keys[idx] & MAGNITUDE_MASK;
        scratch[j] = a;
        acc |= FINITE_MAX - a;
      }
      const v = quickselectInt32(scratch, 0, m, rankFromBottom);
      let above = 0;
      for (let j = rankFromBottom + 1; j < m; j++) if (scratch[j] > v) above++;
      let equalsToKeep = n - above;
      for (let j = 0, idx = first; j < m; j++, idx += KK) {
        const a = keys[idx] & MAGNITUDE_MASK;
        let keep = 0;
        if (a > v) keep = 1;
        else if (a === v && equalsToKeep > 0) {
          keep = 1;
          equalsToKeep--;
        }
        mask[idx] = keep;
      }
    }
  }
  return acc;
}

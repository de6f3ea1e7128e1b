/**
 * First pass of the soft mask over one filter row (all I·Kh·Kw weights of output o, contiguous in OIHW memory):
 * one read of each weight's magnitude key does everything that does not need a threshold yet.
 * - H: computed here for M = 4 (same rank arithmetic as `hardMask.ts`), or read from `hard` when given (dense
 *   blocks of the schedule, other M).
 * - The list of H = 1 indices, one region per kernel position: only those weights get soft terms (S = 0 where
 *   H = 0), so the second pass (`softLists.ts`) touches half of the weights at 2:4.
 * - The filter-axis bracket of `RankBoundary` (count below lo, append keys inside [lo, hi]), so the row's
 *   boundary needs no pass of its own.
 * - For Kh·Kw > 1, the position-axis brackets of all Kh·Kw positions, accumulated over the rows of the layer;
 *   the position rows are strided in memory, and collecting them here avoids a transposed copy of the keys.
 * Everything is branch-free: write always, advance a cursor by 0 or 1 (data-dependent branches mispredict on
 * half of random weights). Counters that outlive a call come back through `collected`.
 */
import { MAGNITUDE_MASK } from './canonicalWeight';
import { FINITE_MAX } from './hardMask';

/**
 * Results of the last collect call: keys below the filter bracket, keys appended, H = 1 count, and (when H is
 * computed here) a finiteness accumulator that is < 0 when a non-finite weight was seen (see FINITE_MAX).
 */
export const collected = { below: 0, nb: 0, count: 0, finite: 0 };

/**
 * Position-axis brackets of one layer, collected across its rows: position p appends its keys in [lo[p], hi[p]]
 * to `buf` at `cur[p]` (region p starts at p·(O·I + 1)) and counts the keys below lo[p] in `below[p]`.
 */
export class PositionBrackets {
  lo = new Int32Array(0);
  hi = new Int32Array(0);
  cur = new Int32Array(0);
  below = new Int32Array(0);
  buf = new Int32Array(0);
  regionLen = 0;

  reset(KK: number, OI: number): this {
    if (this.lo.length < KK) {
      this.lo = new Int32Array(KK);
      this.hi = new Int32Array(KK);
      this.cur = new Int32Array(KK);
      this.below = new Int32Array(KK);
    }
    this.regionLen = OI + 1; // + 1: the write-always slot after the last appended key
    if (this.buf.length < KK * this.regionLen) this.buf = new Int32Array(KK * this.regionLen);
    for (let p = 0; p < KK; p++) {
      this.cur[p] = p * this.regionLen;
      this.below[p] = 0;
    }
    return this;
  }

  release(): void {
    this.buf = new Int32Array(0);
  }

  /** Keys appended for position p. */
  count(p: number): number {
    return this.cur[p] - p * this.regionLen;
  }
}

/** M = 4, Kh·Kw = 1: blocks are 4 consecutive values; H = 1 indices go to `list[0, len/4·n)`. */
export function collect4Contiguous(
  keys: Int32Array, hard: Uint8Array, start: number, len: number, n: number,
  lo: number, hi: number, fbuf: Int32Array, list: Int32Array,
): void {
  let m = 0;
  let below = 0;
  let nb = 0;
  let acc = 0;
  for (let i0 = start, end = start + len; i0 < end; i0 += 4) {
    const a0 = keys[i0] & MAGNITUDE_MASK;
    const a1 = keys[i0 + 1] & MAGNITUDE_MASK;
    const a2 = keys[i0 + 2] & MAGNITUDE_MASK;
    const a3 = keys[i0 + 3] & MAGNITUDE_MASK;
    // H: see hard4 in hardMask.ts (rank_j < n, lower index wins ties).
    const n01 = (a0 - a1) >>> 31;
    const n02 = (a0 - a2) >>> 31;
    const n03 = (a0 - a3) >>> 31;
    const n12 = (a1 - a2) >>> 31;
    const n13 = (a1 - a3) >>> 31;
    const n23 = (a2 - a3) >>> 31;
    const h0 = (n01 + n02 + n03 - n) >>> 31;
    const h1 = (1 - n01 + n12 + n13 - n) >>> 31;
    const h2 = (2 - n02 - n12 + n23 - n) >>> 31;
    const h3 = (3 - n03 - n13 - n23 - n) >>> 31;
    hard[i0] = h0;
    hard[i0 + 1] = h1;
    hard[i0 + 2] = h2;
    hard[i0 + 3] = h3;
    list[m] = i0;
    m += h0;
    list[m] = i0 + 1;
    m += h1;
    list[m] = i0 + 2;
    m += h2;
    list[m] = i0 + 3;
    m += h3;
    // Filter bracket.
    below += ((a0 - lo) >>> 31) + ((a1 - lo) >>> 31) + ((a2 - lo) >>> 31) + ((a3 - lo) >>> 31);
    fbuf[nb] = a0;
    nb += 1 ^ (((a0 - lo) | (hi - a0)) >>> 31);
    fbuf[nb] = a1;
    nb += 1 ^ (((a1 - lo) | (hi - a1)) >>> 31);
    fbuf[nb] = a2;
    nb += 1 ^ (((a2 - lo) | (hi - a2)) >>> 31);
    fbuf[nb] = a3;
    nb += 1 ^ (((a3 - lo) | (hi - a3)) >>> 31);
    acc |= (FINITE_MAX - a0) | (FINITE_MAX - a1) | (FINITE_MAX - a2) | (FINITE_MAX - a3);
  }
  collected.below = below;
  collected.nb = nb;
  collected.count = m;
  collected.finite = acc;
}

/**
 * M = 4, Kh·Kw > 1. The row is I/4 chunks of 4·KK values; block (chunk, p) is at chunk + p + {0, 1, 2, 3}·KK.
 * Walks one position at a time (the row stays in L1), so the position's bracket state lives in locals. Exactly
 * n of every 4 are kept, so position p's H = 1 indices fill `list[listBase + p·(per + 1), … + per)` with
 * per = I/4·n.
 */
export function collect4Strided(
  keys: Int32Array, hard: Uint8Array, start: number, I: number, KK: number, n: number,
  lo: number, hi: number, fbuf: Int32Array, list: Int32Array, listBase: number, pos: PositionBrackets,
): void {
  const per = (I >> 2) * n;
  const step = 4 * KK;
  const end = start + I * KK;
  const pbuf = pos.buf;
  let below = 0;
  let nb = 0;
  let acc = 0;
  for (let p = 0; p < KK; p++) {
    const plo = pos.lo[p];
    const phi = pos.hi[p];
    let pb = 0;
    let pc = pos.cur[p];
    let m = listBase + p * (per + 1);
    for (let i0 = start + p; i0 < end; i0 += step) {
      const i1 = i0 + KK;
      const i2 = i1 + KK;
      const i3 = i2 + KK;
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
      const h0 = (n01 + n02 + n03 - n) >>> 31;
      const h1 = (1 - n01 + n12 + n13 - n) >>> 31;
      const h2 = (2 - n02 - n12 + n23 - n) >>> 31;
      const h3 = (3 - n03 - n13 - n23 - n) >>> 31;
      hard[i0] = h0;
      hard[i1] = h1;
      hard[i2] = h2;
      hard[i3] = h3;
      list[m] = i0;
      m += h0;
      list[m] = i1;
      m += h1;
      list[m] = i2;
      m += h2;
      list[m] = i3;
      m += h3;
      below += ((a0 - lo) >>> 31) + ((a1 - lo) >>> 31) + ((a2 - lo) >>> 31) + ((a3 - lo) >>> 31);
      fbuf[nb] = a0;
      nb += 1 ^ (((a0 - lo) | (hi - a0)) >>> 31);
      fbuf[nb] = a1;
      nb += 1 ^ (((a1 - lo) | (hi - a1)) >>> 31);
      fbuf[nb] = a2;
      nb += 1 ^ (((a2 - lo) | (hi - a2)) >>> 31);
      fbuf[nb] = a3;
      nb += 1 ^ (((a3 - lo) | (hi - a3)) >>> 31);
      pb += ((a0 - plo) >>> 31) + ((a1 - plo) >>> 31) + ((a2 - plo) >>> 31) + ((a3 - plo) >>> 31);
      pbuf[pc] = a0;
      pc += 1 ^ (((a0 - plo) | (phi - a0)) >>> 31);
      pbuf[pc] = a1;
      pc += 1 ^ (((a1 - plo) | (phi - a1)) >>> 31);
      pbuf[pc] = a2;
      pc += 1 ^ (((a2 - plo) | (phi - a2)) >>> 31);
      pbuf[pc] = a3;
      pc += 1 ^ (((a3 - plo) | (phi - a3)) >>> 31);
      acc |= (FINITE_MAX - a0) | (FINITE_MAX - a1) | (FINITE_MAX - a2) | (FINITE_MAX - a3);
    }
    pos.cur[p] = pc;
    pos.below[p] += pb;
  }
  collected.below = below;
  collected.nb = nb;
  collected.count = per;
  collected.finite = acc;
}

/**
 * H given, Kh·Kw = 1: H = 1 indices go to `list[0, count)`. The weights were checked finite with H. Unrolled by
 * four (the per-element work is small, loop overhead is not), with a tail for lengths that are no multiple of 4.
 */
export function collectGivenContiguous(
  keys: Int32Array, hard: Uint8Array, start: number, len: number,
  lo: number, hi: number, fbuf: Int32Array, list: Int32Array,
): void {
  let m = 0;
  let below = 0;
  let nb = 0;
  const end = start + len;
  let i = start;
  for (const end4 = end - 3; i < end4; i += 4) {
    const a0 = keys[i] & MAGNITUDE_MASK;
    const a1 = keys[i + 1] & MAGNITUDE_MASK;
    const a2 = keys[i + 2] & MAGNITUDE_MASK;
    const a3 = keys[i + 3] & MAGNITUDE_MASK;
    list[m] = i;
    m += hard[i];
    list[m] = i + 1;
    m += hard[i + 1];
    list[m] = i + 2;
    m += hard[i + 2];
    list[m] = i + 3;
    m += hard[i + 3];
    below += ((a0 - lo) >>> 31) + ((a1 - lo) >>> 31) + ((a2 - lo) >>> 31) + ((a3 - lo) >>> 31);
    fbuf[nb] = a0;
    nb += 1 ^ (((a0 - lo) | (hi - a0)) >>> 31);
    fbuf[nb] = a1;
    nb += 1 ^ (((a1 - lo) | (hi - a1)) >>> 31);
    fbuf[nb] = a2;
    nb += 1 ^ (((a2 - lo) | (hi - a2)) >>> 31);
    fbuf[nb] = a3;
    nb += 1 ^ (((a3 - lo) | (hi - a3)) >>> 31);
  }
  for (; i < end; i++) {
    const a = keys[i] & MAGNITUDE_MASK;
    list[m] = i;
    m += hard[i];
    below += (a - lo) >>> 31;
    fbuf[nb] = a;
    nb += 1 ^ (((a - lo) | (hi - a)) >>> 31);
  }
  collected.below = below;
  collected.nb = nb;
  collected.count = m;
  collected.finite = 0;
}

/**
 * H given, Kh·Kw > 1: position p's H = 1 indices go to `list[listBase + p·(I + 1), …)` and their number to
 * `counts[countBase + p]` (a position of one row has I weights, all of which may be kept in dense blocks).
 * Unrolled by four channels like `collectGivenContiguous`.
 */
export function collectGivenStrided(
  keys: Int32Array, hard: Uint8Array, start: number, I: number, KK: number,
  lo: number, hi: number, fbuf: Int32Array, list: Int32Array, listBase: number, pos: PositionBrackets,
  counts: Int32Array, countBase: number,
): void {
  const end = start + I * KK;
  const step = 4 * KK;
  const pbuf = pos.buf;
  let below = 0;
  let nb = 0;
  for (let p = 0; p < KK; p++) {
    const plo = pos.lo[p];
    const phi = pos.hi[p];
    let pb = 0;
    let pc = pos.cur[p];
    const first = listBase + p * (I + 1);
    let m = first;
    let i0 = start + p;
    for (const end4 = end - 3 * KK; i0 < end4; i0 += step) {
      const i1 = i0 + KK;
      const i2 = i1 + KK;
      const i3 = i2 + KK;
      const a0 = keys[i0] & MAGNITUDE_MASK;
      const a1 = keys[i1] & MAGNITUDE_MASK;
      const a2 = keys[i2] & MAGNITUDE_MASK;
      const a3 = keys[i3] & MAGNITUDE_MASK;
      list[m] = i0;
      m += hard[i0];
      list[m] = i1;
      m += hard[i1];
      list[m] = i2;
      m += hard[i2];
      list[m] = i3;
      m += hard[i3];
      below += ((a0 - lo) >>> 31) + ((a1 - lo) >>> 31) + ((a2 - lo) >>> 31) + ((a3 - lo) >>> 31);
      fbuf[nb] = a0;
      nb += 1 ^ (((a0 - lo) | (hi - a0)) >>> 31);
      fbuf[nb] = a1;
      nb += 1 ^ (((a1 - lo) | (hi - a1)) >>> 31);
      fbuf[nb] = a2;
      nb += 1 ^ (((a2 - lo) | (hi - a2)) >>> 31);
      fbuf[nb] = a3;
      nb += 1 ^ (((a3 - lo) | (hi - a3)) >>> 31);
      pb += ((a0 - plo) >>> 31) + ((a1 - plo) >>> 31) + ((a2 - plo) >>> 31) + ((a3 - plo) >>> 31);
      pbuf[pc] = a0;
      pc += 1 ^ (((a0 - plo) | (phi - a0)) >>> 31);
      pbuf[pc] = a1;
      pc += 1 ^ (((a1 - plo) | (phi - a1)) >>> 31);
      pbuf[pc] = a2;
      pc += 1 ^ (((a2 - plo) | (phi - a2)) >>> 31);
      pbuf[pc] = a3;
      pc += 1 ^ (((a3 - plo) | (phi - a3)) >>> 31);
    }
    for (; i0 < end; i0 += KK) {
      const a = keys[i0] & MAGNITUDE_MASK;
      list[m] = i0;
      m += hard[i0];
      below += (a - lo) >>> 31;
      fbuf[nb] = a;
      nb += 1 ^ (((a - lo) | (hi - a)) >>> 31);
      pb += (a - plo) >>> 31;
      pbuf[pc] = a;
      pc += 1 ^ (((a - plo) | (phi - a)) >>> 31);
    }
    counts[countBase + p] = m - first;
    pos.cur[p] = pc;
    pos.below[p] += pb;
  }
  collected.below = below;
  collected.nb = nb;
  collected.count = 0;
  collected.finite = 0;
}

/**
 * Per-filter-row kernels that write the soft mask S = fround(fround(1 + F) + P) · H for one row of OIHW memory
 * (all I·Kh·Kw weights of one output channel), once the row's filter-axis boundary and the layer's position-axis
 * boundaries are known.
 *
 * Scheme (all kernels without ties): a branch-free first pass sets S = H and appends the indices where H = 1 and
 * the weight is kept on an axis to an index list (write always, advance the cursor by 0 or 1); then only those
 * entries get the sigmoid from the table: S = fround(1 + F) for the filter list, then S = fround(S + P) per
 * kernel position. Roughly a third of the weights need each term at 2:4, and no data-dependent branch is taken,
 * since those mispredict on half the weights. Typed-array accesses are the main per-weight cost in V8, so the
 * fused kernels also compute H here (p = 0, M = 4) instead of reloading it from a separate pass.
 *
 * "Kept on an axis" without ties is `key > vk`, i.e. `(vk − key) >>> 31` on magnitude keys. Rows with ties at a
 * boundary go through `tiedRow`, which keeps equal boundary values in index order.
 */
import { MAGNITUDE_MASK } from './canonicalWeight';
import { FINITE_MAX } from './hardMask';
import { SIGMOID_LAST as LAST, SIGMOID_TABLE as TAB } from './sigmoid';
import { keptTerm, TERM_SCALE as SCALE } from './softTerm';
import { AxisRows } from './workspace';

/** S = fround(1 + F) on the listed indices (filter-kept, H = 1). */
function applyFilterList(data: Float32Array, soft: Float32Array, list: Int32Array, n: number, thr: number): void {
  for (let q = 0; q < n; q++) {
    const i = list[q];
    const t = Math.min((Math.abs(data[i]) - thr) * SCALE, LAST);
    const j = t | 0;
    const v = TAB[j];
    soft[i] = Math.fround(1 + Math.fround(v + (t - j) * (TAB[j + 1] - v)));
  }
}

/** S = fround(S + P) on each position's list (position-kept, H = 1); list p lives at [p·I, p·I + count[p]). */
function applyPositionLists(data: Float32Array, soft: Float32Array, list: Int32Array, count: Int32Array, I: number, KK: number, thrP: Float64Array): void {
  for (let p = 0; p < KK; p++) {
    const thr = thrP[p];
    for (let q = p * I, end = q + count[p]; q < end; q++) {
      const i = list[q];
      const t = Math.min((Math.abs(data[i]) - thr) * SCALE, LAST);
      const j = t | 0;
      const v = TAB[j];
      soft[i] = Math.fround(soft[i] + Math.fround(v + (t - j) * (TAB[j + 1] - v)));
    }
  }
}

/** 1×1 / linear row with H given. */
export function filterOnlyRow(
  keys: Int32Array, data: Float32Array, hard: Uint8Array, soft: Float32Array,
  start: number, len: number, vk: number, thr: number, list: Int32Array,
): void {
  let n = 0;
  for (let i = start, end = start + len; i < end; i++) {
    const h = hard[i];
    soft[i] = h;
    list[n] = i;
    n += h & ((vk - (keys[i] & MAGNITUDE_MASK)) >>> 31);
  }
  applyFilterList(data, soft, list, n, thr);
}

/** Row with a position axis and H given. */
export function bothAxesRow(
  keys: Int32Array, data: Float32Array, hard: Uint8Array, soft: Float32Array,
  start: number, I: number, KK: number, vkF: number, thrF: number, vkP: Int32Array, thrP: Float64Array,
  listF: Int32Array, listP: Int32Array, countP: Int32Array,
): void {
  let nF = 0;
  for (let p = 0; p < KK; p++) {
    // Position p of this row: channels c = 0..I−1 at offsets start + c·KK + p.
    const vp = vkP[p];
    let nP = p * I;
    for (let c = 0, i = start + p; c < I; c++, i += KK) {
      const key = keys[i] & MAGNITUDE_MASK;
      const h = hard[i];
      soft[i] = h;
      listF[nF] = i;
      nF += h & ((vkF - key) >>> 31);
      listP[nP] = i;
      nP += h & ((vp - key) >>> 31);
    }
    countP[p] = nP - p * I;
  }
  applyFilterList(data, soft, listF, nF, thrF);
  applyPositionLists(data, soft, listP, countP, I, KK, thrP);
}

/**
 * 1×1 / linear row, M = 4, H computed here (same rank arithmetic as `hard4Contiguous` in hardMask.ts). Returns the
 * finiteness accumulator (< 0 when a non-finite weight was seen).
 */
export function fusedRow4(
  keys: Int32Array, data: Float32Array, hard: Uint8Array, soft: Float32Array,
  start: number, len: number, n: number, vk: number, thr: number, list: Int32Array,
): number {
  let m = 0;
  let acc = 0;
  for (let i0 = start, end = start + len; i0 < end; i0 += 4) {
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
    const h0 = (n01 + n02 + n03 - n) >>> 31;
    const h1 = (1 - n01 + n12 + n13 - n) >>> 31;
    const h2 = (2 - n02 - n12 + n23 - n) >>> 31;
    const h3 = (3 - n03 - n13 - n23 - n) >>> 31;
    hard[i0] = h0;
    hard[i0 + 1] = h1;
    hard[i0 + 2] = h2;
    hard[i0 + 3] = h3;
    soft[i0] = h0;
    soft[i0 + 1] = h1;
    soft[i0 + 2] = h2;
    soft[i0 + 3] = h3;
    list[m] = i0;
    m += h0 & ((vk - a0) >>> 31);
    list[m] = i0 + 1;
    m += h1 & ((vk - a1) >>> 31);
    list[m] = i0 + 2;
    m += h2 & ((vk - a2) >>> 31);
    list[m] = i0 + 3;
    m += h3 & ((vk - a3) >>> 31);
    acc |= (FINITE_MAX - a0) | (FINITE_MAX - a1) | (FINITE_MAX - a2) | (FINITE_MAX - a3);
  }
  applyFilterList(data, soft, list, m, thr);
  return acc;
}

/**
 * Row with a position axis, M = 4, H computed here (same rank arithmetic as `hard4`). The row is I/4 chunks of
 * 4·KK values; block (chunk, p) is at chunk + p + {0, 1, 2, 3}·KK. Returns the finiteness accumulator.
 */
export function fusedRow4Strided(
  keys: Int32Array, data: Float32Array, hard: Uint8Array, soft: Float32Array,
  start: number, I: number, KK: number, n: number, vkF: number, thrF: number, vkP: Int32Array, thrP: Float64Array,
  listF: Int32Array, listP: Int32Array, countP: Int32Array,
): number {
  let nF = 0;
  let acc = 0;
  for (let p = 0; p < KK; p++) countP[p] = p * I; // list cursors
  const chunkLen = 4 * KK;
  for (let base = start, end = start + I * KK; base < end; base += chunkLen) {
    for (let p = 0; p < KK; p++) {
      const i0 = base + p;
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
      soft[i0] = h0;
      soft[i1] = h1;
      soft[i2] = h2;
      soft[i3] = h3;
      listF[nF] = i0;
      nF += h0 & ((vkF - a0) >>> 31);
      listF[nF] = i1;
      nF += h1 & ((vkF - a1) >>> 31);
      listF[nF] = i2;
      nF += h2 & ((vkF - a2) >>> 31);
      listF[nF] = i3;
      nF += h3 & ((vkF - a3) >>> 31);
      const vp = vkP[p];
      let nP = countP[p];
      listP[nP] = i0;
      nP += h0 & ((vp - a0) >>> 31);
      listP[nP] = i1;
      nP += h1 & ((vp - a1) >>> 31);
      listP[nP] = i2;
      nP += h2 & ((vp - a2) >>> 31);
      listP[nP] = i3;
      nP += h3 & ((vp - a3) >>> 31);
      countP[p] = nP;
      acc |= (FINITE_MAX - a0) | (FINITE_MAX - a1) | (FINITE_MAX - a2) | (FINITE_MAX - a3);
    }
  }
  for (let p = 0; p < KK; p++) countP[p] -= p * I;
  applyFilterList(data, soft, listF, nF, thrF);
  applyPositionLists(data, soft, listP, countP, I, KK, thrP);
  return acc;
}

/**
 * Scalar path for rows with ties at a boundary (either axis), H given: equal boundary values are kept in index
 * order until `keepEq` of them have been kept, the rest (the higher indices) are dropped. Position-row counters
 * live in `pos.seen` and persist across filter rows, which are visited in ascending index order.
 */
export function tiedRow(
  keys: Int32Array, data: Float32Array, hard: Uint8Array, soft: Float32Array,
  start: number, I: number, KK: number, vkF: number, thrF: number, keepEqF: number, pos: AxisRows | null,
): void {
  let seenF = 0;
  let i = start;
  for (let c = 0; c < I; c++) {
    for (let p = 0; p < KK; p++, i++) {
      const key = keys[i] & MAGNITUDE_MASK;
      const a = Math.abs(data[i]);
      const keptF = key > vkF || (key === vkF && seenF++ < keepEqF);
      const f = keptF ? keptTerm(a, thrF) : 0;
      let q = 0;
      if (pos !== null) {
        const vkP = pos.vk[p];
        const keptP = key > vkP || (key === vkP && pos.seen[p]++ < pos.keepEq[p]);
        q = keptP ? keptTerm(a, pos.thr[p]) : 0;
      }
      soft[i] = Math.fround(Math.fround(1 + f) + q) * hard[i];
    }
  }
}

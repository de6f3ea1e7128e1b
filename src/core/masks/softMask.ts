/**
 * MaxQ soft multi-axis query terms (spec §5) and the soft mask S = H ⊙ ((1 + F) + P).
 *
 * Each axis row (a filter: all I·Kh·Kw weights of output o; a kernel position: all O·I weights at (h, w), only
 * when Kh·Kw > 1) drops its k = max(1, floor(drop·L)) smallest magnitudes — on equal |w| the higher flat index
 * is dropped first — and gives every kept weight σ((|w| − thr)/τ), with thr the midpoint between the largest
 * dropped and the smallest kept magnitude and τ = 0.01.
 *
 * Two entry points over the same arithmetic:
 * - `softMask` is the hot path used every training step and at export: per filter row it finds the boundary
 *   (`RankBoundary`, linear time) and writes S for the row while it is still in cache; the F and P values are
 *   computed branch-free for every element and multiplied by 0/1 flags instead of being skipped, because a
 *   data-dependent branch mispredicts on half the weights and costs more than the arithmetic.
 * - `axisTerms` returns F and P themselves (inspection, reference-vector tests).
 * Both round F and P to fp32 and evaluate S = fround(fround(1 + F) + P) · H, the reference's fp32 order, so
 * `softMask` equals the composition of `axisTerms` bit for bit.
 *
 * Ties at a row's boundary (several weights with the boundary magnitude) are rare; rows that have them take a
 * scalar path that counts equal values in index order (keep the lower indices, drop the higher ones).
 */
import { usageError } from '../errors';
import { CanonicalWeight, keyToFloat, MAGNITUDE_MASK, magnitudeKeys } from './canonicalWeight';
import { assertGroupable } from './hardMask';
import { NmPattern } from './nmPattern';
import { RankBoundary } from './rankBoundary';
import { SIGMOID_LAST, SIGMOID_STEPS, SIGMOID_TABLE } from './sigmoid';
import { AxisRows, defaultWorkspace, MaskWorkspace } from './workspace';

/** τ of spec §5: absolute, in weight units, hard-coded in the reference. */
export const SOFT_TAU = 0.01;

/** (|w| − thr) times this is the sigmoid-table coordinate z·SIGMOID_STEPS with z = (|w| − thr)/τ. */
const SCALE = SIGMOID_STEPS / SOFT_TAU;
const LAST = SIGMOID_LAST;
const TAB = SIGMOID_TABLE;

export interface AxisTerms {
  /** F: filter-axis term of every weight (canonical OIHW order). */
  filter: Float32Array;
  /** P: kernel-position term; all zeros when Kh·Kw = 1. */
  position: Float32Array;
  filterTopk: number;
  positionTopk: number | null;
}

export interface SoftMaskResult {
  soft: Float32Array;
  filterTopk: number;
  positionTopk: number | null;
}

/** k of spec §5: max(1, floor(drop·L)) with the double product, for parity with the reference. */
export function topkDropped(drop: number, rowLength: number): number {
  return Math.max(1, Math.floor(drop * rowLength));
}

/** The term of a kept weight of magnitude `a` in a row with threshold `thr`: fround(σ((a − thr)/τ)). */
export function keptTerm(a: number, thr: number): number {
  let t = Math.min((a - thr) * SCALE, LAST);
  if (!(t >= 0)) t = 0;
  const j = t | 0;
  const f = t - j;
  const v = TAB[j];
  return Math.fround(v + f * (TAB[j + 1] - v));
}

/** F and P for every weight. */
export function axisTerms(w: CanonicalWeight, pattern: NmPattern, ws: MaskWorkspace = defaultWorkspace()): AxisTerms {
  assertGroupable(w, pattern);
  const keys = magnitudeKeys(w.data);
  const data = w.data;
  const KK = w.Kh * w.Kw;
  const LF = w.I * KK;
  const filterTopk = topkDropped(pattern.drop, LF);
  const filter = new Float32Array(data.length);
  const position = new Float32Array(data.length);

  const rows = ws.filterRows.ensure(w.O);
  const b = ws.filterBoundary;
  b.resetHint();
  for (let o = 0; o < w.O; o++) {
    b.find(keys, o * LF, LF, filterTopk);
    setRow(rows, o, b, filterTopk);
  }
  for (let o = 0; o < w.O; o++) {
    const vk = rows.vk[o];
    const thr = rows.thr[o];
    const keepEq = rows.keepEq[o];
    let seen = 0;
    for (let i = o * LF, end = i + LF; i < end; i++) {
      const key = keys[i] & MAGNITUDE_MASK;
      const kept = key > vk || (key === vk && seen++ < keepEq);
      filter[i] = kept ? keptTerm(Math.abs(data[i]), thr) : 0;
    }
  }

  let positionTopk: number | null = null;
  if (KK > 1) {
    positionTopk = topkDropped(pattern.drop, w.O * w.I);
    const pos = positionAxis(keys, w.O, w.I, KK, positionTopk, ws);
    for (let oi = 0, i = 0; oi < w.O * w.I; oi++) {
      for (let p = 0; p < KK; p++, i++) {
        const key = keys[i] & MAGNITUDE_MASK;
        const vk = pos.vk[p];
        const kept = key > vk || (key === vk && pos.seen[p]++ < pos.keepEq[p]);
        position[i] = kept ? keptTerm(Math.abs(data[i]), pos.thr[p]) : 0;
      }
    }
  }
  return { filter, position, filterTopk, positionTopk };
}

/**
 * S = H ⊙ ((1 + F) + P) for `hard` (already including any dense blocks). Writes into `out` when given.
 */
export function softMask(
  w: CanonicalWeight,
  pattern: NmPattern,
  hard: Uint8Array,
  out?: Float32Array,
  ws: MaskWorkspace = defaultWorkspace(),
): SoftMaskResult {
  assertGroupable(w, pattern);
  const data = w.data;
  const total = data.length;
  if (hard.length !== total) throw usageError(`hard mask has ${hard.length} entries, weight has ${total}`);
  const soft = out ?? new Float32Array(total);
  if (soft.length !== total) throw usageError(`soft mask buffer has ${soft.length} entries, weight has ${total}`);
  const keys = magnitudeKeys(data);
  const KK = w.Kh * w.Kw;
  const LF = w.I * KK;
  const filterTopk = topkDropped(pattern.drop, LF);

  let positionTopk: number | null = null;
  let pos: AxisRows | null = null;
  let posTied = false;
  if (KK > 1) {
    positionTopk = topkDropped(pattern.drop, w.O * w.I);
    pos = positionAxis(keys, w.O, w.I, KK, positionTopk, ws);
    for (let p = 0; p < KK; p++) if (pos.keepEq[p] !== 0) posTied = true;
  }

  const listF = ws.rowList(0, LF);
  const listP = ws.rowList(1, LF);
  const countP = ws.positionCounts(KK);
  const b = ws.filterBoundary;
  b.resetHint();
  for (let o = 0; o < w.O; o++) {
    const start = o * LF;
    b.find(keys, start, LF, filterTopk);
    const vk = b.vk;
    const thr = midpoint(b.vk, b.vk1);
    const keepEq = b.countLE - filterTopk;
    if (pos === null) {
      if (keepEq === 0) filterOnlyRow(keys, data, hard, soft, start, LF, vk, thr, listF);
      else tiedRow(keys, data, hard, soft, start, w.I, 1, vk, thr, keepEq, null);
    } else if (keepEq === 0 && !posTied) {
      bothAxesRow(keys, data, hard, soft, start, w.I, KK, vk, thr, pos.vk, pos.thr, listF, listP, countP);
    } else {
      tiedRow(keys, data, hard, soft, start, w.I, KK, vk, thr, keepEq, pos);
    }
  }
  return { soft, filterTopk, positionTopk };
}

function midpoint(vk: number, vk1: number): number {
  return (keyToFloat(vk) + keyToFloat(vk1)) / 2;
}

function setRow(rows: AxisRows, r: number, b: RankBoundary, k: number): void {
  rows.vk[r] = b.vk;
  rows.thr[r] = midpoint(b.vk, b.vk1);
  rows.keepEq[r] = b.countLE - k;
}

/**
 * Boundaries of the Kh·Kw position rows. The rows are strided in OIHW memory, so the keys are first copied into
 * one contiguous run per position (one sequential pass), which keeps the selection passes cache-friendly.
 */
function positionAxis(keys: Int32Array, O: number, I: number, KK: number, k: number, ws: MaskWorkspace): AxisRows {
  const OI = O * I;
  const pk = ws.positionKeys(OI * KK);
  for (let oi = 0, i = 0; oi < OI; oi++) {
    for (let p = 0, dst = oi; p < KK; p++, i++, dst += OI) pk[dst] = keys[i] & MAGNITUDE_MASK;
  }
  const rows = ws.positionRows.ensure(KK);
  const b = ws.positionBoundary;
  b.resetHint();
  for (let p = 0; p < KK; p++) {
    b.find(pk, p * OI, OI, k);
    setRow(rows, p, b, k);
  }
  return rows;
}

/**
 * 1×1 / linear rows without boundary ties. First pass (branch-free): S = H, and the indices where H = 1 and the
 * weight is kept on the filter axis are appended to `list`. Second pass: only those get the sigmoid,
 * S = fround(1 + F). About a third of the weights need it at 2:4, so the table lookups drop accordingly.
 */
function filterOnlyRow(
  keys: Int32Array, data: Float32Array, hard: Uint8Array, soft: Float32Array,
  start: number, len: number, vk: number, thr: number, list: Int32Array,
): void {
  let n = 0;
  for (let i = start, end = start + len; i < end; i++) {
    const h = hard[i];
    soft[i] = h;
    list[n] = i;
    n += h & ((vk - (keys[i] & MAGNITUDE_MASK)) >>> 31); // H = 1 and key > vk
  }
  for (let q = 0; q < n; q++) {
    const i = list[q];
    const t = Math.min((Math.abs(data[i]) - thr) * SCALE, LAST);
    const j = t | 0;
    const v = TAB[j];
    soft[i] = Math.fround(1 + Math.fround(v + (t - j) * (TAB[j + 1] - v)));
  }
}

/**
 * Rows with a position axis and no boundary ties on either axis. Same scheme: S = H, then S = fround(1 + F) on
 * the filter-kept list, then S = fround(S + P) on each position's kept list (one list per kernel position, so
 * its threshold is a loop constant). Evaluates fround(fround(1 + F) + P) · H exactly like the scalar path.
 */
function bothAxesRow(
  keys: Int32Array, data: Float32Array, hard: Uint8Array, soft: Float32Array,
  start: number, I: number, KK: number, vkF: number, thrF: number, vkP: Int32Array, thrP: Float64Array,
  listF: Int32Array, listP: Int32Array, countP: Int32Array,
): void {
  let nF = 0;
  for (let p = 0; p < KK; p++) {
    // Position p of this row: channels c = 0..I−1 at offsets start + c·KK + p; its list lives at [p·I, (p+1)·I).
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
  for (let q = 0; q < nF; q++) {
    const i = listF[q];
    const t = Math.min((Math.abs(data[i]) - thrF) * SCALE, LAST);
    const j = t | 0;
    const v = TAB[j];
    soft[i] = Math.fround(1 + Math.fround(v + (t - j) * (TAB[j + 1] - v)));
  }
  for (let p = 0; p < KK; p++) {
    const thr = thrP[p];
    for (let q = p * I, end = q + countP[p]; q < end; q++) {
      const i = listP[q];
      const t = Math.min((Math.abs(data[i]) - thr) * SCALE, LAST);
      const j = t | 0;
      const v = TAB[j];
      soft[i] = Math.fround(soft[i] + Math.fround(v + (t - j) * (TAB[j + 1] - v)));
    }
  }
}

/**
 * Scalar path for rows with ties at a boundary (either axis): equal boundary values are kept in index order
 * until `keepEq` of them have been kept, the rest (the higher indices) are dropped. Position-row counters live
 * in `pos.seen` and persist across filter rows, which are visited in ascending index order.
 */
function tiedRow(
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

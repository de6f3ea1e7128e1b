/**
 * MaxQ soft multi-axis query terms (spec §5) and the soft mask S = H ⊙ ((1 + F) + P).
 *
 * Each axis row (a filter: all I·Kh·Kw weights of output o; a kernel position: all O·I weights at (h, w), only
 * when Kh·Kw > 1) drops its k = max(1, floor(drop·L)) smallest magnitudes — on equal |w| the higher flat index
 * is dropped first — and gives every kept weight σ((|w| − thr)/τ), with thr the midpoint between the largest
 * dropped and the smallest kept magnitude and τ = 0.01.
 *
 * Entry points over the same arithmetic:
 * - `softMask`: S for a given H (which may include schedule-dense blocks). Per filter row it finds the boundary
 *   (`RankBoundary`, linear time) and runs a row kernel (`softRows.ts`) while the row is in cache.
 * - `maxqMasks`: H and S together for p = 0 (export, and every step after the decay window); for M = 4 the row
 *   kernels compute H themselves, saving a pass over the weights.
 * - `axisTerms`: F and P themselves (inspection, reference-vector tests).
 * All round F and P to fp32 and evaluate S = fround(fround(1 + F) + P) · H, the reference's fp32 order, so the
 * fast paths equal the composition of `axisTerms` bit for bit.
 */
import { usageError } from '../errors';
import { assertCanonicalShape, assertFiniteWeight, CanonicalWeight, keyToFloat, MAGNITUDE_MASK, magnitudeKeys } from './canonicalWeight';
import { assertGroupable, hardChunks, hardNmMask } from './hardMask';
import { NmPattern } from './nmPattern';
import { RankBoundary } from './rankBoundary';
import { bothAxesRow, filterOnlyRow, fusedRow4, fusedRow4Strided, tiedRow } from './softRows';
import { keptTerm, topkDropped } from './softTerm';
import { AxisRows, defaultWorkspace, MaskWorkspace } from './workspace';

export { keptTerm, SOFT_TAU, topkDropped } from './softTerm';

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

export interface MaxqMasks extends SoftMaskResult {
  hard: Uint8Array;
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
 * S = H ⊙ ((1 + F) + P) for a given `hard` (already including any dense blocks). Writes into `out` when given.
 * The weights are assumed finite: `hardNmMask`, which produced `hard`, has checked them.
 */
export function softMask(
  w: CanonicalWeight,
  pattern: NmPattern,
  hard: Uint8Array,
  out?: Float32Array,
  ws: MaskWorkspace = defaultWorkspace(),
): SoftMaskResult {
  assertGroupable(w, pattern);
  const total = w.data.length;
  if (hard.length !== total) throw usageError(`hard mask has ${hard.length} entries, weight has ${total}`);
  const soft = outBuffer(out, total);
  const { filterTopk, positionTopk } = runRows(w, pattern, hard, soft, ws, false);
  return { soft, filterTopk, positionTopk };
}

/**
 * H (plain N:M, no dense blocks) and S together, as computed at p = 0. Rejects non-finite weights naming `name`.
 * Equal to `hardNmMask` followed by `softMask`, in one pass less for M = 4.
 */
export function maxqMasks(
  w: CanonicalWeight,
  pattern: NmPattern,
  hardOut?: Uint8Array,
  softOut?: Float32Array,
  ws: MaskWorkspace = defaultWorkspace(),
  name?: string,
): MaxqMasks {
  if (pattern.m !== 4) {
    const hard = hardNmMask(w, pattern, hardOut, name);
    return { hard, ...softMask(w, pattern, hard, softOut, ws) };
  }
  assertCanonicalShape(w, name);
  assertGroupable(w, pattern, name);
  const total = w.data.length;
  const hard = hardOut ?? new Uint8Array(total);
  if (hard.length !== total) throw usageError(`hard mask buffer has ${hard.length} entries, weight has ${total}`);
  const soft = outBuffer(softOut, total);
  const r = runRows(w, pattern, hard, soft, ws, true);
  if (r.finite < 0) assertFiniteWeight(w, name);
  return { hard, soft, filterTopk: r.filterTopk, positionTopk: r.positionTopk };
}

function outBuffer(out: Float32Array | undefined, total: number): Float32Array {
  const soft = out ?? new Float32Array(total);
  if (soft.length !== total) throw usageError(`soft mask buffer has ${soft.length} entries, weight has ${total}`);
  return soft;
}

/**
 * The row loop shared by `softMask` (H given) and `maxqMasks` (computeHard: H written here, M = 4). Returns the
 * k of both axes and the finiteness accumulator (< 0 when computeHard saw a non-finite weight).
 */
function runRows(
  w: CanonicalWeight, pattern: NmPattern, hard: Uint8Array, soft: Float32Array, ws: MaskWorkspace, computeHard: boolean,
): { filterTopk: number; positionTopk: number | null; finite: number } {
  const data = w.data;
  const keys = magnitudeKeys(data);
  const KK = w.Kh * w.Kw;
  const LF = w.I * KK;
  const G = w.I / pattern.m;
  const n = pattern.n;
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
  let finite = 0;
  for (let o = 0; o < w.O; o++) {
    const start = o * LF;
    b.find(keys, start, LF, filterTopk);
    const vk = b.vk;
    const thr = midpoint(b.vk, b.vk1);
    const keepEq = b.countLE - filterTopk;
    if (keepEq !== 0 || posTied) {
      if (computeHard) finite |= hardChunks(keys, hard, o * G, (o + 1) * G, KK, n, pattern.m);
      tiedRow(keys, data, hard, soft, start, w.I, KK, vk, thr, keepEq, pos);
    } else if (pos === null) {
      if (computeHard) finite |= fusedRow4(keys, data, hard, soft, start, LF, n, vk, thr, listF);
      else filterOnlyRow(keys, data, hard, soft, start, LF, vk, thr, listF);
    } else if (computeHard) {
      finite |= fusedRow4Strided(keys, data, hard, soft, start, w.I, KK, n, vk, thr, pos.vk, pos.thr, listF, listP, countP);
    } else {
      bothAxesRow(keys, data, hard, soft, start, w.I, KK, vk, thr, pos.vk, pos.thr, listF, listP, countP);
    }
  }
  return { filterTopk, positionTopk, finite };
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


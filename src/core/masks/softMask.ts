/**
 * MaxQ soft multi-axis query terms (spec §5) and the soft mask S = H ⊙ ((1 + F) + P).
 *
 * Each axis row (a filter: all I·Kh·Kw weights of output o; a kernel position: all O·I weights at (h, w), only
 * when Kh·Kw > 1) drops its k = max(1, floor(drop·L)) smallest magnitudes — on equal |w| the higher flat index
 * is dropped first — and gives every kept weight σ((|w| − thr)/τ), with thr the midpoint between the largest
 * dropped and the smallest kept magnitude and τ = 0.01.
 *
 * Entry points over the same arithmetic:
 * - `softMask`: S for a given H (which may include schedule-dense blocks).
 * - `maxqMasks`: H and S together for p = 0 (export, and every step after the decay window); for M = 4 the first
 *   pass computes H itself.
 * - `axisTerms` (axisTerms.ts): F and P themselves (inspection, reference-vector tests).
 * All evaluate S = fround(fround(1 + F) + P) · H with F and P rounded to fp32, the reference's fp32 order, so the
 * fast paths equal the composition of `axisTerms` bit for bit.
 *
 * Two passes per layer, no sort and no transposed copy (a ResNet-50 is ~23M weights, masked at every step):
 * 1. Per filter row, one read of the keys (`collectRows.ts`) writes H, lists the H = 1 weights and collects the
 *    bracket of the row's filter boundary and, across rows, of every kernel position's boundary. The row's
 *    boundary is then resolved from its small bracket (`RankBoundary.resolve`).
 * 2. Once the thresholds are known, only the listed weights get their terms (`softLists.ts`). In rows with a tie
 *    at a boundary (either axis), the weights of the tied magnitude are then rewritten by `fixTiedWeights`, which
 *    applies the index-order tie rule.
 * 1×1 layers have no position axis, so pass 2 follows pass 1 row by row while the row is in cache.
 */
import { usageError } from '../errors';
import { assertCanonicalShape, assertFiniteWeight, CanonicalWeight, MAGNITUDE_MASK, magnitudeKeys } from './canonicalWeight';
import { collect4Contiguous, collect4Strided, collected, collectGivenContiguous, collectGivenStrided, PositionBrackets } from './collectRows';
import { assertGroupable, hardNmMask } from './hardMask';
import { NmPattern } from './nmPattern';
import { RankBoundary } from './rankBoundary';
import { listTermsF, listTermsFP } from './softLists';
import { fixTiedWeights } from './tiedRows';
import { thresholdOf, topkDropped } from './softTerm';
import { AxisRows, defaultWorkspace, MaskWorkspace } from './workspace';

export { keptTerm, SOFT_TAU, topkDropped } from './softTerm';
export { axisTerms, AxisTerms } from './axisTerms';

export interface SoftMaskResult {
  soft: Float32Array;
  filterTopk: number;
  positionTopk: number | null;
}

export interface MaxqMasks extends SoftMaskResult {
  hard: Uint8Array;
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
  const { filterTopk, positionTopk } = runLayer(w, pattern, hard, soft, ws, false);
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
  const r = runLayer(w, pattern, hard, soft, ws, true);
  if (r.finite < 0) assertFiniteWeight(w, name);
  return { hard, soft, filterTopk: r.filterTopk, positionTopk: r.positionTopk };
}

function outBuffer(out: Float32Array | undefined, total: number): Float32Array {
  const soft = out ?? new Float32Array(total);
  if (soft.length !== total) throw usageError(`soft mask buffer has ${soft.length} entries, weight has ${total}`);
  return soft;
}

interface LayerResult {
  filterTopk: number;
  positionTopk: number | null;
  /** < 0 when computeHard saw a non-finite weight (given H implies checked weights). */
  finite: number;
}

/** Both passes for one layer; computeHard (M = 4 only) writes H in pass 1, otherwise `hard` is read. */
function runLayer(
  w: CanonicalWeight, pattern: NmPattern, hard: Uint8Array, soft: Float32Array, ws: MaskWorkspace, computeHard: boolean,
): LayerResult {
  const KK = w.Kh * w.Kw;
  const filterTopk = topkDropped(pattern.drop, w.I * KK);
  if (KK === 1) return { filterTopk, positionTopk: null, finite: runFilterOnly(w, pattern.n, hard, soft, ws, computeHard, filterTopk) };
  const positionTopk = topkDropped(pattern.drop, w.O * w.I);
  return { filterTopk, positionTopk, finite: runBothAxes(w, pattern.n, hard, soft, ws, computeHard, filterTopk, positionTopk) };
}

/** 1×1 / linear: both passes per row. */
function runFilterOnly(
  w: CanonicalWeight, n: number, hard: Uint8Array, soft: Float32Array, ws: MaskWorkspace, computeHard: boolean, k: number,
): number {
  const { data, I } = w;
  const keys = magnitudeKeys(data);
  const fbuf = ws.filterBracket(I + 1);
  const list = ws.softList(I + 1);
  const b = ws.filterBoundary;
  b.resetHint();
  let finite = 0;
  for (let o = 0, start = 0; o < w.O; o++, start += I) {
    b.guess(I, k, keys, start);
    if (computeHard) collect4Contiguous(keys, hard, start, I, n, b.lo, b.hi, fbuf, list);
    else collectGivenContiguous(keys, hard, start, I, b.lo, b.hi, fbuf, list);
    finite |= collected.finite;
    const count = collected.count;
    resolveRow(b, fbuf, keys, start, I, k);
    const keepEq = b.countLE - k;
    const thr = thresholdOf(b.vk, b.vk1);
    soft.fill(0, start, start + I);
    listTermsF(data, soft, list, 0, count, thr);
    if (keepEq !== 0) fixTiedWeights(keys, data, hard, soft, start, I, 1, b.vk, thr, keepEq, null);
  }
  return finite;
}

/** Kh·Kw > 1: pass 1 over all rows (the position thresholds need the whole layer), then pass 2. */
function runBothAxes(
  w: CanonicalWeight, n: number, hard: Uint8Array, soft: Float32Array, ws: MaskWorkspace, computeHard: boolean,
  kF: number, kP: number,
): number {
  const { data, O, I } = w;
  const KK = w.Kh * w.Kw;
  const LF = I * KK;
  const OI = O * I;
  const keys = magnitudeKeys(data);
  // Per row and position, the H = 1 list holds exactly I/4·n entries when H is computed here (M = 4), and up to
  // I when it is given; + 1 for the write-always slot.
  const region = computeHard ? (I >> 2) * n + 1 : I + 1;
  const list = ws.softList(O * KK * region);
  const counts = ws.listCounts(computeHard ? 0 : O * KK);
  const fbuf = ws.filterBracket(LF + 1);
  const pos = startPositionBrackets(keys, KK, OI, kP, ws);

  const rows = ws.filterRows.ensure(O);
  const b = ws.filterBoundary;
  b.resetHint();
  let finite = 0;
  for (let o = 0, start = 0; o < O; o++, start += LF) {
    b.guess(LF, kF, keys, start);
    if (computeHard) collect4Strided(keys, hard, start, I, KK, n, b.lo, b.hi, fbuf, list, o * KK * region, pos);
    else collectGivenStrided(keys, hard, start, I, KK, b.lo, b.hi, fbuf, list, o * KK * region, pos, counts, o * KK);
    finite |= collected.finite;
    resolveRow(b, fbuf, keys, start, LF, kF);
    rows.set(o, b, kF);
  }
  const posRows = resolvePositions(keys, KK, OI, kP, pos, ws);
  const posTiedRows = rowsAtPositionTies(keys, O, I, KK, posRows);

  soft.fill(0);
  const perPosition = computeHard ? (I >> 2) * n : -1; // < 0: the counts of collectGivenStrided
  for (let o = 0, start = 0; o < O; o++, start += LF) {
    listTermsFP(data, soft, list, o * KK * region, region, KK, perPosition, counts, o * KK, rows.thr[o], posRows.thr);
    if (rows.keepEq[o] !== 0 || (posTiedRows !== null && posTiedRows[o] !== 0)) {
      fixTiedWeights(keys, data, hard, soft, start, I, KK, rows.vk[o], rows.thr[o], rows.keepEq[o], posRows);
    }
  }
  return finite;
}

/**
 * Where a kernel position's boundary is tied (some weights of magnitude equal to the boundary kept, some
 * dropped), the filter rows holding such a weight at that position: only they need the scalar tie rule, whose
 * per-position counters see the tied weights in index order. Every other weight is kept or dropped on that axis
 * by its magnitude alone, as the fast kernel decides. null when no position is tied. (A 512×512 position row holds
 * 262k weights, so a tie at its boundary is not rare: sending every row of the layer down the scalar path then
 * made its masks 2.3× slower.)
 */
function rowsAtPositionTies(keys: Int32Array, O: number, I: number, KK: number, posRows: AxisRows): Uint8Array | null {
  let flags: Uint8Array | null = null;
  const LF = I * KK;
  for (let p = 0; p < KK; p++) {
    if (posRows.keepEq[p] === 0) continue;
    flags ??= new Uint8Array(O);
    const vk = posRows.vk[p];
    for (let o = 0, start = p; o < O; o++, start += LF) {
      for (let c = 0, i = start; c < I; c++, i += KK) {
        if ((keys[i] & MAGNITUDE_MASK) === vk) {
          flags[o] = 1;
          break;
        }
      }
    }
  }
  return flags;
}

/** The boundary of a row whose bracket was collected into `fbuf`; on a bracket miss, a full `find`. */
function resolveRow(b: RankBoundary, fbuf: Int32Array, keys: Int32Array, start: number, len: number, k: number): void {
  if (!b.resolve(fbuf, collected.nb, collected.below, b.lo, b.hi, k)) b.find(keys, start, len, k);
}

/** Brackets for every kernel position, each from a sample of its strided row (the rows are collected together). */
function startPositionBrackets(keys: Int32Array, KK: number, OI: number, k: number, ws: MaskWorkspace): PositionBrackets {
  const pos = ws.positionBrackets.reset(KK, OI);
  const b = ws.positionBoundary;
  for (let p = 0; p < KK; p++) {
    b.resetHint();
    b.guess(OI, k, keys, p, KK);
    pos.lo[p] = b.lo;
    pos.hi[p] = b.hi;
  }
  return pos;
}

/** Position boundaries from the collected brackets; a miss gathers that position's keys and runs `find`. */
function resolvePositions(keys: Int32Array, KK: number, OI: number, k: number, pos: PositionBrackets, ws: MaskWorkspace): AxisRows {
  const rows = ws.positionRows.ensure(KK);
  const b = ws.positionBoundary;
  for (let p = 0; p < KK; p++) {
    const first = p * pos.regionLen;
    const region = pos.buf.subarray(first, first + pos.regionLen);
    if (!b.resolve(region, pos.count(p), pos.below[p], pos.lo[p], pos.hi[p], k)) {
      for (let j = 0, i = p; j < OI; j++, i += KK) region[j] = keys[i];
      b.find(region, 0, OI, k);
    }
    rows.set(p, b, k);
  }
  return rows;
}

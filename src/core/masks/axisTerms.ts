/**
 * F and P themselves (spec §5) for every weight: the inspection view and the reference-vector tests. A plain
 * per-axis evaluation of the rules — boundary per row with `RankBoundary.find`, then every weight through
 * `keptTerm` with the index-order tie rule — kept independent of the fused passes of `softMask.ts`, which the
 * tests compare against it bit for bit.
 */
import { CanonicalWeight, MAGNITUDE_MASK, magnitudeKeys } from './canonicalWeight';
import { assertGroupable } from './hardMask';
import { NmPattern } from './nmPattern';
import { keptTerm, topkDropped } from './softTerm';
import { AxisRows, defaultWorkspace, MaskWorkspace } from './workspace';

export interface AxisTerms {
  /** F: filter-axis term of every weight (canonical OIHW order). */
  filter: Float32Array;
  /** P: kernel-position term; all zeros when Kh·Kw = 1. */
  position: Float32Array;
  filterTopk: number;
  positionTopk: number | null;
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
    rows.set(o, b, filterTopk);
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

/** Boundaries of the Kh·Kw position rows, from a transposed copy of the keys (one contiguous run per position). */
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
    rows.set(p, b, k);
  }
  return rows;
}

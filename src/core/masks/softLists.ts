/**
 * Second pass of the soft mask: S = fround(fround(1 + F) + P) for the H = 1 indices listed by `collectRows.ts`,
 * once the row's filter threshold and the layer's position thresholds are known (S = 0 elsewhere, written by a
 * fill). Rows without ties at a boundary only.
 *
 * Without ties, thr lies strictly between the largest dropped and the smallest kept magnitude (their midpoint,
 * in doubles, of two distinct fp32 values), so "kept on this axis" is exactly z = (|w| − thr)·SCALE > 0, and
 * the term is fround(σ) · [z > 0]. Every listed weight evaluates both terms from the table, branch-free: a
 * dropped weight reads the table at |z| and multiplies by 0, which costs less than a mispredicted branch or a
 * separate index list per axis. The arithmetic is `keptTerm`'s (softTerm.ts) for z ≥ 0, so S is bit-identical
 * to the composition of the terms, and adding P = 0 to an fp32 value ≥ 1 leaves it unchanged.
 */
import { SIGMOID_LAST as LAST, SIGMOID_TABLE as TAB } from './sigmoid';
import { TERM_SCALE as SCALE } from './softTerm';

/** Filter axis only (Kh·Kw = 1): list[q, end). */
export function listTermsF(data: Float32Array, soft: Float32Array, list: Int32Array, q: number, end: number, thr: number): void {
  for (; q < end; q++) {
    const i = list[q];
    const z = (Math.abs(data[i]) - thr) * SCALE;
    const t = Math.min(Math.abs(z), LAST);
    const j = t | 0;
    const v = TAB[j];
    soft[i] = Math.fround(1 + Math.fround(v + (t - j) * (TAB[j + 1] - v)) * +(z > 0));
  }
}

/** Both axes, for the listed weights of one kernel position (position threshold thrP): list[q, end). */
export function listTermsFP(
  data: Float32Array, soft: Float32Array, list: Int32Array, q: number, end: number, thrF: number, thrP: number,
): void {
  for (; q < end; q++) {
    const i = list[q];
    const a = Math.abs(data[i]);
    const zf = (a - thrF) * SCALE;
    const tf = Math.min(Math.abs(zf), LAST);
    const jf = tf | 0;
    const vf = TAB[jf];
    const zp = (a - thrP) * SCALE;
    const tp = Math.min(Math.abs(zp), LAST);
    const jp = tp | 0;
    const vp = TAB[jp];
    const f = Math.fround(vf + (tf - jf) * (TAB[jf + 1] - vf)) * +(zf > 0);
    const p = Math.fround(vp + (tp - jp) * (TAB[jp + 1] - vp)) * +(zp > 0);
    soft[i] = Math.fround(Math.fround(1 + f) + p);
  }
}

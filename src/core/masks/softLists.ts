/**
 * Second pass of the soft mask: S = fround(fround(1 + F) + P) for the H = 1 indices listed by `collectRows.ts`,
 * once the row's filter threshold and the layer's position thresholds are known (S = 0 elsewhere, written by a
 * fill). In a row tied at a boundary the weights of the tied magnitude (z = 0) come out as dropped on that axis;
 * `fixTiedWeights` (tiedRows.ts) then applies the tie rule to them.
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

/** fround(σ((a − thr)/τ)) when a > thr, else 0 (small enough for V8 to inline). */
function term(a: number, thr: number): number {
  const z = (a - thr) * SCALE;
  const t = Math.min(Math.abs(z), LAST);
  const j = t | 0;
  const v = TAB[j];
  return Math.fround(v + (t - j) * (TAB[j + 1] - v)) * +(z > 0);
}

// Both kernels take two listed weights per iteration: independent work for the CPU to overlap (~8 % faster).

/** Filter axis only (Kh·Kw = 1): list[q, end). */
export function listTermsF(data: Float32Array, soft: Float32Array, list: Int32Array, q: number, end: number, thr: number): void {
  for (; q + 1 < end; q += 2) {
    const i0 = list[q];
    const i1 = list[q + 1];
    const f0 = term(Math.abs(data[i0]), thr);
    const f1 = term(Math.abs(data[i1]), thr);
    soft[i0] = Math.fround(1 + f0);
    soft[i1] = Math.fround(1 + f1);
  }
  if (q < end) {
    const i = list[q];
    soft[i] = Math.fround(1 + term(Math.abs(data[i]), thr));
  }
}

/**
 * Both axes, for one filter row whose H = 1 indices are listed per kernel position: position p's run starts at
 * `first + p·region` and holds `perPosition` entries, or `counts[countBase + p]` when perPosition < 0.
 */
export function listTermsFP(
  data: Float32Array, soft: Float32Array, list: Int32Array, first: number, region: number, KK: number,
  perPosition: number, counts: Int32Array, countBase: number, thrF: number, thrP: Float64Array,
): void {
  for (let p = 0; p < KK; p++) {
    const tP = thrP[p];
    let q = first + p * region;
    const end = q + (perPosition < 0 ? counts[countBase + p] : perPosition);
    for (; q + 1 < end; q += 2) {
      const i0 = list[q];
      const i1 = list[q + 1];
      const a0 = Math.abs(data[i0]);
      const a1 = Math.abs(data[i1]);
      const f0 = term(a0, thrF);
      const p0 = term(a0, tP);
      const f1 = term(a1, thrF);
      const p1 = term(a1, tP);
      soft[i0] = Math.fround(Math.fround(1 + f0) + p0);
      soft[i1] = Math.fround(Math.fround(1 + f1) + p1);
    }
    if (q < end) {
      const i = list[q];
      const a = Math.abs(data[i]);
      soft[i] = Math.fround(Math.fround(1 + term(a, thrF)) + term(a, tP));
    }
  }
}

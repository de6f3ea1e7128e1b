/**
 * The per-weight arithmetic of the soft terms (spec §5), shared by the whole-tensor and per-row code so both
 * produce identical bits: a kept weight of magnitude a in a row with threshold thr gets fround(σ((a − thr)/τ)).
 * The list kernels (softLists.ts) repeat the expression for a > thr; `keptTerm` is the reference form.
 */
import { keyToFloat } from './canonicalWeight';
import { SIGMOID_LAST, SIGMOID_STEPS, SIGMOID_TABLE } from './sigmoid';

/** τ of spec §5: absolute, in weight units, hard-coded in the reference. */
export const SOFT_TAU = 0.01;

/** (|w| − thr) times this is the sigmoid-table coordinate z·SIGMOID_STEPS with z = (|w| − thr)/τ. */
export const TERM_SCALE = SIGMOID_STEPS / SOFT_TAU;

/** k of spec §5: max(1, floor(drop·L)) with the double product, for parity with the reference. */
export function topkDropped(drop: number, rowLength: number): number {
  return Math.max(1, Math.floor(drop * rowLength));
}

/** fround(σ((a − thr)/τ)) for a kept weight (a ≥ thr); the table lookup of `sigmoid.ts`. */
export function keptTerm(a: number, thr: number): number {
  let t = Math.min((a - thr) * TERM_SCALE, SIGMOID_LAST);
  if (!(t >= 0)) t = 0;
  const j = t | 0;
  const v = SIGMOID_TABLE[j];
  return Math.fround(v + (t - j) * (SIGMOID_TABLE[j + 1] - v));
}

/**
 * thr of spec §5 from the magnitude keys of the largest dropped (vk) and the smallest kept (vk1) value: their
 * midpoint in doubles. For vk < vk1 it lies strictly between them (two distinct fp32 values are far more than
 * one double ulp apart), which the list kernels rely on.
 */
export function thresholdOf(vk: number, vk1: number): number {
  return (keyToFloat(vk) + keyToFloat(vk1)) / 2;
}

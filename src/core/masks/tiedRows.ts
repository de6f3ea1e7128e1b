/**
 * The scalar row kernel for rows with a tie at a boundary (spec §5: on equal |w| the higher flat index is dropped
 * first). Ties at a ranking boundary are rare with real weights (they need two equal magnitudes exactly at the
 * k-th place), so this path favours plain code over speed; the fast list kernels (`softLists.ts`) assume no ties.
 */
import { MAGNITUDE_MASK } from './canonicalWeight';
import { keptTerm } from './softTerm';
import { AxisRows } from './workspace';

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

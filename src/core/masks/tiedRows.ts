/**
 * Rows with a tie at a boundary (spec §5: on equal |w| the higher flat index is dropped first). After the fast list
 * kernel (`softLists.ts`) has written the row, `fixTiedWeights` rewrites the weights whose magnitude equals a
 * tied boundary with the index-order rule. Every other weight is kept or dropped by its magnitude alone, which the
 * list kernel already decided: with a tie across the boundary thr is the tied magnitude itself (vk1 = vk), so
 * larger weights have z > 0 and smaller ones z < 0, and the tied ones z = 0, which the list kernel counts as
 * dropped. Weights trained in bf16 or fp16 have so few distinct magnitudes that nearly every row ties; a scalar
 * pass over whole tied rows made their masks 2–2.4× slower.
 */
import { MAGNITUDE_MASK } from './canonicalWeight';
import { keptTerm } from './softTerm';
import { AxisRows } from './workspace';

/**
 * The tie fix-up of a row the list kernel has written (`soft` holds its S): visits the row in index order and,
 * for each weight whose magnitude key equals a tied boundary (the filter row's when `keepEqF` > 0, its position's
 * when that position's keepEq > 0), advances that boundary's counter and rewrites S by the tie rule. Position
 * counters live in `pos.seen` and persist across rows, which must come in ascending order.
 */
export function fixTiedWeights(
  keys: Int32Array, data: Float32Array, hard: Uint8Array, soft: Float32Array,
  start: number, I: number, KK: number, vkF: number, thrF: number, keepEqF: number, pos: AxisRows | null,
): void {
  const vkFilter = keepEqF !== 0 ? vkF : -1; // keys are ≥ 0: −1 matches nothing
  let seenF = 0;
  let i = start;
  for (let c = 0; c < I; c++) {
    for (let p = 0; p < KK; p++, i++) {
      const key = keys[i] & MAGNITUDE_MASK;
      const tiedP = pos !== null && pos.keepEq[p] !== 0 && key === pos.vk[p];
      if (key !== vkFilter && !tiedP) continue;
      const a = Math.abs(data[i]);
      const keptF = key > vkF || (key === vkFilter && seenF++ < keepEqF);
      const f = keptF ? keptTerm(a, thrF) : 0;
      let q = 0;
      if (pos !== null) {
        const vkP = pos.vk[p];
        const keptP = key > vkP || (tiedP && pos.seen[p]++ < pos.keepEq[p]);
        q = keptP ? keptTerm(a, pos.thr[p]) : 0;
      }
      soft[i] = Math.fround(Math.fround(1 + f) + q) * hard[i];
    }
  }
}

/** Everything the tooltip shows for one heatmap cell: the weight, its block and the block's mask values. Pure. */
import type { CellDetail, SoftClass } from '../../protocol/messages';
import { blockIndex, cellToWeight, hasBlocks, isInsideGrid } from './grid';
import type { LayerValues } from './tileValues';

/** S = H⊙(1+F+P) with F, P ∈ {0} ∪ (0.5, 1]: 0 pruned, 1 kept with no term, (1.5, 2] one term, above 2 both. */
export function softClass(s: number): SoftClass {
  if (s <= 0) return 'pruned';
  if (s <= 1.25) return 'kept';
  if (s <= 2) return 'kept+1 term';
  return 'kept+2 terms';
}

export function describeCell(layer: string, values: LayerValues, m: number, row: number, col: number, maskUnavailable?: string): CellDetail {
  const d = values.dims;
  if (!isInsideGrid(d, row, col)) throw new RangeError(`cell (${row}, ${col}) is outside layer '${layer}'`);
  const c = cellToWeight(d, row, col);
  const kk = d.Kh * d.Kw;
  const blocked = hasBlocks(d, m);
  const first = blocked ? Math.floor(c.i / m) * m : c.i;
  const width = blocked ? m : 1;
  // Members of the block: same (o, h, w), input channels first .. first + M − 1 (stride Kh·Kw in OIHW).
  const members: number[] = [];
  for (let j = 0; j < width; j++) members.push((c.o * d.I + first + j) * kk + c.h * d.Kw + c.w);
  const pick = <T extends ArrayLike<number>>(a: T | undefined) => (a ? members.map((k) => a[k]) : null);
  const hard = values.hard ? values.hard[c.index] : null;
  const soft = values.soft ? values.soft[c.index] : null;
  return {
    layer,
    row,
    col,
    o: c.o,
    i: c.i,
    h: c.h,
    w: c.w,
    weight: values.weights[c.index],
    block: blockIndex(d, m, c),
    blockFirstChannel: blocked ? first : null,
    blockWeights: members.map((k) => values.weights[k]),
    blockHard: pick(values.hard),
    blockSoft: pick(values.soft),
    hard,
    soft,
    softClass: soft === null ? null : softClass(soft),
    ...(maskUnavailable ? { maskUnavailable } : {}),
  };
}

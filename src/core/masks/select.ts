/**
 * In-place order-statistic selection (quickselect with a three-way partition). Used wherever the spec ranks
 * values (§3 generic groups, §4.2 dense blocks, §5 axis rows): a ranking only needs the boundary element, so
 * selection gives linear expected time where a sort would be O(n log n).
 *
 * The three-way partition keeps runs of equal values together, so inputs with many ties (zeros from an already
 * sparse weight) do not degrade. Pivots are median-of-three; if the loop runs too long (adversarial input) the
 * remaining range is sorted natively, which bounds the worst case at O(n log n).
 *
 * Two copies (int32 and float64) instead of a generic function keep each call site monomorphic for V8.
 */

/**
 * Reorders `a[lo, hi)` so that `a[k]` holds the value of rank `k − lo` (0-based, ascending), every element before
 * it is ≤ and every element after it is ≥. Returns `a[k]`.
 */
export function quickselectInt32(a: Int32Array, lo: number, hi: number, k: number): number {
  if (!(k >= lo && k < hi)) throw new RangeError(`select rank ${k} outside [${lo}, ${hi})`);
  let budget = 2 * (32 - Math.clz32(hi - lo)) + 8;
  while (hi - lo > 1) {
    if (--budget < 0) {
      a.subarray(lo, hi).sort();
      return a[k];
    }
    const mid = lo + ((hi - lo) >> 1);
    const v = median3(a[lo], a[mid], a[hi - 1]);
    let lt = lo;
    let i = lo;
    let gt = hi - 1;
    while (i <= gt) {
      const x = a[i];
      if (x < v) {
        a[i++] = a[lt];
        a[lt++] = x;
      } else if (x > v) {
        a[i] = a[gt];
        a[gt--] = x;
      } else {
        i++;
      }
    }
    // a[lo, lt) < v, a[lt, gt] == v, a(gt, hi) > v
    if (k < lt) hi = lt;
    else if (k > gt) lo = gt + 1;
    else return v;
  }
  return a[k];
}

/** Same as `quickselectInt32` for float64 values (no NaN). */
export function quickselectFloat64(a: Float64Array, lo: number, hi: number, k: number): number {
  if (!(k >= lo && k < hi)) throw new RangeError(`select rank ${k} outside [${lo}, ${hi})`);
  let budget = 2 * (32 - Math.clz32(hi - lo)) + 8;
  while (hi - lo > 1) {
    if (--budget < 0) {
      a.subarray(lo, hi).sort();
      return a[k];
    }
    const mid = lo + ((hi - lo) >> 1);
    const v = median3(a[lo], a[mid], a[hi - 1]);
    let lt = lo;
    let i = lo;
    let gt = hi - 1;
    while (i <= gt) {
      const x = a[i];
      if (x < v) {
        a[i++] = a[lt];
        a[lt++] = x;
      } else if (x > v) {
        a[i] = a[gt];
        a[gt--] = x;
      } else {
        i++;
      }
    }
    if (k < lt) hi = lt;
    else if (k > gt) lo = gt + 1;
    else return v;
  }
  return a[k];
}

function median3(x: number, y: number, z: number): number {
  if (x < y) return y < z ? y : x < z ? z : x;
  return x < z ? x : y < z ? z : y;
}

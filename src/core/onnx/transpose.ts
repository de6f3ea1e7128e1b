/** N-d transpose of a flat row-major array, as ONNX Transpose does it (out.dims[i] = in.dims[perm[i]]). */

export function transposeDims(dims: readonly number[], perm: readonly number[]): number[] {
  return perm.map((p) => dims[p]);
}

export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** True when `perm` is a permutation of 0..rank-1. */
export function isPermutation(perm: readonly number[], rank: number): boolean {
  if (perm.length !== rank) return false;
  const seen = new Set(perm);
  return seen.size === rank && perm.every((p) => Number.isInteger(p) && p >= 0 && p < rank);
}

export function transpose(values: Float32Array, dims: readonly number[], perm: readonly number[]): Float32Array {
  const rank = dims.length;
  const out = new Float32Array(values.length);
  if (values.length === 0) return out;
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let a = rank - 1; a >= 0; a--) {
    inStrides[a] = s;
    s *= dims[a];
  }
  const outDims = transposeDims(dims, perm);
  const step = perm.map((p) => inStrides[p]);
  if (rank === 2 && perm[0] === 1) {
    const [r, c] = dims;
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = values[i * c + j];
    return out;
  }
  // Walk the output in order, stepping the input position by the permuted strides.
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = values[src];
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]++;
      src += step[a];
      if (idx[a] < outDims[a]) break;
      src -= step[a] * outDims[a];
      idx[a] = 0;
    }
  }
  return out;
}

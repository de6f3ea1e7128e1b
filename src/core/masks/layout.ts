/**
 * Storage layout ↔ canonical OIHW (spec §2.2). Conv weights are stored OIHW already; linear weights stored
 * [out, in] (Gemm transB = 1) are the canonical [out, in, 1, 1] as they are; [in, out] storage (Gemm transB = 0,
 * MatMul) is transposed, so that a block of M input features becomes contiguous. Masks computed canonically go
 * back through `fromCanonical`, where a block runs down a column again.
 *
 * When no transpose is needed the input array itself is returned (no copy).
 */
import { usageError } from '../errors';

export type LayoutArray = Float32Array | Uint8Array;

/** Canonical [O, I, Kh, Kw] of a stored weight. */
export function canonicalShapeOf(storageShape: readonly number[], transposed: boolean): [number, number, number, number] {
  checkShape(storageShape, transposed);
  if (storageShape.length === 4) {
    const [O, I, Kh, Kw] = storageShape;
    return [O, I, Kh, Kw];
  }
  const [r, c] = storageShape;
  return transposed ? [c, r, 1, 1] : [r, c, 1, 1];
}

/** Stored values → canonical OIHW values. */
export function toCanonical<T extends LayoutArray>(storage: T, storageShape: readonly number[], transposed: boolean): T {
  checkShape(storageShape, transposed, storage.length);
  if (!transposed) return storage;
  const [inF, outF] = storageShape; // storage [in, out] → canonical [out, in]
  return transpose(storage, inF, outF);
}

/** Canonical OIHW values (weights or masks) → the stored layout. */
export function fromCanonical<T extends LayoutArray>(canonical: T, storageShape: readonly number[], transposed: boolean): T {
  checkShape(storageShape, transposed, canonical.length);
  if (!transposed) return canonical;
  const [inF, outF] = storageShape; // canonical [out, in] → storage [in, out]
  return transpose(canonical, outF, inF);
}

function checkShape(shape: readonly number[], transposed: boolean, length?: number): void {
  if (shape.length !== 2 && shape.length !== 4) {
    throw usageError(`weight shape [${shape.join(', ')}] is neither 2-D (linear) nor 4-D (conv)`);
  }
  if (shape.length === 4 && transposed) throw usageError('a 4-D conv weight is stored OIHW and cannot be transposed');
  for (const d of shape) if (!Number.isInteger(d) || d < 1) throw usageError(`weight shape [${shape.join(', ')}] has a non-positive dimension`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (length !== undefined && length !== n) throw usageError(`weight has ${length} values but shape [${shape.join(', ')}] needs ${n}`);
}

/** src is rows × cols row-major; returns cols × rows. Tiled so both sides stay in cache for large matrices. */
function transpose<T extends LayoutArray>(src: T, rows: number, cols: number): T {
  const dst = (src instanceof Float32Array ? new Float32Array(src.length) : new Uint8Array(src.length)) as T;
  const TILE = 32;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
      }
    }
  }
  return dst;
}

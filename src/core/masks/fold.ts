/**
 * Folding for export (spec §7): W_inf = W ⊙ S(W_final, p = 0), in fp32. Where H = 0 the product is ±0 (−0 for
 * negative weights); −0 == 0, so the N:M pattern holds either way, and `canonicalZeros` writes +0 for files that
 * should not contain −0.
 */
import { usageError } from '../errors';
import { CanonicalWeight } from './canonicalWeight';

export interface FoldOptions {
  /** Write +0 instead of −0 (adding +0 maps −0 to +0 and leaves every other value unchanged). */
  canonicalZeros?: boolean;
  out?: Float32Array;
}

export function foldWeights(w: Float32Array | CanonicalWeight, soft: Float32Array, opts: FoldOptions = {}): Float32Array {
  const data = w instanceof Float32Array ? w : w.data;
  const n = data.length;
  if (soft.length !== n) throw usageError(`fold needs a mask of the weight's length, got ${soft.length} for ${n} weights`);
  const out = opts.out ?? new Float32Array(n);
  if (out.length !== n) throw usageError(`fold output has ${out.length} entries, weight has ${n}`);
  // The double product of two fp32 values is exact, so the store's single rounding equals an fp32 multiply.
  if (opts.canonicalZeros) for (let i = 0; i < n; i++) out[i] = data[i] * soft[i] + 0;
  else for (let i = 0; i < n; i++) out[i] = data[i] * soft[i];
  return out;
}

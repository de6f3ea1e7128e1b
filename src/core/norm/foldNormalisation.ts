/**
 * Folds an inserted normalisation back into its layer (spec §7's BN fold, per output channel):
 *   y = γ·(x − μ)/√(σ² + ε) + β,  x = alpha·A·W + beta·b
 *   ⇒ W'[o] = W[o]·s[o],  b'[o] = (s[o]·(beta·b[o] − μ[o]) + β[o]) / beta,  s = γ/√(σ² + ε)·(1)
 * (Conv: alpha = beta = 1). A per-output-channel scale keeps every N:M zero.
 */
import { NormSite } from './normSites';
import { NormValues } from './insertNormalisation';

export interface FoldedLayer {
  weight: Float32Array;
  bias: Float32Array;
}

/** `weight` in the layer's stored layout ([O, I, Kh, Kw], Gemm [out, in] or [in, out]); inputs are not changed. */
export function foldNormalisation(site: NormSite, weight: Float32Array, bias: Float32Array, v: NormValues): FoldedLayer {
  const C = site.channels;
  if (bias.length !== C || v.scale.length !== C) throw new Error(`internal: ${site.layer}: ${C} channels, bias ${bias.length}, scale ${v.scale.length}`);
  const s = new Float64Array(C);
  for (let o = 0; o < C; o++) s[o] = v.scale[o] / Math.sqrt(v.variance[o] + site.epsilon);
  const w = new Float32Array(weight.length);
  if (site.storageTransposed) {
    // [in, out]: channel o is column o.
    for (let i = 0; i < weight.length; i++) w[i] = weight[i] * s[i % C];
  } else {
    const per = weight.length / C;
    for (let o = 0; o < C; o++) {
      const so = s[o];
      for (let j = o * per, end = j + per; j < end; j++) w[j] = weight[j] * so;
    }
  }
  const b = new Float32Array(C);
  for (let o = 0; o < C; o++) b[o] = (s[o] * (site.beta * bias[o] - v.mean[o]) + v.shift[o]) / site.beta;
  return { weight: w, bias: b };
}

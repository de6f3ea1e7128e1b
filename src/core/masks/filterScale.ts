/**
 * Keeping each output filter's scale when nothing re-estimates it. MaxQ's S = H·(1+F+P) scales kept weights by
 * 1…3; BatchNorm absorbs that in training and BN re-estimation after one-shot pruning, but a one-shot model
 * without data (or a layer with no BatchNorm and no run normalisation) would carry the ×1…3 straight into the
 * next layer, multiplying up layer by layer. Rescaling each filter of W·S so its L2 norm equals the dense
 * filter's keeps the layer's output scale (and MaxQ's relative weighting inside the filter); a per-filter
 * scale keeps every N:M zero.
 */
import { CanonicalWeight } from './canonicalWeight';

/** `folded` (canonical OIHW, W·S of `dense`) with each output filter rescaled to the dense filter's L2 norm; in place. */
export function keepFilterScale(dense: CanonicalWeight, folded: Float32Array): Float32Array {
  const per = dense.I * dense.Kh * dense.Kw;
  for (let o = 0; o < dense.O; o++) {
    let d = 0, f = 0;
    for (let j = o * per, end = j + per; j < end; j++) {
      d += dense.data[j] * dense.data[j];
      f += folded[j] * folded[j];
    }
    if (f === 0 || d === 0) continue;
    const s = Math.sqrt(d / f);
    for (let j = o * per, end = j + per; j < end; j++) folded[j] *= s;
  }
  return folded;
}

/**
 * Bilinear resizing of planar float images, computed the way PIL's `Image.resize(..., BILINEAR)` does (which
 * is what torchvision's Resize uses on PIL images): a separable triangle filter whose support widens with
 * the downscale factor. Plain 4-tap bilinear would alias badly when shrinking photos to 32×32 or 224×224;
 * for upscaling the two coincide (half-pixel centres, align_corners = false).
 */

/** A source rectangle in pixel units (may be fractional); the whole image when omitted. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

interface Taps {
  /** First source index for each output index. */
  start: Int32Array;
  /** Number of taps for each output index. */
  count: Int32Array;
  /** count[i] weights per output index, at i·maxTaps. */
  weights: Float64Array;
  maxTaps: number;
}

/** Filter taps mapping source span [lo, hi) of an axis of length inSize onto outSize samples (PIL's precompute_coeffs). */
function taps(inSize: number, lo: number, hi: number, outSize: number): Taps {
  const scale = (hi - lo) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle filter's support is 1, stretched when downscaling
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let i = 0; i < outSize; i++) {
    const center = lo + (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    let sum = 0;
    const n = Math.min(xmax - xmin, maxTaps);
    for (let k = 0; k < n; k++) {
      const w = Math.max(0, 1 - Math.abs((k + xmin - center + 0.5) / filterScale));
      weights[i * maxTaps + k] = w;
      sum += w;
    }
    if (sum > 0) for (let k = 0; k < n; k++) weights[i * maxTaps + k] /= sum;
    start[i] = xmin;
    count[i] = n;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Resizes `channels` planes of h×w (C×H×W layout) to outH×outW, reading the `box` part of the source. Returns
 * a new C×outH×outW array; values are not clamped (the filter is non-negative, so the range is preserved).
 */
export function resizeBilinear(src: Float32Array, channels: number, h: number, w: number, outH: number, outW: number, box?: Box): Float32Array {
  const b = box ?? { x0: 0, y0: 0, x1: w, y1: h };
  const out = new Float32Array(channels * outH * outW);
  if (h === outH && w === outW && b.x0 === 0 && b.y0 === 0 && b.x1 === w && b.y1 === h) {
    out.set(src.subarray(0, out.length));
    return out;
  }
  const tx = taps(w, b.x0, b.x1, outW);
  const ty = taps(h, b.y0, b.y1, outH);
  const tmp = new Float64Array(h * outW); // horizontal pass result for one channel
  for (let c = 0; c < channels; c++) {
    const plane = c * h * w;
    for (let y = 0; y < h; y++) {
      const row = plane + y * w;
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        const s = tx.start[x];
        const o = x * tx.maxTaps;
        for (let k = 0; k < tx.count[x]; k++) acc += src[row + s + k] * tx.weights[o + k];
        tmp[y * outW + x] = acc;
      }
    }
    const outPlane = c * outH * outW;
    for (let y = 0; y < outH; y++) {
      const s = ty.start[y];
      const o = y * ty.maxTaps;
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let k = 0; k < ty.count[y]; k++) acc += tmp[(s + k) * outW + x] * ty.weights[o + k];
        out[outPlane + y * outW + x] = acc;
      }
    }
  }
  return out;
}

/**
 * The centred source box with the target's aspect ratio: resizing it equals "resize the shorter side, then
 * centre-crop", the usual evaluation transform, without distorting the image.
 */
export function centerCropBox(h: number, w: number, outH: number, outW: number): Box {
  const target = outW / outH;
  if (w / h > target) {
    const bw = h * target;
    const x0 = (w - bw) / 2;
    return { x0, y0: 0, x1: x0 + bw, y1: h };
  }
  const bh = w / target;
  const y0 = (h - bh) / 2;
  return { x0: 0, y0, x1: w, y1: y0 + bh };
}

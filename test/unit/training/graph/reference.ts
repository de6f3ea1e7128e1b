/**
 * Float64 JS reference forward passes for the small models of the tests: finite differences of these are
 * exact to ~1e-8, so ORT's float32 analytic gradients can be checked tightly even through BatchNorm.
 */

export interface T4 {
  d: number[];
  v: Float64Array;
}

export function conv2d(x: T4, w: Float64Array, wd: number[], b: Float64Array | undefined, stride: number, pad: number): T4 {
  const [N, C, H, W] = x.d;
  const [K, , kh, kw] = wd;
  const Ho = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - kw) / stride) + 1;
  const y = new Float64Array(N * K * Ho * Wo);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          let s = b ? b[k] : 0;
          for (let c = 0; c < C; c++)
            for (let a = 0; a < kh; a++) {
              const h = i * stride + a - pad;
              if (h < 0 || h >= H) continue;
              for (let e = 0; e < kw; e++) {
                const ww = j * stride + e - pad;
                if (ww < 0 || ww >= W) continue;
                s += x.v[((n * C + c) * H + h) * W + ww] * w[((k * C + c) * kh + a) * kw + e];
              }
            }
          y[((n * K + k) * Ho + i) * Wo + j] = s;
        }
  return { d: [N, K, Ho, Wo], v: y };
}

export function bnTrain(x: T4, g: Float64Array, b: Float64Array, eps: number): { y: T4; mean: Float64Array; varBiased: Float64Array } {
  const [N, C, H, W] = x.d;
  const M = N * H * W;
  const mean = new Float64Array(C);
  const vr = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let p = 0; p < H * W; p++) s += x.v[(n * C + c) * H * W + p];
    mean[c] = s / M;
    let q = 0;
    for (let n = 0; n < N; n++) for (let p = 0; p < H * W; p++) q += (x.v[(n * C + c) * H * W + p] - mean[c]) ** 2;
    vr[c] = q / M;
  }
  const y = new Float64Array(x.v.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const inv = 1 / Math.sqrt(vr[c] + eps);
      for (let p = 0; p < H * W; p++) {
        const i = (n * C + c) * H * W + p;
        y[i] = (x.v[i] - mean[c]) * inv * g[c] + b[c];
      }
    }
  return { y: { d: x.d, v: y }, mean, varBiased: vr };
}

export function relu(x: T4): T4 {
  return { d: x.d, v: x.v.map((v) => (v > 0 ? v : 0)) };
}

export function add(a: T4, b: T4): T4 {
  return { d: a.d, v: a.v.map((v, i) => v + b.v[i]) };
}

export function maxPool(x: T4, k: number, s: number): T4 {
  const [N, C, H, W] = x.d;
  const Ho = Math.floor((H - k) / s) + 1;
  const Wo = Math.floor((W - k) / s) + 1;
  const y = new Float64Array(N * C * Ho * Wo);
  for (let nc = 0; nc < N * C; nc++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        let m = -Infinity;
        for (let a = 0; a < k; a++) for (let e = 0; e < k; e++) m = Math.max(m, x.v[(nc * H + i * s + a) * W + j * s + e]);
        y[(nc * Ho + i) * Wo + j] = m;
      }
  return { d: [N, C, Ho, Wo], v: y };
}

/** Global average pool + flatten: [N, C]. */
export function gap(x: T4): T4 {
  const [N, C, H, W] = x.d;
  const y = new Float64Array(N * C);
  for (let nc = 0; nc < N * C; nc++) {
    let s = 0;
    for (let p = 0; p < H * W; p++) s += x.v[nc * H * W + p];
    y[nc] = s / (H * W);
  }
  return { d: [N, C], v: y };
}

/** y = x·Wᵀ + b with W [out, in]. */
export function linear(x: T4, w: Float64Array, out: number, b: Float64Array): T4 {
  const [N, I] = x.d;
  const y = new Float64Array(N * out);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < out; o++) {
      let s = b[o];
      for (let i = 0; i < I; i++) s += x.v[n * I + i] * w[o * I + i];
      y[n * out + o] = s;
    }
  return { d: [N, out], v: y };
}

function logSoftmaxRow(z: Float64Array, off: number, K: number, scale = 1): number[] {
  let m = -Infinity;
  for (let k = 0; k < K; k++) m = Math.max(m, z[off + k] * scale);
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.exp(z[off + k] * scale - m);
  const l = Math.log(s) + m;
  return Array.from({ length: K }, (_, k) => z[off + k] * scale - l);
}

/** Mean cross-entropy with label smoothing ε (q = (1−ε)·onehot + ε/K). */
export function crossEntropy(z: T4, labels: number[], eps: number): number {
  const [N, K] = z.d;
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const lp = logSoftmaxRow(z.v, n * K, K);
    for (let k = 0; k < K; k++) loss -= ((k === labels[n] ? 1 - eps : 0) + eps / K) * lp[k];
  }
  return loss / N;
}

/** τ²·KL(softmax(t/τ) ‖ softmax(z/τ)), mean over the batch. */
export function distillKl(z: T4, t: Float64Array, tau: number): number {
  const [N, K] = z.d;
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const lps = logSoftmaxRow(z.v, n * K, K, 1 / tau);
    const lpt = logSoftmaxRow(t, n * K, K, 1 / tau);
    for (let k = 0; k < K; k++) loss += Math.exp(lpt[k]) * (lpt[k] - lps[k]);
  }
  return (tau * tau * loss) / N;
}

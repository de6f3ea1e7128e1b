/**
 * A guard on each optimizer step: one step never moves the weights by more than a small share of their norm.
 * Real exports can make the first gradients enormous (a freshly initialised Inception has logits of 10⁸, so a
 * distillation loss of 10⁷), and one unguarded SGD step turns every weight into NaN. Scaling the gradient so
 * that lr·‖g‖ ≤ MAX_STEP·‖W‖ leaves ordinary steps alone (they move the weights by ~0.1 % or less) and turns
 * such a step into a bounded one; non-finite gradients stop the run instead of reaching the weights.
 */
import { OptimParam } from './optim';

/** Largest share of the global weight norm one gradient step (lr·‖g‖) may move. */
export const MAX_STEP = 0.01;

export type GuardResult = 'ok' | 'clipped' | 'non-finite';

export function guardStep(params: readonly OptimParam[], lr: number): GuardResult {
  let g2 = 0, w2 = 0;
  for (const p of params) {
    g2 += sumSquares(p.grad);
    w2 += sumSquares(p.data);
  }
  return guardWithNorms(params, lr, g2, w2);
}

/** The guard when Σg² and Σw² over all parameters are already known (TrainStepper sums them while staging). */
export function guardWithNorms(params: readonly OptimParam[], lr: number, g2: number, w2: number): GuardResult {
  if (!Number.isFinite(g2)) return 'non-finite';
  const limit = (MAX_STEP * Math.max(Math.sqrt(w2), 1)) / Math.max(lr, Number.MIN_VALUE);
  const norm = Math.sqrt(g2);
  if (norm <= limit) return 'ok';
  const k = limit / norm;
  for (const p of params) for (let i = 0; i < p.grad.length; i++) p.grad[i] *= k;
  return 'clipped';
}

/** Σ x², with four partial sums (a single running sum is bound by the latency of the add). */
export function sumSquares(x: Float32Array): number {
  const n = x.length;
  let a = 0, b = 0, c = 0, d = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const p = x[i], q = x[i + 1], r = x[i + 2], t = x[i + 3];
    a += p * p;
    b += q * q;
    c += r * r;
    d += t * t;
  }
  for (; i < n; i++) a += x[i] * x[i];
  return a + b + c + d;
}

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
    const g = p.grad, w = p.data;
    for (let i = 0; i < g.length; i++) g2 += g[i] * g[i];
    for (let i = 0; i < w.length; i++) w2 += w[i] * w[i];
  }
  if (!Number.isFinite(g2)) return 'non-finite';
  const limit = (MAX_STEP * Math.max(Math.sqrt(w2), 1)) / Math.max(lr, Number.MIN_VALUE);
  const norm = Math.sqrt(g2);
  if (norm <= limit) return 'ok';
  const k = limit / norm;
  for (const p of params) for (let i = 0; i < p.grad.length; i++) p.grad[i] *= k;
  return 'clipped';
}

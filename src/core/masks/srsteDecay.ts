/**
 * SR-STE decay (spec §6): G ← G + λ·(1 − H)·W, applied after the straight-through gradient and before the
 * optimizer. It pulls the currently pruned weights towards zero so the N:M choice settles; blocks the schedule
 * keeps dense have H = 1 and get no decay.
 */
import { usageError } from '../errors';

/** λ of spec §6. */
export const SRSTE_LAMBDA = 2e-4;

/** Adds the decay to `grad` in place and returns it. All three arrays are in the same (canonical) order. */
export function addSrsteDecay(grad: Float32Array, weight: Float32Array, hard: Uint8Array, lambda = SRSTE_LAMBDA): Float32Array {
  const n = grad.length;
  if (weight.length !== n || hard.length !== n) {
    throw usageError(`SR-STE decay needs equal lengths, got grad ${n}, weight ${weight.length}, mask ${hard.length}`);
  }
  if (!Number.isFinite(lambda) || lambda < 0) throw usageError(`SR-STE lambda must be a finite number ≥ 0, got ${lambda}`);
  // Branch-free: (1 − H) is 0 or 1; adding 0 leaves a kept weight's gradient unchanged.
  for (let i = 0; i < n; i++) grad[i] += lambda * (1 - hard[i]) * weight[i];
  return grad;
}

/**
 * Seeded normal samples (random test inputs for the numeric check, initial weights of the demo CNN). Box–
 * Muller over a caller-supplied uniform generator, so the values are a pure function of the seed.
 */
import { Rng } from './random';

/** `n` samples of N(0, std²) from `rand` (uniform in [0, 1)); consumes two uniforms per pair of samples. */
export function gaussianFill(n: number, std: number, rand: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // 1 − u is in (0, 1], so the log is finite even when the generator returns exactly 0.
    const r = Math.sqrt(-2 * Math.log(1 - rand())) * std;
    const theta = 2 * Math.PI * rand();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

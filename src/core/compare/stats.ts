/**
 * Summary statistics of repeated runs (one value per seed): mean and the sample standard deviation (n − 1 in the
 * denominator, the usual "± std over seeds"; 0 for a single run, which has no spread to estimate).
 */
export interface SeedStats {
  mean: number;
  /** Sample standard deviation (Bessel-corrected); 0 when n = 1. */
  std: number;
  n: number;
  min: number;
  max: number;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean of no values');
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export function sampleStd(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('standard deviation of no values');
  if (values.length === 1) return 0;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) * (v - m);
  return Math.sqrt(ss / (values.length - 1));
}

/** Statistics of the values, or null when there are none (a metric that was not measured). */
export function seedStats(values: readonly number[]): SeedStats | null {
  if (values.length === 0) return null;
  return { mean: mean(values), std: sampleStd(values), n: values.length, min: Math.min(...values), max: Math.max(...values) };
}

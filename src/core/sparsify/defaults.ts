/** Defaults of a sparsify run, in one place so the CLI help, the extension settings and the README agree. */
export const RUN_DEFAULTS = {
  batchSize: 64,
  seed: 0,
  /** Share of the training data held out for per-epoch evaluation when no validation data is given. */
  valFraction: 0.1,
  sgdLr: 0.01,
  adamwLr: 1e-3,
  momentum: 0.9,
  weightDecay: 1e-4,
  /** BN re-estimation after one-shot pruning: batches of `batchSize`. */
  bnBatches: 20,
} as const;

/** Batches BN re-estimation measures over for `bnRecalibrate`: the number given, the default when on, 0 when off. */
export function bnBatchCount(bnRecalibrate: boolean | number | undefined): number {
  return bnRecalibrate === false ? 0 : typeof bnRecalibrate === 'number' ? bnRecalibrate : RUN_DEFAULTS.bnBatches;
}

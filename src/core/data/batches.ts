/**
 * Which samples go in which batch. The training graph is exported with a static batch size, so by default a
 * trailing partial batch is dropped in training (`dropLast`), while evaluation keeps it (the caller pads or
 * runs a dynamic-batch graph). The order of epoch e is a pure function of (seed, e), so a run resumed from a
 * checkpoint at epoch e sees exactly the batches an uninterrupted run would have.
 */
import { usageError } from '../errors';
import { Batch, Dataset } from './dataset';
import { deriveSeed, mulberry32, shuffleInPlace } from './random';

export interface EpochPlanOptions {
  batchSize: number;
  /** Shuffle the pool each epoch (training); false keeps pool order (evaluation). Default true. */
  shuffle?: boolean;
  seed?: number;
  epoch?: number;
  /** Drop the last batch when it is smaller than batchSize. Default true. */
  dropLast?: boolean;
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw usageError(`batch size must be a positive integer, got ${batchSize}`);
}

/** Number of batches an epoch over `count` samples yields. */
export function batchesPerEpoch(count: number, batchSize: number, dropLast = true): number {
  checkBatchSize(batchSize);
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/** Cuts an ordered list of sample indices into consecutive batches. */
export function chunkIndices(order: readonly number[], batchSize: number, dropLast = true): number[][] {
  checkBatchSize(batchSize);
  const out: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const end = start + batchSize;
    if (end > order.length && dropLast) break;
    out.push(order.slice(start, Math.min(end, order.length)));
  }
  return out;
}

/**
 * The batches of one epoch over `pool` (sample indices, or a count meaning 0..count-1), shuffled with a seed
 * derived from (seed, epoch) when `shuffle` is on.
 */
export function epochBatches(pool: readonly number[] | number, options: EpochPlanOptions): number[][] {
  const order = typeof pool === 'number' ? Array.from({ length: pool }, (_, i) => i) : [...pool];
  if (options.shuffle ?? true) shuffleInPlace(order, mulberry32(deriveSeed(options.seed ?? 0, options.epoch ?? 0)));
  return chunkIndices(order, options.batchSize, options.dropLast ?? true);
}

/** Reads each planned batch from the data set in turn (lazily, so only one batch is in memory). */
export function* readBatches(dataset: Dataset, plan: readonly (readonly number[])[]): Generator<Batch> {
  for (const indices of plan) yield dataset.getBatch(indices);
}

/**
 * Train/validation splits. When a user gives one data set, a fixed, seeded share of it is held out for the
 * per-epoch accuracy; the split must not change between epochs or between a run and its resume, so it is a
 * pure function of (count, size, seed).
 */
import { usageError } from '../errors';
import { Batch, Dataset, checkIndices } from './dataset';
import { shuffledIndices } from './random';

export interface SplitOptions {
  /** Share of samples held out, in [0, 1). Ignored when valCount is given. */
  valFraction?: number;
  /** Exact number of samples held out. */
  valCount?: number;
  seed?: number;
}

export interface Split {
  train: number[];
  val: number[];
}

/** Shuffles 0..count-1 with `seed` and holds out the first valCount (or round(count·valFraction)) as val. */
export function trainValSplit(count: number, options: SplitOptions): Split {
  let valCount: number;
  if (options.valCount !== undefined) {
    valCount = options.valCount;
  } else {
    const f = options.valFraction ?? 0;
    if (!(f >= 0 && f < 1)) throw usageError(`validation fraction must be in [0, 1), got ${f}`);
    valCount = Math.round(count * f);
  }
  if (!Number.isInteger(valCount) || valCount < 0 || valCount >= count) {
    throw usageError(`cannot hold out ${valCount} of ${count} samples for validation (leave at least one for training)`);
  }
  const order = shuffledIndices(count, options.seed ?? 0);
  // Sorted within each side so a split reads its samples in file order (cache- and disk-friendly); the
  // training order is shuffled per epoch anyway.
  const val = order.slice(0, valCount).sort((a, b) => a - b);
  const train = order.slice(valCount).sort((a, b) => a - b);
  return { train, val };
}

/** A view of some samples of another data set (a split), itself a Dataset. */
export class SubsetDataset implements Dataset {
  readonly source: string;
  readonly labelSource?: string;
  readonly count: number;
  readonly inputShape: [number, number, number];
  readonly numClasses: number | null;
  readonly hasLabels: boolean;

  constructor(
    readonly base: Dataset,
    readonly indices: readonly number[],
  ) {
    checkIndices(indices, base.count, base.source);
    this.source = base.source;
    this.labelSource = base.labelSource;
    this.count = indices.length;
    this.inputShape = base.inputShape;
    // The class count is the parent's: a subset that happens to miss the top class still has that many outputs.
    this.numClasses = base.numClasses;
    this.hasLabels = base.hasLabels;
  }

  getBatch(indices: readonly number[]): Batch {
    checkIndices(indices, this.count, this.source);
    return this.base.getBatch(indices.map((i) => this.indices[i]));
  }
}

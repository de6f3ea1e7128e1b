/**
 * What training and evaluation read samples from. Every source (a pair of .npy files, a folder of images, the
 * built-in MNIST demo) presents the same shape: a fixed number of samples, each a normalised C×H×W float image
 * with an optional integer class label, fetched by index in batches. Keeping this tiny lets the trainer
 * shuffle, split and batch without knowing where the pixels come from.
 */

/** One batch, in the order of the requested indices. */
export interface Batch {
  /** N·C·H·W floats, NCHW, already normalised. */
  inputs: Float32Array;
  /** N class ids (int64, what ONNX classification losses take), or null when the data set has no labels. */
  labels: BigInt64Array | null;
}

export interface Dataset {
  /** The file or folder the samples come from; errors about the data name it. */
  readonly source: string;
  /** Where the labels come from when that is another file (an NpyDataset's labels .npy); errors about labels name it. */
  readonly labelSource?: string;
  readonly count: number;
  readonly inputShape: [number, number, number];
  /** Number of classes the labels imply (folder count, label max + 1, 10 for MNIST), null without labels. */
  readonly numClasses: number | null;
  readonly hasLabels: boolean;
  /** Reads samples `indices` (each in 0..count-1, repeats allowed). */
  getBatch(indices: readonly number[]): Batch;
}

/** Elements in one sample. */
export function sampleSize(shape: readonly [number, number, number]): number {
  return shape[0] * shape[1] * shape[2];
}

/** Guards getBatch against out-of-range indices, which would otherwise read another sample's bytes or garbage. */
export function checkIndices(indices: readonly number[], count: number, source: string): void {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new RangeError(`${source}: sample index ${i} is outside 0..${count - 1}`);
    }
  }
}

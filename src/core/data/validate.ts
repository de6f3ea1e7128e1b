/**
 * Checks that a data set can feed a given model, before any training starts: a shape or label mismatch found
 * at step 1 of epoch 1 is a clear message naming the data file; found inside ONNX Runtime it is an opaque
 * kernel error, and a label beyond the model's classes can silently produce a NaN loss.
 */
import { inputError } from '../errors';
import { Dataset } from './dataset';

/** A model dimension that does not constrain the data: symbolic ('N', 'height'), unknown (null), or ≤ 0. */
function isFree(d: number | string | null | undefined): boolean {
  return d === null || d === undefined || typeof d === 'string' || d <= 0;
}

/** A shape as messages print it: [N, 3, 224, 224], unknown dims as '?'. */
export function formatShape(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]`;
}

/**
 * Throws an input error naming `dataset.source` unless the data set is non-empty, its samples have the
 * model's input shape and its labels fit the model's classes.
 *
 * @param modelInputShape the model input's [C, H, W], or [N, C, H, W] (the batch dimension is ignored);
 *   symbolic or unknown dimensions accept any size.
 * @param numClasses the model's class count (size of its logits), or null when unknown.
 */
export function checkCompatible(dataset: Dataset, modelInputShape: readonly (number | string | null)[], numClasses: number | null): void {
  if (dataset.count === 0) throw inputError(dataset.source, 'the data set is empty');
  if (modelInputShape.length !== 3 && modelInputShape.length !== 4) {
    throw inputError(dataset.source, `the model input has shape ${formatShape(modelInputShape)}; only image inputs [N, C, H, W] are supported`);
  }
  const chw = modelInputShape.length === 4 ? modelInputShape.slice(1) : modelInputShape;
  const names = ['channels', 'height', 'width'];
  for (let k = 0; k < 3; k++) {
    if (!isFree(chw[k]) && chw[k] !== dataset.inputShape[k]) {
      throw inputError(
        dataset.source,
        `samples are [${dataset.inputShape.join(', ')}] (C, H, W) but the model expects ${formatShape(chw)}: ${names[k]} differ (${dataset.inputShape[k]} vs ${chw[k]})`,
      );
    }
  }
  if (numClasses !== null && dataset.numClasses !== null && dataset.numClasses > numClasses) {
    throw inputError(
      dataset.labelSource ?? dataset.source,
      `labels go up to ${dataset.numClasses - 1} but the model has ${numClasses} classes (labels must be in 0..${numClasses - 1})`,
    );
  }
}

/**
 * Checks raw label values (negative ones are never valid class ids) and returns the class count they imply
 * (max + 1). Shared by the data sets that read labels from a file.
 */
export function checkLabelValues(labels: BigInt64Array, source: string): number {
  let max = -1n;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v < 0n) throw inputError(source, `label ${v} at index ${i} is negative; labels must be class ids 0..C-1`);
    if (v > max) max = v;
  }
  if (max >= 2n ** 31n) throw inputError(source, `label ${max} is implausibly large for a class id`);
  return Number(max) + 1;
}

/**
 * Turns a run's data option (DataSpec: .npy files, an image folder or the MNIST demo) into the training and
 * validation data sets for a given model, checked against the model's input shape and class count, so the
 * trainer receives two ready Datasets and never branches on where data comes from.
 *
 * Validation data: the explicit validation files/folder when given; otherwise a seeded `valFraction` of the
 * training samples is held out (none when valFraction is 0); the MNIST demo uses its fixed 2,000-digit test split.
 */
import type { DataSpec } from '../sparsify/options';
import { inputError, usageError } from '../errors';
import { Dataset } from './dataset';
import { ImageFolderDataset } from './image-folder';
import { MnistDemoDataset } from './mnist-demo';
import { NpyDataset } from './npy-dataset';
import { SubsetDataset, trainValSplit } from './split';
import { checkCompatible, formatShape } from './validate';
import { PREPROCESSING_PRESETS } from './normalize';

/**
 * 8-bit inputs (uint8 .npy, image files) are never silently scaled: without a preprocessing choice a run does
 * not start, and the message says which presets exist (`none` keeps the raw byte values).
 */
export function noPreprocessingError(source: string, what: string) {
  const presets = PREPROCESSING_PRESETS.map((p) => `${p.name} (${p.label})`).join(', ');
  return usageError(`${source}: ${what} hold 8-bit values and no preprocessing was chosen; give --normalize with a preset — ${presets} — or SCALE,MEAN,STD (e.g. 1/255,0.1307,0.3081)`);
}

export interface ModelIo {
  /** The model input's shape, [N, C, H, W] or [C, H, W]; symbolic dims as strings. */
  inputShape: readonly (number | string | null)[];
  /** Size of the model's logits, or null when unknown. */
  numClasses: number | null;
}

export interface OpenDataOptions {
  /** Share of training samples held out when no validation data is given; default 0. */
  valFraction?: number;
  seed?: number;
}

export interface OpenedData {
  train: Dataset;
  val: Dataset | null;
  /** Releases open files (NpyDataset keeps a descriptor for on-demand reads). */
  close(): void;
}

/** The model's concrete [C, H, W], required where data must be resized to it (images, MNIST demo). */
function concreteChw(model: ModelIo, what: string): [number, number, number] {
  const s = model.inputShape.length === 4 ? model.inputShape.slice(1) : model.inputShape;
  if (s.length !== 3 || !s.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0)) {
    throw usageError(`${what} needs a model input of fixed size [N, C, H, W]; this model's input is ${formatShape(model.inputShape)}`);
  }
  return s as [number, number, number];
}

/** Opens the data of a run (null for `{ kind: 'none' }`, one-shot runs without data). */
export function openData(spec: DataSpec, model: ModelIo, options: OpenDataOptions = {}): OpenedData | null {
  const opened: NpyDataset[] = [];
  const close = () => opened.forEach((d) => d.close());
  try {
    let train: Dataset;
    let val: Dataset | null = null;
    switch (spec.kind) {
      case 'none':
        return null;
      case 'npy': {
        const open = (inputs: string, labels: string | undefined) => {
          const d = NpyDataset.open({ inputs, labels, normalization: spec.normalize, modelInputShape: model.inputShape });
          opened.push(d);
          if (d.dtype === 'uint8' && !spec.normalize) throw noPreprocessingError(inputs, 'the inputs (uint8)');
          return d;
        };
        // Without labels the run distils from the dense model, so a labels file is optional.
        train = open(spec.inputs, spec.labels);
        if (spec.valInputs) {
          if (train.hasLabels && !spec.valLabels) throw usageError(`validation inputs ${spec.valInputs} need a validation labels .npy, like the training inputs`);
          val = open(spec.valInputs, spec.valLabels);
        } else if (spec.valLabels) {
          throw usageError('validation labels were given without validation inputs');
        }
        break;
      }
      case 'images': {
        const chw = concreteChw(model, 'an image folder');
        if (!spec.normalize) throw noPreprocessingError(spec.dir, 'the images');
        const folder = new ImageFolderDataset({ dir: spec.dir, inputShape: chw, normalization: spec.normalize });
        train = folder;
        if (spec.valDir) {
          const v = new ImageFolderDataset({ dir: spec.valDir, inputShape: chw, normalization: spec.normalize });
          // Label ids come from the sorted folder names; different class sets would silently mislabel.
          if (v.classNames.join('\n') !== folder.classNames.join('\n')) {
            throw inputError(spec.valDir, `class folders [${v.classNames.join(', ')}] differ from the training folder's [${folder.classNames.join(', ')}]`);
          }
          val = v;
        }
        break;
      }
      case 'mnist-demo': {
        const chw = concreteChw(model, 'the MNIST demo');
        // The demo's train/test split is fixed (the default split seed), whatever the run's seed: the
        // bundled model was trained on that train split, so its test digits must stay unseen.
        train = new MnistDemoDataset({ split: 'train', inputShape: chw });
        val = new MnistDemoDataset({ split: 'test', inputShape: chw });
        break;
      }
    }
    if (val === null && (options.valFraction ?? 0) > 0) {
      const split = trainValSplit(train.count, { valFraction: options.valFraction, seed: options.seed ?? 0 });
      // A set too small for its share to round to one sample keeps every sample for training and has no
      // held-out accuracy, rather than an empty validation set reported as "the data set is empty".
      if (split.val.length > 0) {
        val = new SubsetDataset(train, split.val);
        train = new SubsetDataset(train, split.train);
      }
    }
    checkCompatible(train, model.inputShape, model.numClasses);
    if (val) checkCompatible(val, model.inputShape, model.numClasses);
    return { train, val, close };
  } catch (e) {
    close();
    throw e;
  }
}

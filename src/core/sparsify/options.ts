/** What a sparsify run is asked to do: the one options type the CLI, the extension and the worker share. */
import { MaskMethod, ScheduleGranularity, ScheduleKind } from '../types';

export type DataSpec =
  | { kind: 'npy'; inputs: string; labels?: string; valInputs?: string; valLabels?: string; normalize?: string }
  | { kind: 'images'; dir: string; valDir?: string; normalize?: string }
  | { kind: 'mnist-demo' }
  | { kind: 'none' };

export interface SparsifyOptions {
  model: string;
  out: string;
  pattern: string;
  method: MaskMethod;
  /** 0 = one-shot (mask + fold); K > 0 fine-tunes K epochs. */
  epochs: number;
  batchSize?: number;
  lr?: number;
  optimizer?: 'sgd' | 'adamw';
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  lrSchedule?: 'cosine' | 'step' | 'constant';
  labelSmoothing?: number;
  schedule?: ScheduleKind;
  decayStart?: number;
  decayEnd?: number;
  scheduleGranularity?: ScheduleGranularity;
  include?: string[];
  exclude?: string[];
  data?: DataSpec;
  /**
   * Share of the training data held out for the per-epoch evaluation when the data names no validation set, in
   * [0, 1) (0: none, the run evaluates on the training data); default RUN_DEFAULTS.valFraction. Fine-tuning only.
   */
  valFraction?: number;
  /** BN re-estimation after one-shot pruning: true/false, or the number of batches. */
  bnRecalibrate?: boolean | number;
  /**
   * Normalise sparsified layers that no BatchNorm follows for the run (identity on the dense model, re-estimated
   * or trained, folded back at export). On by default whenever data is given.
   */
  normalise?: boolean;
  /**
   * The data sanity check before the run (dense accuracy or confidence under the chosen preprocessing; stops a
   * run whose preprocessing is clearly wrong). On by default whenever data is given; false skips it.
   */
  sanityCheck?: boolean;
  seed?: number;
  threads?: number;
  runDir?: string;
  resume?: string;
  /** Overwrite an existing output file. */
  overwrite?: boolean;
  /**
   * The caller already reconciled `data.normalize` with the model's `maxq.preprocessing` metadata (compare does it
   * once for all its runs): the run neither looks the metadata up nor repeats the notes.
   */
  preprocessingResolved?: boolean;
}

/** `<dir>/<name>.maxq-2of4.onnx` beside the input, the default output name. */
export function defaultOutputPath(model: string, pattern: string, template = '${name}.maxq-${n}of${m}.onnx'): string {
  const path = require('path') as typeof import('path');
  const [n, m] = pattern.split(':');
  const name = path.basename(model).replace(/\.onnx$/i, '');
  return path.join(path.dirname(model), template.replace(/\$\{name\}/g, name).replace(/\$\{n\}/g, n).replace(/\$\{m\}/g, m));
}

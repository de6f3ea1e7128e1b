/**
 * The sparsify form's values: defaults from the settings and the model, checks a person can act on, and the
 * conversion to the core's SparsifyOptions. Pure: no vscode import.
 */
import type { DataSpec, SparsifyOptions } from '../../core/sparsify/options';
import type { MaskMethod } from '../../core/types';
import { DenseFractionSchedule } from '../../core/masks/denseFractionSchedule';
import { formHasData } from '../../protocol/batchNormNote';
import { MASK_METHODS, SCHEDULE_KINDS, SparsifyFormValues, TensorSignature } from '../../protocol/messages';

export interface FormDefaultsInput {
  pattern: string;
  method: MaskMethod;
  epochs: number;
  batchSize: number;
  output: string;
  inputs: TensorSignature[];
}

/** An MNIST-shaped input ([N,1,28,28] or [N,784]) can use the bundled demo data; anything else starts on NumPy arrays. */
export function looksLikeMnist(inputs: TensorSignature[]): boolean {
  const s = inputs[0]?.shape.slice(1).map((d) => (typeof d === 'number' ? d : -1));
  if (!s) return false;
  return (s.length === 3 && s[0] === 1 && s[1] === 28 && s[2] === 28) || (s.length === 1 && s[0] === 784);
}

/** The core's default window (spec §8.2): the first 25 % of the fine-tune, 0 ≤ s ≤ t < E. */
export function defaultDecayEnd(epochs: number): number {
  return epochs >= 1 ? DenseFractionSchedule.defaultForFineTune(epochs).decayEnd : 0;
}

export function defaultFormValues(d: FormDefaultsInput): SparsifyFormValues {
  return {
    pattern: d.pattern,
    method: d.method,
    epochs: d.epochs,
    batchSize: d.batchSize,
    lr: null,
    optimizer: 'default',
    schedule: 'linear',
    decayStart: 0,
    decayEnd: defaultDecayEnd(d.epochs),
    bnRecalibrate: true,
    normalise: true,
    dataKind: looksLikeMnist(d.inputs) ? 'mnist-demo' : 'npy',
    npyInputs: '',
    npyLabels: '',
    imagesDir: '',
    output: d.output,
    include: [],
    exclude: [],
  };
}

const PATTERN_RE = /^\s*(\d+)\s*:\s*(\d+)\s*$/;

/** Problems with the values, each one sentence; empty when the run can start. */
export function formProblems(v: SparsifyFormValues, modelPath: string): string[] {
  const problems: string[] = [];
  const m = PATTERN_RE.exec(v.pattern);
  if (!m) problems.push(`Pattern "${v.pattern}" is not N:M (two integers, e.g. 2:4).`);
  else if (!(Number(m[1]) >= 1 && Number(m[1]) < Number(m[2]))) problems.push(`Pattern ${v.pattern}: N must be at least 1 and smaller than M.`);
  if (!MASK_METHODS.includes(v.method)) problems.push(`Unknown method "${v.method}".`);
  if (!Number.isInteger(v.epochs) || v.epochs < 0) problems.push('Epochs must be a whole number, 0 or more (0 = one-shot).');
  if (!Number.isInteger(v.batchSize) || v.batchSize < 1) problems.push('Batch size must be a whole number, 1 or more.');
  if (v.lr !== null && !(Number.isFinite(v.lr) && v.lr > 0)) problems.push('Learning rate must be a positive number (or empty for the default).');
  if (!SCHEDULE_KINDS.includes(v.schedule)) problems.push(`Unknown schedule "${v.schedule}".`);
  if (v.epochs > 0) {
    const s = v.decayStart, t = v.decayEnd;
    if (!Number.isInteger(s) || !Number.isInteger(t) || s < 0 || s > t || t >= v.epochs) {
      problems.push(`Decay window must satisfy 0 ≤ start ≤ end < epochs (got ${s}..${t} with ${v.epochs} epochs).`);
    }
  }
  if ((v.epochs > 0 && v.dataKind === 'npy') || v.dataKind === 'distil') {
    if (!v.npyInputs.trim()) problems.push('Choose the .npy file with the training inputs.');
  }
  if (v.epochs > 0 && v.dataKind === 'images' && !v.imagesDir.trim()) problems.push('Choose the image folder.');
  const out = v.output.trim();
  if (!out) problems.push('Choose the output file.');
  else if (!out.toLowerCase().endsWith('.onnx')) problems.push('The output file must end in .onnx.');
  else if (samePath(out, modelPath)) problems.push('The output must not replace the input model.');
  return problems;
}

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => p.replace(/\\/g, '/').replace(/\/+/g, '/');
  return norm(a) === norm(b);
}

function dataSpec(v: SparsifyFormValues): DataSpec {
  // A one-shot run may go without data (formProblems asks for it when fine-tuning): an empty path is none.
  if (!formHasData(v)) return { kind: 'none' };
  switch (v.dataKind) {
    case 'mnist-demo':
      return { kind: 'mnist-demo' };
    case 'npy':
      return { kind: 'npy', inputs: v.npyInputs.trim(), ...(v.npyLabels.trim() ? { labels: v.npyLabels.trim() } : {}) };
    case 'images':
      return { kind: 'images', dir: v.imagesDir.trim() };
    case 'distil':
      return { kind: 'npy', inputs: v.npyInputs.trim() };
  }
}

export function toSparsifyOptions(v: SparsifyFormValues, model: string, extra: { threads: number; overwrite: boolean }): SparsifyOptions {
  return {
    model,
    out: v.output.trim(),
    pattern: v.pattern.replace(/\s+/g, ''),
    method: v.method,
    epochs: v.epochs,
    batchSize: v.batchSize,
    ...(v.lr !== null ? { lr: v.lr } : {}),
    ...(v.optimizer !== 'default' ? { optimizer: v.optimizer } : {}),
    schedule: v.schedule,
    decayStart: v.epochs > 0 ? v.decayStart : 0,
    decayEnd: v.epochs > 0 ? v.decayEnd : 0,
    ...(v.include.length ? { include: v.include } : {}),
    ...(v.exclude.length ? { exclude: v.exclude } : {}),
    data: dataSpec(v),
    bnRecalibrate: v.bnRecalibrate,
    // Saved form state from before the option existed has none: the core's default (on).
    normalise: v.normalise !== false,
    ...(extra.threads > 0 ? { threads: extra.threads } : {}),
    ...(extra.overwrite ? { overwrite: true } : {}),
  };
}

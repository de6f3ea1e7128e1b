/**
 * The sparsify form's values: defaults from the settings and the model, checks a person can act on, and the
 * conversion to the core's SparsifyOptions. Pure: no vscode import.
 */
import * as path from 'path';
import type { DataSpec, SparsifyOptions } from '../../core/sparsify/options';
import type { MaskMethod } from '../../core/types';
import { DenseFractionSchedule } from '../../core/masks/denseFractionSchedule';
import { formHasData } from '../../protocol/batchNormNote';
import { MASK_METHODS, PathField, SCHEDULE_KINDS, SparsifyFormValues, TensorSignature } from '../../protocol/messages';
import { customFieldsOf, customPreprocessProblems, DEFAULT_VAL_PERCENT, epochsText, formatPercent, MAX_VAL_PERCENT, normalizeOf, valPercentOk } from '../../protocol/preprocessing';

export { completeFormValues, inputChannels, looksLikeMnist, valPercentOk } from '../../protocol/preprocessing';

export interface FormDefaultsInput {
  pattern: string;
  method: MaskMethod;
  epochs: number;
  batchSize: number;
  output: string;
  inputs: TensorSignature[];
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
    sanityCheck: true,
    dataKind: 'npy',
    npyInputs: '',
    npyLabels: '',
    imagesDir: '',
    preprocess: 'unset',
    ...customFieldsOf('unit'),
    valKind: 'holdout',
    valPercent: DEFAULT_VAL_PERCENT,
    valInputs: '',
    valLabels: '',
    valDir: '',
    output: d.output,
    include: [],
    exclude: [],
  };
}

const PATTERN_RE = /^\s*(\d+)\s*:\s*(\d+)\s*$/;

/** The data kinds that read the user's files (and take the form's preprocessing and validation choices). */
function ownData(v: SparsifyFormValues): boolean {
  return v.dataKind === 'npy' || v.dataKind === 'images' || v.dataKind === 'distil';
}

/** Problems with the values, each one sentence; empty when the run can start. `channels`: the model input's, when known. */
export function formProblems(v: SparsifyFormValues, modelPath: string, channels?: number): string[] {
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
      problems.push(`Decay window must satisfy 0 ≤ start ≤ end < epochs (got ${s}..${t} with ${epochsText(v.epochs)}).`);
    }
  }
  if ((v.epochs > 0 && v.dataKind === 'npy') || v.dataKind === 'distil') {
    if (!v.npyInputs.trim()) problems.push('Choose the .npy file with the training inputs.');
  }
  if (v.epochs > 0 && v.dataKind === 'images' && !v.imagesDir.trim()) problems.push('Choose the image folder.');
  if (ownData(v) && formHasData(v)) {
    if (v.preprocess === 'unset') problems.push('Choose how the inputs are preprocessed (none if they are already normalised).');
    else if (v.preprocess === 'custom') {
      const p = customPreprocessProblems(v, channels);
      if (p.scale) problems.push(`Preprocessing scale: ${p.scale}`);
      if (p.mean) problems.push(`Preprocessing mean: ${p.mean}`);
      if (p.std) problems.push(`Preprocessing std: ${p.std}`);
    }
    if (v.valKind === 'holdout') {
      if (v.epochs > 0 && !valPercentOk(v.valPercent)) problems.push(`The hold-out share must be a number from 0 to ${MAX_VAL_PERCENT} %.`);
    } else if (v.dataKind === 'images') {
      if (!v.valDir.trim()) problems.push('Choose the validation image folder (or hold out a share of the training images).');
      else if (samePath(v.valDir.trim(), v.imagesDir.trim())) problems.push('The validation image folder must not be the training folder.');
    } else {
      if (!v.valInputs.trim()) problems.push('Choose the .npy file with the validation inputs (or hold out a share of the training data).');
      else if (samePath(v.valInputs.trim(), v.npyInputs.trim())) problems.push('The validation inputs must not be the training inputs.');
      else if (v.dataKind === 'npy' && v.npyLabels.trim() && !v.valLabels.trim()) problems.push('Choose the validation labels (.npy): the training data has labels.');
    }
  }
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
  const normalize = normalizeOf(v);
  const separate = v.valKind === 'separate';
  switch (v.dataKind) {
    case 'mnist-demo':
      return { kind: 'mnist-demo' };
    case 'npy':
    case 'distil': {
      // Distillation ignores the labels fields: the dense model's outputs are the targets.
      const labels = v.dataKind === 'npy' ? v.npyLabels.trim() : '';
      const valInputs = separate ? v.valInputs.trim() : '';
      const valLabels = valInputs && v.dataKind === 'npy' ? v.valLabels.trim() : '';
      return {
        kind: 'npy', inputs: v.npyInputs.trim(),
        ...(labels ? { labels } : {}),
        ...(valInputs ? { valInputs } : {}),
        ...(valLabels ? { valLabels } : {}),
        ...(normalize !== undefined ? { normalize } : {}),
      };
    }
    case 'images': {
      const valDir = separate ? v.valDir.trim() : '';
      return { kind: 'images', dir: v.imagesDir.trim(), ...(valDir ? { valDir } : {}), ...(normalize !== undefined ? { normalize } : {}) };
    }
  }
}

/** The held-out share of the training data for SparsifyOptions.valFraction, or undefined where none applies. */
function valFraction(v: SparsifyFormValues): number | undefined {
  if (v.epochs <= 0 || !ownData(v) || !formHasData(v) || v.valKind !== 'holdout' || !valPercentOk(v.valPercent)) return undefined;
  return Number((v.valPercent / 100).toFixed(6));
}

/** "hold out 10 % of the training data" / "validation: val.npy": what the form will ask of the run, for the hint and logs. */
export function validationText(v: SparsifyFormValues): string {
  if (v.dataKind === 'mnist-demo') return 'the demo’s fixed 2,000-digit test split';
  if (v.valKind === 'separate') return v.dataKind === 'images' ? `the images in ${v.valDir.trim() || '(choose a folder)'}` : `${v.valInputs.trim() || '(choose a .npy)'}`;
  if (v.epochs <= 0) return 'the training data (one-shot runs hold nothing out)';
  return valPercentOk(v.valPercent) && v.valPercent > 0 ? `hold out ${formatPercent(v.valPercent)} % of the training data` : 'the training data (nothing held out)';
}

/**
 * Where a Browse… dialog opens: beside the field's current path; else beside a related path already chosen (the
 * training inputs for their labels and the validation files); else the model's own folder, or the workspace
 * folder when the model lies outside one. Never a parent of those.
 */
export function browseStart(field: PathField, v: SparsifyFormValues, modelPath: string, workspaceFolder?: string): string {
  const current = v[field]?.trim();
  if (current && path.isAbsolute(current)) return field === 'imagesDir' || field === 'valDir' || field === 'output' ? current : path.dirname(current);
  const near: Record<PathField, PathField[]> = {
    npyInputs: ['npyLabels', 'valInputs'],
    npyLabels: ['npyInputs', 'valLabels'],
    imagesDir: ['valDir'],
    valInputs: ['npyInputs', 'valLabels'],
    valLabels: ['valInputs', 'npyLabels'],
    valDir: ['imagesDir'],
    output: [],
  };
  const related = near[field].map((f) => (v[f] ?? '').trim()).filter((p) => p !== '' && path.isAbsolute(p));
  if (related.length) return path.dirname(related[0]);
  const modelDir = path.dirname(modelPath);
  if (workspaceFolder && !isInside(modelDir, workspaceFolder)) return workspaceFolder;
  return modelDir;
}

function isInside(p: string, folder: string): boolean {
  const rel = path.relative(folder, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
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
    ...(valFraction(v) !== undefined ? { valFraction: valFraction(v) } : {}),
    bnRecalibrate: v.bnRecalibrate,
    // Saved form state from before the option existed has none: the core's default (on).
    normalise: v.normalise !== false,
    ...(v.sanityCheck === false ? { sanityCheck: false } : {}),
    ...(extra.threads > 0 ? { threads: extra.threads } : {}),
    ...(extra.overwrite ? { overwrite: true } : {}),
  };
}

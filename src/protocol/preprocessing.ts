/**
 * The sparsify form's input preprocessing and validation-data choices, and their mapping to the core's
 * `DataSpec.normalize` (`SCALE,MEAN,STD`, see src/core/data/normalize.ts) and `SparsifyOptions.valFraction`.
 *
 * Pure and shared: the webview shows and checks the fields, the host builds the options, the unit tests check
 * both. No DOM, no vscode, no core import (the webview bundle cannot take the core): the presets mirror the
 * core's PREPROCESSING_PRESETS, which a unit test keeps equal to these.
 */
import type { SparsifyFormValues, TensorSignature } from './messages';

/** A preset's name, as the core's `--normalize` accepts it. */
export type PreprocessPresetName = 'none' | 'unit' | 'symmetric' | 'imagenet' | 'mnist';
/**
 * 'unset': nothing chosen yet. The run never guesses (the core refuses 8-bit data without a choice), so the form
 * asks for one whenever it has the user's data.
 */
export type PreprocessChoice = 'unset' | PreprocessPresetName | 'custom';

export interface PreprocessPreset {
  name: PreprocessPresetName;
  label: string;
  /** The same preprocessing as a `SCALE,MEAN,STD` string. */
  normalize: string;
}

/** The core's presets (PREPROCESSING_PRESETS), in the order the form offers them. */
export const PREPROCESS_PRESETS: readonly PreprocessPreset[] = [
  { name: 'none', label: 'none (raw values)', normalize: '1,0,1' },
  { name: 'unit', label: '[0, 1] (x ÷ 255)', normalize: '1/255,0,1' },
  { name: 'symmetric', label: '[−1, 1] (x ÷ 127.5 − 1)', normalize: '2/255,1,1' },
  { name: 'imagenet', label: 'ImageNet mean/std', normalize: '1/255,0.485:0.456:0.406,0.229:0.224:0.225' },
  { name: 'mnist', label: 'MNIST mean/std', normalize: '1/255,0.1307,0.3081' },
];

export const PREPROCESS_CHOICES: readonly { value: PreprocessChoice; label: string }[] = [
  { value: 'unset', label: 'choose…' },
  ...PREPROCESS_PRESETS.map((p) => ({ value: p.name, label: p.label })),
  { value: 'custom', label: 'custom…' },
];

/** The MNIST demo's fixed preprocessing (the core's MNIST_NORMALIZATION). */
export const MNIST_DEMO_NORMALIZE = '1/255,0.1307,0.3081';

/** Default share of the training data held out for validation, in percent (the core's RUN_DEFAULTS.valFraction). */
export const DEFAULT_VAL_PERCENT = 10;
/** Hold-outs above this leave too little to train on. */
export const MAX_VAL_PERCENT = 90;

export type PreprocessValues = Pick<SparsifyFormValues, 'preprocess' | 'customScale' | 'customMean' | 'customStd'>;

/** A decimal or a fraction `a/b`, like the core's parser; NaN when it is neither. */
export function parseNormalizeNumber(text: string): number {
  const t = text.trim();
  const strict = (s: string) => (s.trim() === '' ? NaN : Number(s.trim()));
  const frac = /^([^/]+)\/([^/]+)$/.exec(t);
  return frac ? strict(frac[1]) / strict(frac[2]) : strict(t);
}

/**
 * Field problems of a custom preprocessing, one sentence per field (none when it is usable). `channels`, when
 * known, is the model input's channel count: a per-channel list must have 1 or that many values.
 */
export function customPreprocessProblems(v: Pick<PreprocessValues, 'customScale' | 'customMean' | 'customStd'>, channels?: number): { scale?: string; mean?: string; std?: string } {
  const problems: { scale?: string; mean?: string; std?: string } = {};
  const scale = parseNormalizeNumber(v.customScale ?? '');
  if (!Number.isFinite(scale) || scale === 0) problems.scale = 'A non-zero number or a fraction, e.g. 1/255.';
  const list = (text: string, what: 'mean' | 'std') => {
    const values = (text ?? '').split(':').map(parseNormalizeNumber);
    if (values.some((x) => !Number.isFinite(x))) return `A number, or one per channel separated by “:” (e.g. ${what === 'mean' ? '0.485:0.456:0.406' : '0.229:0.224:0.225'}).`;
    if (what === 'std' && values.some((x) => x <= 0)) return 'Each std must be positive.';
    if (channels !== undefined && values.length !== 1 && values.length !== channels) return `${values.length} values, but the model’s input has ${channels} channel${channels === 1 ? '' : 's'} (give 1 or ${channels}).`;
    return undefined;
  };
  const mean = list(v.customMean, 'mean');
  const std = list(v.customStd, 'std');
  if (mean) problems.mean = mean;
  if (std) problems.std = std;
  return problems;
}

/** The `SCALE,MEAN,STD` string of the choice; undefined when none is chosen. Custom values are not checked here. */
export function normalizeOf(v: PreprocessValues): string | undefined {
  if (v.preprocess === 'custom') {
    const clean = (s: string) => (s ?? '').split(':').map((p) => p.trim()).join(':');
    return `${(v.customScale ?? '').trim()},${clean(v.customMean)},${clean(v.customStd)}`;
  }
  return PREPROCESS_PRESETS.find((p) => p.name === v.preprocess)?.normalize;
}

/** The custom fields a choice starts from: the preset's own values, so switching to custom edits what was chosen. */
export function customFieldsOf(choice: PreprocessChoice): { customScale: string; customMean: string; customStd: string } {
  const spec = PREPROCESS_PRESETS.find((p) => p.name === choice)?.normalize ?? '1/255,0,1';
  const [customScale, customMean, customStd] = spec.split(',');
  return { customScale, customMean, customStd };
}

/** "x · 1/255, then (x − 0.1307) ÷ 0.3081" for a `SCALE,MEAN,STD` string (per-channel lists kept as a:b:c). */
export function describeNormalize(spec: string): string {
  const [scale, mean, std] = spec.split(',');
  const scaled = scale === '1' ? 'x' : `x · ${scale}`;
  if (mean === '0' && std === '1') return scaled === 'x' ? 'values as stored' : scaled;
  return `${scaled}, then (x − ${mean.replace(/:/g, ' : ')}) ÷ ${std.replace(/:/g, ' : ')}`;
}

/** "10", "12.5": a percentage as the form and the hints show it. */
export function formatPercent(p: number): string {
  return String(Number(p.toFixed(2)));
}

/**
 * What the form says about a decay window that leaves no room for a gradual schedule (start = end), or null when
 * the schedule is gradual (or the run is one-shot).
 */
export function scheduleOffNote(epochs: number, decayStart: number, decayEnd: number): string | null {
  if (!Number.isInteger(epochs) || epochs < 1 || !Number.isInteger(decayStart) || decayStart !== decayEnd) return null;
  const plural = epochs === 1 ? 'epoch' : 'epochs';
  if (decayStart === 0) {
    return `With ${epochs} ${plural} and the decay window 0→0 the gradual schedule is off: the N:M share is 100 % from the first step.`;
  }
  return `The decay window ${decayStart}→${decayEnd} is a single step, not a gradual schedule: dense until epoch ${decayStart}, then 100 % N:M.`;
}

/** "1 epoch", "3 epochs". */
export function epochsText(n: number): string {
  return `${n} epoch${n === 1 ? '' : 's'}`;
}

/** An MNIST-shaped input ([N,1,28,28] or [N,784]): the form points out the bundled demo data (never picks it itself). */
export function looksLikeMnist(inputs: readonly TensorSignature[]): boolean {
  const s = inputs[0]?.shape.slice(1).map((d) => (typeof d === 'number' ? d : -1));
  if (!s) return false;
  return (s.length === 3 && s[0] === 1 && s[1] === 28 && s[2] === 28) || (s.length === 1 && s[0] === 784);
}

/** The model input's channel count when it is a fixed [N, C, H, W] (or [C, H, W]) shape. */
export function inputChannels(inputs: readonly TensorSignature[]): number | undefined {
  const s = inputs[0]?.shape;
  const c = s?.length === 4 ? s[1] : s?.length === 3 ? s[0] : undefined;
  return typeof c === 'number' && c > 0 ? c : undefined;
}

/** "input `x`: N × 1 × 28 × 28 float" for the form's model line (several inputs joined by "; "). */
export function describeInputs(inputs: readonly TensorSignature[]): string {
  return inputs.map((i) => `input \`${i.name}\`: ${i.shape.join(' × ')} ${i.dtype}`).join('; ');
}

/**
 * Form state saved by an older version lacks the newer fields: each takes its default (and an unknown choice
 * the default choice). Returns the same object, completed.
 */
export function completeFormValues(v: SparsifyFormValues, defaults: SparsifyFormValues): SparsifyFormValues {
  const record = v as unknown as Record<string, unknown>;
  for (const [k, d] of Object.entries(defaults)) if (record[k] === undefined) record[k] = d;
  if (!PREPROCESS_CHOICES.some((c) => c.value === v.preprocess)) v.preprocess = defaults.preprocess;
  if (v.valKind !== 'holdout' && v.valKind !== 'separate') v.valKind = defaults.valKind;
  return v;
}

/** Whether the hold-out percentage is usable: 0 (no validation) up to MAX_VAL_PERCENT. */
export function valPercentOk(p: number | null | undefined): boolean {
  return typeof p === 'number' && Number.isFinite(p) && p >= 0 && p <= MAX_VAL_PERCENT;
}

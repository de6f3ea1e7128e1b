/**
 * Input normalisation `x' = (x · scale − mean[c]) / std[c]`, the torchvision `ToTensor` + `Normalize` pair
 * folded into one multiply-add per element. Users write it as one option string, `SCALE,MEAN,STD`:
 *
 *   `1/255,0.1307,0.3081`                         MNIST-style: bytes to [0, 1], then one mean/std for all channels
 *   `1/255,0.485:0.456:0.406,0.229:0.224:0.225`   per-channel mean and std, separated by `:`
 *   `1,0,1`                                       identity (inputs already normalised)
 *
 * Each number may be a decimal or a fraction `a/b`. A per-channel list must have one entry per input channel
 * (checked when a data set applies it, since only then is the channel count known).
 *
 * The option also takes the name of a preset (PREPROCESSING_PRESETS: `none`, `unit`, `symmetric`, `imagenet`,
 * `mnist`); the CLI, the sparsify form and the core's data sanity check share that one list.
 */
import { usageError } from '../errors';

export interface Normalization {
  scale: number;
  /** One value for all channels, or one per channel. */
  mean: number[];
  std: number[];
}

export const IDENTITY_NORMALIZATION: Normalization = { scale: 1, mean: [0], std: [1] };

/** Bytes to [0, 1], nothing else: the default for 8-bit images. */
export const UNIT_NORMALIZATION: Normalization = { scale: 1 / 255, mean: [0], std: [1] };

export interface PreprocessingPreset {
  /** What `--normalize` accepts. */
  name: string;
  /** How reports and messages name it ("[0,1]", "MNIST mean/std"). */
  label: string;
  /** The same preprocessing as a `SCALE,MEAN,STD` string. */
  normalize: string;
  description: string;
}

/** The preprocessing presets, in the order the form offers them. */
export const PREPROCESSING_PRESETS: readonly PreprocessingPreset[] = [
  { name: 'none', label: 'raw values', normalize: '1,0,1', description: 'no preprocessing: the values as stored (inputs already normalised)' },
  { name: 'unit', label: '[0,1]', normalize: '1/255,0,1', description: 'bytes to [0, 1] (x / 255)' },
  { name: 'symmetric', label: '[-1,1]', normalize: '2/255,1,1', description: 'bytes to [-1, 1] (x / 127.5 − 1)' },
  { name: 'imagenet', label: 'ImageNet mean/std', normalize: '1/255,0.485:0.456:0.406,0.229:0.224:0.225', description: 'bytes to [0, 1], then the ImageNet per-channel mean/std (RGB)' },
  { name: 'mnist', label: 'MNIST mean/std', normalize: '1/255,0.1307,0.3081', description: 'bytes to [0, 1], then the MNIST mean 0.1307 / std 0.3081' },
];

/** The preset of that name (case-insensitive), or undefined. */
export function findPreset(name: string): PreprocessingPreset | undefined {
  const n = name.trim().toLowerCase();
  return PREPROCESSING_PRESETS.find((p) => p.name === n);
}

/** `none, unit, …`: for messages that list the choices. */
export function presetNames(): string {
  return PREPROCESSING_PRESETS.map((p) => p.name).join(', ');
}

/** A preset name or a `SCALE,MEAN,STD` string as the `SCALE,MEAN,STD` string it means (checked). */
export function resolveNormalize(spec: string): string {
  const preset = findPreset(spec);
  if (preset) return preset.normalize;
  parseNormalization(spec);
  return spec.trim();
}

/** How a message names a preprocessing: the preset's label when it is one, else the string itself. */
export function describeNormalize(spec: string): string {
  const preset = findPreset(spec) ?? PREPROCESSING_PRESETS.find((p) => sameNormalization(parseNormalization(p.normalize), safeParse(spec)));
  return preset ? preset.label : spec;
}

function safeParse(spec: string): Normalization | undefined {
  try {
    return parseNormalization(spec);
  } catch {
    return undefined;
  }
}

function sameList(a: number[], b: number[]): boolean {
  const close = (x: number, y: number) => Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  if (a.length === b.length) return a.every((x, i) => close(x, b[i]));
  const [one, many] = a.length === 1 ? [a, b] : b.length === 1 ? [b, a] : [null, null];
  return one !== null && many!.every((x) => close(x, one[0]));
}

export function sameNormalization(a: Normalization | undefined, b: Normalization | undefined): boolean {
  if (!a || !b) return false;
  return Math.abs(a.scale - b.scale) <= 1e-12 * Math.max(1, Math.abs(a.scale)) && sameList(a.mean, b.mean) && sameList(a.std, b.std);
}

function parseNumber(text: string, what: string, spec: string): number {
  const t = text.trim();
  const frac = /^([^/]+)\/([^/]+)$/.exec(t);
  const value = frac ? parseStrict(frac[1]) / parseStrict(frac[2]) : parseStrict(t);
  if (!Number.isFinite(value)) throw usageError(`bad ${what} '${text}' in normalisation '${spec}' (expected a number or a fraction like 1/255)`);
  return value;
}

/** Number() accepts '' and ' ' as 0; a normalisation typo should not silently become 0. */
function parseStrict(t: string): number {
  const s = t.trim();
  return s === '' ? NaN : Number(s);
}

/** Parses `SCALE,MEAN,STD` or a preset name (see the module comment). */
export function parseNormalization(spec: string): Normalization {
  const preset = findPreset(spec);
  if (preset) spec = preset.normalize;
  const parts = spec.split(',');
  if (parts.length !== 3) {
    throw usageError(`normalisation '${spec}' must be SCALE,MEAN,STD (e.g. 1/255,0.1307,0.3081; per-channel mean/std separated by ':') or a preset: ${presetNames()}`);
  }
  const scale = parseNumber(parts[0], 'scale', spec);
  const mean = parts[1].split(':').map((p) => parseNumber(p, 'mean', spec));
  const std = parts[2].split(':').map((p) => parseNumber(p, 'std', spec));
  const n: Normalization = { scale, mean, std };
  checkNormalization(n);
  return n;
}

/** Rejects values that would make every input NaN/∞ or zero, and per-channel lists of the wrong length. */
export function checkNormalization(n: Normalization, channels?: number): void {
  if (!Number.isFinite(n.scale) || n.scale === 0) throw usageError(`normalisation scale must be a non-zero number, got ${n.scale}`);
  if (n.mean.length === 0 || n.std.length === 0) throw usageError('normalisation needs a mean and a std');
  if (n.mean.some((m) => !Number.isFinite(m))) throw usageError(`normalisation mean must be finite, got ${n.mean.join(':')}`);
  if (n.std.some((s) => !Number.isFinite(s) || s <= 0)) throw usageError(`normalisation std must be positive, got ${n.std.join(':')}`);
  if (channels !== undefined) {
    for (const [what, list] of [['mean', n.mean], ['std', n.std]] as const) {
      if (list.length !== 1 && list.length !== channels) {
        throw usageError(`normalisation ${what} has ${list.length} values but the inputs have ${channels} channels (give 1 or ${channels})`);
      }
    }
  }
}

/** Per-channel multiplier a and offset b such that x' = a·x + b; precomputed so the hot loop is one FMA. */
export function channelAffine(n: Normalization, channels: number): { mul: Float64Array; add: Float64Array } {
  checkNormalization(n, channels);
  const mul = new Float64Array(channels);
  const add = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const mean = n.mean.length === 1 ? n.mean[0] : n.mean[c];
    const std = n.std.length === 1 ? n.std[0] : n.std[c];
    mul[c] = n.scale / std;
    add[c] = -mean / std;
  }
  return { mul, add };
}

export function formatNormalization(n: Normalization): string {
  return `${n.scale},${n.mean.join(':')},${n.std.join(':')}`;
}

/** The `SCALE,MEAN,STD` string of a normalisation: a preset's own string when it is one, else formatNormalization. */
export function canonicalNormalize(n: Normalization): string {
  return PREPROCESSING_PRESETS.find((p) => sameNormalization(parseNormalization(p.normalize), n))?.normalize ?? formatNormalization(n);
}

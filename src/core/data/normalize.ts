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

/** Parses `SCALE,MEAN,STD` (see the module comment). */
export function parseNormalization(spec: string): Normalization {
  const parts = spec.split(',');
  if (parts.length !== 3) {
    throw usageError(`normalisation '${spec}' must be SCALE,MEAN,STD (e.g. 1/255,0.1307,0.3081; per-channel mean/std separated by ':')`);
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

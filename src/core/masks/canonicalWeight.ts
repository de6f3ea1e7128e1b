/**
 * The one weight view every mask routine works on: fp32 values in OIHW row-major order (spec §2). Linear layers
 * are brought to [out, in, 1, 1] by `layout.ts` first, so the mask code never branches on the layer type.
 */
import { usageError } from '../errors';

export interface CanonicalWeight {
  /** O·I·Kh·Kw values, offset of (o, i, h, w) = ((o·I + i)·Kh + h)·Kw + w. */
  data: Float32Array;
  O: number;
  I: number;
  Kh: number;
  Kw: number;
}

/** Checked constructor: the dimensions must be positive integers whose product is the data length. */
export function canonicalWeight(data: Float32Array, O: number, I: number, Kh = 1, Kw = 1): CanonicalWeight {
  const w = { data, O, I, Kh, Kw };
  assertCanonicalShape(w);
  return w;
}

export function assertCanonicalShape(w: CanonicalWeight, name?: string): void {
  const where = name ? `layer '${name}': ` : '';
  for (const [label, v] of [['O', w.O], ['I', w.I], ['Kh', w.Kh], ['Kw', w.Kw]] as const) {
    if (!Number.isInteger(v) || v < 1) throw usageError(`${where}weight dimension ${label} must be a positive integer, got ${v}`);
  }
  const numel = w.O * w.I * w.Kh * w.Kw;
  if (w.data.length !== numel) {
    throw usageError(`${where}weight has ${w.data.length} values but shape [${w.O}, ${w.I}, ${w.Kh}, ${w.Kw}] needs ${numel}`);
  }
}

export function numel(w: CanonicalWeight): number {
  return w.O * w.I * w.Kh * w.Kw;
}

/**
 * The raw IEEE bits of the weights as int32, sharing the buffer. `bits & 0x7fffffff` is the bit pattern of |w|,
 * and for finite non-negative floats that pattern orders exactly like the value, so every magnitude ranking can
 * use branch-free integer arithmetic (sign of a difference) instead of float compares, which V8 compiles to
 * unpredictable branches. −0 and +0 both map to key 0, as |−0| = |+0|.
 */
export function magnitudeKeys(data: Float32Array): Int32Array {
  return new Int32Array(data.buffer, data.byteOffset, data.length);
}

/** Mask that turns raw float bits into the magnitude key (clears the sign). */
export const MAGNITUDE_MASK = 0x7fffffff;

/** Index of the first NaN/±Inf value, or −1. One pass over the integer bits (exponent all ones = not finite). */
export function firstNonFinite(data: Float32Array): number {
  const bits = magnitudeKeys(data);
  const n = bits.length;
  // Branch-free accumulation: exponent field + 1 reaches 256 (bit 8) only when the field is all ones.
  let acc = 0;
  for (let i = 0; i < n; i++) acc |= ((bits[i] >>> 23) & 0xff) + 1;
  if ((acc & 0x100) === 0) return -1;
  for (let i = 0; i < n; i++) if ((bits[i] & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/**
 * Spec §7: non-finite weights are rejected up front because Inf·0 = NaN would break the N:M pattern after
 * folding. The message names the layer and the canonical coordinate so the user can find the value.
 */
export function assertFiniteWeight(w: CanonicalWeight, name?: string): void {
  const at = firstNonFinite(w.data);
  if (at < 0) return;
  const KK = w.Kh * w.Kw;
  const o = Math.floor(at / (w.I * KK));
  const i = Math.floor(at / KK) % w.I;
  const h = Math.floor((at % KK) / w.Kw);
  const x = at % w.Kw;
  const where = name ? `layer '${name}'` : 'weight';
  throw usageError(`${where} has a non-finite value (${w.data[at]}) at [${o}, ${i}, ${h}, ${x}]; N:M masks need finite weights`);
}

/** Float value of a magnitude key (the inverse of `magnitudeKeys` for one value). */
const keyBits = new Int32Array(1);
const keyFloat = new Float32Array(keyBits.buffer);
export function keyToFloat(key: number): number {
  keyBits[0] = key;
  return keyFloat[0];
}

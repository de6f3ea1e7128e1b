/**
 * float16 and bfloat16 ↔ float32, bit-exact. Both directions round to nearest, ties to even (what numpy,
 * PyTorch and ONNX Runtime do), so a float32 value that came from a half tensor converts back to the same bits.
 * Work is done on the IEEE bit patterns through Uint32Array views so NaN payloads and −0 survive.
 */

let halfTable: Uint32Array | undefined;

/** float32 bit patterns of all 65536 float16 values; built once (256 KiB) so decoding is one lookup per element. */
function halfToFloatBitsTable(): Uint32Array {
  if (halfTable) return halfTable;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    let exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0) {
      if (mant === 0) {
        t[h] = sign >>> 0;
        continue;
      }
      // Subnormal half: normalise into a float32 normal.
      exp = 127 - 15 + 1;
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        exp--;
      }
      t[h] = (sign | (exp << 23) | ((mant & 0x3ff) << 13)) >>> 0;
    } else if (exp === 31) {
      t[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else {
      t[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    }
  }
  halfTable = t;
  return t;
}

/** float32 bit pattern → float16 bit pattern, round to nearest even. */
export function float32BitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00; // NaN stays quiet NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // a carry into the exponent is correct (→ inf)
  return sign | half;
}

/** float32 bit pattern → bfloat16 bit pattern, round to nearest even. */
export function float32BitsToBfloat16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  const lsb = (x >>> 16) & 1;
  return Math.floor(((x >>> 0) + 0x7fff + lsb) / 65536) & 0xffff; // a carry into the exponent is correct
}

export function halfToFloat32Array(bits: Uint16Array): Float32Array {
  const table = halfToFloatBitsTable();
  const out = new Float32Array(bits.length);
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) o[i] = table[bits[i]];
  return out;
}

export function bfloat16ToFloat32Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) o[i] = bits[i] << 16 >>> 0;
  return out;
}

/** `values` must not be a view with an unaligned offset (any Float32Array is aligned). */
export function float32ToHalfArray(values: Float32Array): Uint16Array {
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < src.length; i++) out[i] = float32BitsToHalf(src[i]);
  return out;
}

export function float32ToBfloat16Array(values: Float32Array): Uint16Array {
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < src.length; i++) out[i] = float32BitsToBfloat16(src[i]);
  return out;
}

/** Scalar conveniences (tests, casts of single values). */
export function halfToFloat(bits: number): number {
  const u = new Uint32Array([halfToFloatBitsTable()[bits & 0xffff]]);
  return new Float32Array(u.buffer)[0];
}

export function floatToHalf(value: number): number {
  const f = new Float32Array([value]);
  return float32BitsToHalf(new Uint32Array(f.buffer)[0]);
}

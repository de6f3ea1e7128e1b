/**
 * Hard masks as bits: 8 weights per byte, least significant bit first (bit b of byte j is element 8j + b, as
 * numpy.packbits(..., bitorder='little') writes it). `maxq masks --pack-hard` stores hard masks this way, an
 * eighth of the U8 form; numpy reads one back with
 * `np.unpackbits(t, bitorder='little')[:count].reshape(shape)`.
 */
import { usageError } from '../errors';

/** Bytes needed for `count` bits. */
export function packedLength(count: number): number {
  return Math.ceil(count / 8);
}

/** 0/1 values (any non-zero counts as 1) → bits; the unused high bits of the last byte are 0. */
export function packBits(values: Uint8Array, out?: Uint8Array): Uint8Array {
  const n = values.length;
  const bytes = out ?? new Uint8Array(packedLength(n));
  if (bytes.length !== packedLength(n)) throw usageError(`packed mask buffer has ${bytes.length} bytes, ${packedLength(n)} needed for ${n} values`);
  const full = n >> 3;
  for (let j = 0, i = 0; j < full; j++, i += 8) {
    bytes[j] =
      (values[i] ? 1 : 0) | (values[i + 1] ? 2 : 0) | (values[i + 2] ? 4 : 0) | (values[i + 3] ? 8 : 0) |
      (values[i + 4] ? 16 : 0) | (values[i + 5] ? 32 : 0) | (values[i + 6] ? 64 : 0) | (values[i + 7] ? 128 : 0);
  }
  if (full < bytes.length) {
    let b = 0;
    for (let i = full * 8, bit = 0; i < n; i++, bit++) if (values[i]) b |= 1 << bit;
    bytes[full] = b;
  }
  return bytes;
}

/** Bits → `count` values of 0/1. */
export function unpackBits(bytes: Uint8Array, count: number): Uint8Array {
  if (bytes.length !== packedLength(count)) throw usageError(`packed mask has ${bytes.length} bytes, expected ${packedLength(count)} for ${count} values`);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
  return out;
}

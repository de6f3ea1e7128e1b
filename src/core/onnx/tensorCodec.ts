/**
 * Tensor values between their stored forms (little-endian raw bytes, protobuf typed fields) and JS typed
 * arrays, and between a type's native array and the float32 the analysis works in.
 */
import { usageError } from '../errors';
import { DataType, onnx, protobuf } from './proto';
import { dataTypeName, integerRange, NativeArray, nativeCtor, TypedFieldName, typedFieldOf } from './dtypes';
import { bfloat16ToFloat32Array, float32ToBfloat16Array, float32ToHalfArray, halfToFloat32Array } from './halfFloat';
import { toBigInt, toNumber } from './int64';
import { shown } from './shown';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytesInPlace(bytes: Uint8Array, size: number): void {
  if (size <= 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

function ctorFor(dataType: number) {
  const ctor = nativeCtor(dataType);
  if (!ctor) throw new Error(`no native array for ${dataTypeName(dataType)}`);
  return ctor;
}

/**
 * Little-endian bytes → native array. Always copies into a fresh, aligned buffer: raw_data is a view into the
 * model file at an arbitrary (often odd) offset, which a Float32Array can't be laid over.
 */
export function nativeFromRaw(dataType: number, bytes: Uint8Array, count: number): NativeArray {
  const ctor = ctorFor(dataType);
  const size = ctor.BYTES_PER_ELEMENT;
  const copy = new Uint8Array(count * size);
  copy.set(bytes.subarray(0, count * size));
  if (!HOST_LITTLE_ENDIAN) swapBytesInPlace(copy, size);
  return new ctor(copy.buffer);
}

/**
 * Little-endian bytes → native array for reading only: a view on the same bytes when the host is little-endian
 * and the offset is aligned to the element size (no copy), otherwise an aligned copy as `nativeFromRaw` makes.
 */
export function nativeViewOfRaw(dataType: number, bytes: Uint8Array, count: number): NativeArray {
  const ctor = ctorFor(dataType);
  const size = ctor.BYTES_PER_ELEMENT;
  if (!HOST_LITTLE_ENDIAN || bytes.byteOffset % size !== 0 || bytes.length < count * size) return nativeFromRaw(dataType, bytes, count);
  return new (ctor as unknown as new (b: ArrayBufferLike, o: number, n: number) => NativeArray)(bytes.buffer, bytes.byteOffset, count);
}

/** Like nativeFromRaw for a buffer nobody else holds (just read from disk): reuses it instead of copying. */
export function nativeFromOwnedBytes(dataType: number, bytes: Uint8Array, count: number): NativeArray {
  const ctor = ctorFor(dataType);
  const size = ctor.BYTES_PER_ELEMENT;
  if (!HOST_LITTLE_ENDIAN || bytes.byteOffset !== 0 || bytes.byteLength !== count * size || bytes.buffer.byteLength !== bytes.byteLength) {
    return nativeFromRaw(dataType, bytes, count);
  }
  return new ctor(bytes.buffer as ArrayBuffer);
}

/** Native array → little-endian bytes (a copy). */
export function nativeToRaw(data: NativeArray): Uint8Array {
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (!HOST_LITTLE_ENDIAN) swapBytesInPlace(bytes, data.BYTES_PER_ELEMENT);
  return bytes;
}

/** Typed fields (float_data, int32_data, …) → native array. Sizes were validated when the model was loaded. */
export function nativeFromTyped(dataType: number, t: onnx.ITensorProto, count: number): NativeArray {
  const ctor = ctorFor(dataType);
  const field = typedFieldOf(dataType);
  const out = new ctor(count);
  if (field === 'float_data' || field === 'double_data') {
    const src = (field === 'float_data' ? t.floatData : t.doubleData) ?? [];
    for (let i = 0; i < count; i++) (out as Float32Array)[i] = src[i];
  } else if (field === 'int32_data') {
    // float16/bfloat16 bits and 8/16-bit integers are widened to int32 here; the typed array truncates back.
    const src = t.int32Data ?? [];
    for (let i = 0; i < count; i++) (out as Int32Array)[i] = src[i];
  } else if (field === 'int64_data' || field === 'uint64_data') {
    const src = (field === 'int64_data' ? t.int64Data : t.uint64Data) ?? [];
    const unsigned = field === 'uint64_data';
    if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
      for (let i = 0; i < count; i++) out[i] = toBigInt(src[i], unsigned);
    } else {
      for (let i = 0; i < count; i++) (out as Uint32Array)[i] = toNumber(src[i], unsigned);
    }
  } else {
    throw new Error(`no typed field for ${dataTypeName(dataType)}`);
  }
  return out;
}

/** Native array → float32 (float64 and int64 are narrowed; that is what the analysis works in). */
export function nativeToFloat32(dataType: number, data: NativeArray): Float32Array {
  if (dataType === DataType.FLOAT) return data as Float32Array;
  if (dataType === DataType.FLOAT16) return halfToFloat32Array(data as Uint16Array);
  if (dataType === DataType.BFLOAT16) return bfloat16ToFloat32Array(data as Uint16Array);
  const out = new Float32Array(data.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  } else {
    out.set(data as Exclude<NativeArray, BigInt64Array | BigUint64Array>);
  }
  return out;
}

/** Round half to even, as QuantizeLinear and numpy.rint do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * float32 values → the native array of `dataType`. Floats round to nearest even; integers round half to
 * even and must be finite and in range (`label` names the tensor in the error).
 */
export function float32ToNative(dataType: number, values: Float32Array, label: string): NativeArray {
  switch (dataType) {
    case DataType.FLOAT:
      return Float32Array.from(values);
    case DataType.DOUBLE:
      return Float64Array.from(values);
    case DataType.FLOAT16:
      return float32ToHalfArray(values);
    case DataType.BFLOAT16:
      return float32ToBfloat16Array(values);
  }
  const range = integerRange(dataType);
  const ctor = nativeCtor(dataType);
  if (!range || !ctor) throw usageError(`tensor '${shown(label)}': cannot write values of data type ${dataTypeName(dataType)}`);
  const out = new ctor(values.length);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < values.length; i++) {
    const r = roundHalfEven(values[i]);
    if (!(r >= range[0] && r <= range[1])) {
      throw usageError(`tensor '${shown(label)}': value ${values[i]} at index ${i} does not fit ${dataTypeName(dataType)}`);
    }
    if (big) (out as BigInt64Array)[i] = BigInt(r);
    else (out as Int32Array)[i] = r;
  }
  return out;
}

/** The `long` package's constructor when protobufjs found it (it then decodes int64 as Long, too). */
const LongCtor = protobuf.util.Long as unknown as { fromString(s: string, unsigned: boolean): protobuf.Long } | undefined;

/** The payload of one packed typed field holding `data` (the caller adds tag and length). */
export function typedFieldPayload(dataType: number, data: NativeArray): { field: TypedFieldName; payload: Uint8Array } {
  const field = typedFieldOf(dataType);
  if (!field || field === 'string_data') throw new Error(`no typed field for ${dataTypeName(dataType)}`);
  // Packed fixed32/fixed64 payloads are exactly the little-endian element bytes.
  if (field === 'float_data' || field === 'double_data') return { field, payload: nativeToRaw(data) };
  const w = protobuf.Writer.create();
  if (field === 'int32_data') {
    for (let i = 0; i < data.length; i++) w.int32(Number(data[i]));
  } else {
    const unsigned = field === 'uint64_data';
    for (let i = 0; i < data.length; i++) {
      const s = data[i].toString();
      const v = LongCtor ? LongCtor.fromString(s, unsigned) : Number(s);
      if (unsigned) w.uint64(v);
      else w.int64(v);
    }
  }
  return { field, payload: w.finish() };
}

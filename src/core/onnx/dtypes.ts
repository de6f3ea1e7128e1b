/**
 * What the core knows about each TensorProto data type: storage size, which typed field holds it when there
 * is no raw_data, and the JS typed array it is read into. Types that exist but can't be read (strings, complex,
 * float8, 4-bit) still have sizes so that their tensors can be validated and carried through untouched.
 */
import { DataType, dataTypeName } from './proto';

export type NativeArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** Bytes per element in raw_data / external data (0.5 for packed 4-bit types). Absent: unknown type or strings. */
const ELEMENT_BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4, [DataType.UINT8]: 1, [DataType.INT8]: 1, [DataType.UINT16]: 2, [DataType.INT16]: 2,
  [DataType.INT32]: 4, [DataType.INT64]: 8, [DataType.BOOL]: 1, [DataType.FLOAT16]: 2, [DataType.DOUBLE]: 8,
  [DataType.UINT32]: 4, [DataType.UINT64]: 8, [DataType.COMPLEX64]: 8, [DataType.COMPLEX128]: 16,
  [DataType.BFLOAT16]: 2, [DataType.FLOAT8E4M3FN]: 1, [DataType.FLOAT8E4M3FNUZ]: 1, [DataType.FLOAT8E5M2]: 1,
  [DataType.FLOAT8E5M2FNUZ]: 1, [DataType.UINT4]: 0.5, [DataType.INT4]: 0.5, [DataType.FLOAT4E2M1]: 0.5,
};

export function elementBytes(dataType: number): number | undefined {
  return ELEMENT_BYTES[dataType];
}

/** Bytes that `count` elements occupy in raw form (4-bit types pack two per byte). */
export function storageBytes(dataType: number, count: number): number | undefined {
  const b = ELEMENT_BYTES[dataType];
  return b === undefined ? undefined : Math.ceil(count * b);
}

/** TensorProto field numbers of the typed (non-raw) storage fields. */
export const TypedField = { float_data: 4, int32_data: 5, string_data: 6, int64_data: 7, double_data: 10, uint64_data: 11 } as const;

export type TypedFieldName = keyof typeof TypedField;

/** The typed field a data type is stored in when raw_data is not used (onnx.proto's comments). */
export function typedFieldOf(dataType: number): TypedFieldName | undefined {
  switch (dataType) {
    case DataType.FLOAT: case DataType.COMPLEX64:
      return 'float_data';
    case DataType.DOUBLE: case DataType.COMPLEX128:
      return 'double_data';
    case DataType.INT64:
      return 'int64_data';
    case DataType.UINT32: case DataType.UINT64:
      return 'uint64_data';
    case DataType.STRING:
      return 'string_data';
    case DataType.INT32: case DataType.INT16: case DataType.INT8: case DataType.UINT16: case DataType.UINT8:
    case DataType.BOOL: case DataType.FLOAT16: case DataType.BFLOAT16: case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ: case DataType.FLOAT8E5M2: case DataType.FLOAT8E5M2FNUZ: case DataType.UINT4:
    case DataType.INT4: case DataType.FLOAT4E2M1:
      return 'int32_data';
    default:
      return undefined;
  }
}

/** How many typed-field entries hold `count` elements (complex: 2 per element; 4-bit: 2 elements per entry). */
export function typedEntriesFor(dataType: number, count: number): number {
  if (dataType === DataType.COMPLEX64 || dataType === DataType.COMPLEX128) return count * 2;
  if (dataType === DataType.UINT4 || dataType === DataType.INT4 || dataType === DataType.FLOAT4E2M1) return Math.ceil(count / 2);
  return count;
}

type NativeCtor = { new (buffer: ArrayBuffer): NativeArray; new (length: number): NativeArray; BYTES_PER_ELEMENT: number };

/** Typed array a readable type is held in. float16/bfloat16 are held as their uint16 bit patterns. */
const NATIVE: Record<number, NativeCtor> = {
  [DataType.FLOAT]: Float32Array, [DataType.DOUBLE]: Float64Array, [DataType.FLOAT16]: Uint16Array,
  [DataType.BFLOAT16]: Uint16Array, [DataType.INT8]: Int8Array, [DataType.UINT8]: Uint8Array,
  [DataType.INT16]: Int16Array, [DataType.UINT16]: Uint16Array, [DataType.INT32]: Int32Array,
  [DataType.UINT32]: Uint32Array, [DataType.INT64]: BigInt64Array, [DataType.UINT64]: BigUint64Array,
  [DataType.BOOL]: Uint8Array,
};

export function nativeCtor(dataType: number): NativeCtor | undefined {
  return NATIVE[dataType];
}

export function isReadable(dataType: number): boolean {
  return NATIVE[dataType] !== undefined;
}

export function isFloatType(dataType: number): boolean {
  return dataType === DataType.FLOAT || dataType === DataType.DOUBLE || dataType === DataType.FLOAT16 || dataType === DataType.BFLOAT16;
}

/** Integer range of an integer type, for quantisation and rounding on write. */
export function integerRange(dataType: number): [number, number] | undefined {
  switch (dataType) {
    case DataType.INT8: return [-128, 127];
    case DataType.UINT8: return [0, 255];
    case DataType.INT16: return [-32768, 32767];
    case DataType.UINT16: return [0, 65535];
    case DataType.INT32: return [-2147483648, 2147483647];
    case DataType.UINT32: return [0, 4294967295];
    case DataType.INT64: return [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    case DataType.UINT64: return [0, Number.MAX_SAFE_INTEGER];
    case DataType.BOOL: return [0, 1];
    default: return undefined;
  }
}

export { dataTypeName };

/**
 * The ONNX protobuf schema, as static protobufjs code generated from onnx.proto (npm `onnx-proto`).
 * All decoding and encoding of ONNX messages goes through it or through protobufjs' Reader/Writer.
 */
// eslint-disable-next-line @typescript-eslint/no-var-requires
import { onnx } from 'onnx-proto';
import * as protobuf from 'protobufjs/minimal';

export { onnx, protobuf };

/** TensorProto.DataType numbers (including ones newer than the bundled schema). */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22, FLOAT4E2M1: 23,
} as const;

export function dataTypeName(dt: number): string {
  for (const [k, v] of Object.entries(DataType)) if (v === dt) return k.toLowerCase();
  return `data type ${dt}`;
}

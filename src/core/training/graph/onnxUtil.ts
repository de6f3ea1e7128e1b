/**
 * Small readers for decoded ONNX messages used by the training-graph generator: attributes (protobufjs
 * gives int64 as number or Long) and initializer data (raw_data or the typed repeated fields).
 */
import { onnx, DataType } from '../../onnx/proto';

export function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof (v as { toNumber?: () => number }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

// Attribute readers are the core's own (onnx/nodeAttributes), under the names the rules use.
export { findAttr as attr, intAttr as attrInt, floatAttr as attrFloat, intsAttr as attrInts, stringAttr as attrString, nodeLabel } from '../../onnx/nodeAttributes';

export function tensorDims(t: onnx.ITensorProto): number[] {
  return (t.dims ?? []).map(toNum);
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** A copy of the tensor's bytes (raw_data) aligned for typed-array views. */
function rawCopy(t: onnx.ITensorProto): ArrayBuffer | undefined {
  const raw = t.rawData;
  if (!raw || raw.length === 0) return undefined;
  const buf = new ArrayBuffer(raw.length);
  new Uint8Array(buf).set(raw);
  return buf;
}

/** Float data of a FLOAT (or DOUBLE/FLOAT16-free) tensor as a fresh Float32Array. */
export function floatData(t: onnx.ITensorProto): Float32Array {
  const n = numel(tensorDims(t));
  const dt = t.dataType ?? 0;
  const raw = rawCopy(t);
  if (dt === DataType.FLOAT) {
    if (raw) return new Float32Array(raw);
    if (t.floatData && t.floatData.length > 0) return Float32Array.from(t.floatData);
    return new Float32Array(n);
  }
  if (dt === DataType.DOUBLE) {
    if (raw) return Float32Array.from(new Float64Array(raw));
    if (t.doubleData && t.doubleData.length > 0) return Float32Array.from(t.doubleData);
    return new Float32Array(n);
  }
  throw new Error(`tensor ${t.name}: expected float data, got data type ${dt}`);
}

/** Integer (or float) data of a small tensor as plain numbers: for shapes, axes, Clip bounds, … */
export function numberData(t: onnx.ITensorProto): number[] {
  const dt = t.dataType ?? 0;
  const raw = rawCopy(t);
  switch (dt) {
    case DataType.FLOAT:
    case DataType.DOUBLE:
      return Array.from(floatData(t));
    case DataType.INT64:
      if (raw) return Array.from(new BigInt64Array(raw), (v) => Number(v));
      return (t.int64Data ?? []).map(toNum);
    case DataType.INT32:
      if (raw) return Array.from(new Int32Array(raw));
      return (t.int32Data ?? []).map(toNum);
    case DataType.INT8:
      if (raw) return Array.from(new Int8Array(raw));
      return (t.int32Data ?? []).map(toNum);
    case DataType.UINT8:
    case DataType.BOOL:
      if (raw) return Array.from(new Uint8Array(raw));
      return (t.int32Data ?? []).map(toNum);
    default:
      throw new Error(`tensor ${t.name}: unsupported data type ${dt} for a constant`);
  }
}

/** True for data types whose values the shape propagator keeps as plain numbers. */
export function isIntType(dt: number): boolean {
  return dt === DataType.INT64 || dt === DataType.INT32 || dt === DataType.INT8 || dt === DataType.UINT8 || dt === DataType.BOOL;
}

export function staticShape(vi: onnx.IValueInfoProto): (number | undefined)[] | undefined {
  const dims = vi.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : undefined));
}

export function elemType(vi: onnx.IValueInfoProto): number {
  return vi.type?.tensorType?.elemType ?? 0;
}

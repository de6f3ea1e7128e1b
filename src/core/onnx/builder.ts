/**
 * A small builder for ONNX graphs: the training-graph generator emits its graphs with it, and tests use it
 * to make fixture models. It produces plain onnx.I* objects and encodes them with the schema.
 */
import { onnx, DataType } from './proto';

export type AttrValue =
  | number
  | number[]
  | string
  | string[]
  | { float: number }
  | { floats: number[] }
  | { tensor: onnx.ITensorProto };

export type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

function dataTypeOf(data: TypedData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint16Array) return DataType.FLOAT16; // raw half-precision bits
  return DataType.UINT8;
}

/** A tensor with its bytes in raw_data (little-endian, as ONNX stores them). */
export function tensor(name: string, dims: readonly number[], data: TypedData, dataType = dataTypeOf(data)): onnx.ITensorProto {
  return {
    name,
    dims: [...dims],
    dataType,
    rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  };
}

export function int64Tensor(name: string, values: readonly number[], dims: readonly number[] = [values.length]): onnx.ITensorProto {
  return tensor(name, dims, BigInt64Array.from(values.map((v) => BigInt(v))));
}

export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): onnx.ITensorProto {
  return tensor(name, dims, Float32Array.from(values as ArrayLike<number>));
}

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: A.STRING, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') {
      return { name, type: A.STRINGS, strings: (v as string[]).map((s) => Buffer.from(s, 'utf8')) };
    }
    const nums = v as number[];
    return nums.every((x) => Number.isInteger(x)) ? { name, type: A.INTS, ints: nums } : { name, type: A.FLOATS, floats: nums };
  }
  if ('float' in v) return { name, type: A.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: A.FLOATS, floats: v.floats };
  return { name, type: A.TENSOR, t: v.tensor };
}

export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: Record<string, AttrValue> = {},
  name?: string,
  domain = '',
): onnx.INodeProto {
  return {
    opType,
    domain,
    name: name ?? `${opType}_${outputs[0]}`,
    input: [...inputs],
    output: [...outputs],
    attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
  };
}

export function valueInfo(name: string, elemType: number, shape: readonly (number | string)[] | null): onnx.IValueInfoProto {
  const dims = shape === null ? undefined : shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: dims ? { dim: dims } : undefined } } };
}

export interface GraphSpec {
  name?: string;
  nodes: onnx.INodeProto[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  initializers?: onnx.ITensorProto[];
  valueInfo?: onnx.IValueInfoProto[];
}

export function modelProto(graph: GraphSpec, opset = 17, extra: Partial<onnx.IModelProto> = {}): onnx.IModelProto {
  return {
    irVersion: 8,
    producerName: 'maxq-studio',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: graph.name ?? 'graph',
      node: graph.nodes,
      input: graph.inputs,
      output: graph.outputs,
      initializer: graph.initializers ?? [],
      valueInfo: graph.valueInfo ?? [],
    },
    ...extra,
  };
}

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model as Record<string, unknown>)).finish();
}

/** Shorthand: build and encode a model in one go. */
export function buildModel(graph: GraphSpec, opset = 17, extra: Partial<onnx.IModelProto> = {}): Uint8Array {
  return encodeModel(modelProto(graph, opset, extra));
}

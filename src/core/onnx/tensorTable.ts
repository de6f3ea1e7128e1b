/**
 * The model's constant tensors (initializers and Constant-node outputs), each checked once at load time:
 * dims sane, data size matching the dims. Checking up front means a corrupt weight is reported when the
 * model is opened, not halfway through a run.
 */
import { inputError } from '../errors';
import { DataType, dataTypeName, onnx } from './proto';
import { elementBytes, storageBytes, typedEntriesFor, typedFieldOf } from './dtypes';
import { ExternalRef, parseExternalRef } from './externalData';
import { toSafeNumber } from './int64';
import { nodeLabel } from './nodeAttributes';
import { shown } from './shown';

/** Where a tensor's values are stored; the writer keeps the same form. */
export type TensorStorage = 'raw' | 'typed' | 'external' | 'empty' | 'value_float' | 'value_floats' | 'value_int' | 'value_ints';

export interface TensorInfo {
  name: string;
  dims: number[];
  dataType: number;
  dtype: string;
  source: 'initializer' | 'constant';
  /** The Constant node that produces it (source 'constant'). */
  nodeName?: string;
  external?: { location: string; offset: number; length: number };
  storage: TensorStorage;
  elementCount: number;
}

export interface TensorEntry {
  info: TensorInfo;
  /** The tensor (for value_float(s)/value_int(s) Constants, an equivalent tensor built from the attribute). */
  proto: onnx.ITensorProto;
  externalRef?: ExternalRef;
  /** The TensorProto object inside the decoded model (absent for the attribute-number forms). */
  stored?: onnx.ITensorProto;
}

/** Above this many elements a tensor is treated as corrupt: 2^40 float32s would be 4 TiB. */
export const MAX_ELEMENTS = 2 ** 40;

function checkDims(file: string, t: onnx.ITensorProto): { dims: number[]; count: number } {
  const name = t.name ?? '';
  const dims: number[] = [];
  for (const d of t.dims ?? []) {
    const n = toSafeNumber(d);
    if (n === undefined || n > MAX_ELEMENTS) {
      throw inputError(file, `tensor '${shown(name)}': dimension ${String(d)} is too large (more than 2^40); the file is probably corrupt`);
    }
    if (n < 0) throw inputError(file, `tensor '${shown(name)}': negative dimension ${n} in dims [${[...dims, n].join(', ')}…]`);
    dims.push(n);
  }
  let count = 1;
  for (const d of dims) count *= d;
  if (count > MAX_ELEMENTS) {
    throw inputError(file, `tensor '${shown(name)}': dims [${dims.join(', ')}] need ${count} elements, more than the 2^40 supported; the file is probably corrupt`);
  }
  return { dims, count };
}

/** Bytes one typed-field entry stands for, to report a mismatch in bytes. */
function bytesPerTypedEntry(dataType: number): number {
  if (dataType === DataType.COMPLEX64 || dataType === DataType.COMPLEX128) return (elementBytes(dataType) ?? 2) / 2;
  if (dataType === DataType.UINT4 || dataType === DataType.INT4 || dataType === DataType.FLOAT4E2M1) return 1;
  return elementBytes(dataType) ?? 1;
}

function heldEntries(t: onnx.ITensorProto, field: string): number {
  switch (field) {
    case 'float_data': return t.floatData?.length ?? 0;
    case 'int32_data': return t.int32Data?.length ?? 0;
    case 'int64_data': return t.int64Data?.length ?? 0;
    case 'double_data': return t.doubleData?.length ?? 0;
    case 'uint64_data': return t.uint64Data?.length ?? 0;
    case 'string_data': return t.stringData?.length ?? 0;
    default: return 0;
  }
}

function sizeMismatch(file: string, name: string, dims: number[], count: number, need: number, held: number, unit = 'bytes') {
  return inputError(file, `tensor '${shown(name)}': declares dims [${dims.join(', ')}] (${count} elements, ${need} ${unit}) but holds ${held} ${unit}`);
}

/**
 * Validates one tensor and works out how it is stored. `rawLength`: the length of its raw_data when the payload
 * was left in the file (models opened for reading), instead of `t.rawData`.
 */
export function makeEntry(file: string, t: onnx.ITensorProto, source: TensorInfo['source'], nodeName?: string, rawLength?: number): TensorEntry {
  const name = t.name ?? '';
  const dataType = t.dataType ?? 0;
  const { dims, count } = checkDims(file, t);
  const need = storageBytes(dataType, count);
  const info: TensorInfo = { name, dims, dataType, dtype: dataTypeName(dataType), source, storage: 'empty', elementCount: count };
  if (nodeName !== undefined) info.nodeName = nodeName;
  const entry: TensorEntry = { info, proto: t, stored: t };
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const ref = parseExternalRef(file, t, need);
    if (need !== undefined && ref.declaredLength && ref.length !== need) throw sizeMismatch(file, name, dims, count, need, ref.length);
    info.storage = 'external';
    info.external = { location: ref.location, offset: ref.offset, length: ref.length };
    entry.externalRef = ref;
    return entry;
  }
  const raw = rawLength ?? t.rawData?.length ?? 0;
  if (raw > 0) {
    if (need !== undefined && raw !== need) throw sizeMismatch(file, name, dims, count, need, raw);
    info.storage = 'raw';
    return entry;
  }
  const field = typedFieldOf(dataType);
  if (dataType === DataType.STRING) {
    const held = heldEntries(t, 'string_data');
    if (held !== count) throw sizeMismatch(file, name, dims, count, count, held, 'strings');
    info.storage = count === 0 ? 'empty' : 'typed';
    return entry;
  }
  if (field === undefined || need === undefined) {
    // A type this version doesn't know: carried through untouched; reading it reports the type.
    info.storage = count === 0 ? 'empty' : 'typed';
    return entry;
  }
  const entries = heldEntries(t, field);
  const expectedEntries = typedEntriesFor(dataType, count);
  if (entries !== expectedEntries) {
    throw sizeMismatch(file, name, dims, count, need, entries * bytesPerTypedEntry(dataType));
  }
  info.storage = count === 0 ? 'empty' : 'typed';
  return entry;
}

/** The tensor a Constant node produces, in any of its attribute forms; undefined for forms we don't read (sparse). */
export function constantEntry(file: string, node: onnx.INodeProto): TensorEntry | undefined {
  const out = node.output?.[0];
  if (!out) return undefined;
  const nodeName = nodeLabel(node);
  for (const a of node.attribute ?? []) {
    switch (a.name) {
      case 'value':
        if (!a.t) return undefined;
        return { ...makeEntry(file, { ...pickData(a.t), name: out }, 'constant', nodeName), stored: a.t };
      case 'value_float':
        return withStorage(makeEntry(file, { name: out, dims: [], dataType: DataType.FLOAT, floatData: [a.f ?? 0] }, 'constant', nodeName), 'value_float');
      case 'value_floats':
        return withStorage(makeEntry(file, { name: out, dims: [a.floats?.length ?? 0], dataType: DataType.FLOAT, floatData: a.floats ?? [] }, 'constant', nodeName), 'value_floats');
      case 'value_int':
        return withStorage(makeEntry(file, { name: out, dims: [], dataType: DataType.INT64, int64Data: [a.i ?? 0] }, 'constant', nodeName), 'value_int');
      case 'value_ints':
        return withStorage(makeEntry(file, { name: out, dims: [a.ints?.length ?? 0], dataType: DataType.INT64, int64Data: a.ints ?? [] }, 'constant', nodeName), 'value_ints');
      case 'value_string':
        return detached(makeEntry(file, { name: out, dims: [], dataType: DataType.STRING, stringData: [a.s ?? new Uint8Array(0)] }, 'constant', nodeName));
      case 'value_strings':
        return detached(makeEntry(file, { name: out, dims: [a.strings?.length ?? 0], dataType: DataType.STRING, stringData: a.strings ?? [] }, 'constant', nodeName));
      default:
        break;
    }
  }
  return undefined;
}

/** The tensor's data fields, under the Constant's output name (the tensor's own name may differ or be empty). */
function pickData(t: onnx.ITensorProto): onnx.ITensorProto {
  return {
    dims: t.dims, dataType: t.dataType, rawData: t.rawData, floatData: t.floatData, int32Data: t.int32Data, stringData: t.stringData,
    int64Data: t.int64Data, doubleData: t.doubleData, uint64Data: t.uint64Data, externalData: t.externalData, dataLocation: t.dataLocation,
  };
}

/** An entry whose tensor was built from attribute numbers/strings, so no TensorProto in the model backs it. */
function detached(e: TensorEntry): TensorEntry {
  delete e.stored;
  return e;
}

function withStorage(e: TensorEntry, storage: TensorStorage): TensorEntry {
  detached(e);
  if (e.info.elementCount > 0) e.info.storage = storage;
  return e;
}

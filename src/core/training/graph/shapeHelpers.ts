/**
 * The helpers of the static shape propagator: the TensorInfo type, broadcasting, axis and constant-input
 * handling, and the generic rules (same, binary, reduceShape) that several rule files share.
 *
 * This file imports no rule table. shapes.ts (the table) and the rule-group files it spreads (mathShapes.ts,
 * indexShapes.ts) all import their helpers from here, so the rule groups are fully built whichever file is
 * loaded first: no import cycle can leave `shapeRules` without them.
 */
import { onnx, DataType } from '../../onnx/proto';
import { inputError } from '../../errors';
import { attr, attrInt, attrInts, nodeLabel, numberData, numel, tensorDims, toNum, isIntType } from './onnxUtil';

export interface TensorInfo {
  dims: number[];
  dtype: number;
  /** Constant value (small tensors only, row-major). */
  value?: number[];
}

export const MAX_CONST_VALUE = 64;

export type ShapeRule = (node: onnx.INodeProto, inputs: (TensorInfo | undefined)[]) => TensorInfo[];

export function fail(node: onnx.INodeProto, msg: string): never {
  throw inputError(undefined, `${nodeLabel(node)} (${node.opType}): ${msg}`);
}

export function need(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[], i: number): TensorInfo {
  const t = inputs[i];
  if (!t) fail(node, `input ${i} has no known shape`);
  return t;
}

export function needValue(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[], i: number, what: string): number[] {
  const t = need(node, inputs, i);
  if (!t.value) fail(node, `${what} must be a constant (static shapes only)`);
  return t.value;
}

export function normAxis(node: onnx.INodeProto, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(node, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy-style broadcast of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[], node?: onnx.INodeProto): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      if (node) fail(node, `shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
      throw new Error(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Elementwise op on constant values with broadcasting. */
export function broadcastValues(a: TensorInfo, b: TensorInfo, out: number[], f: (x: number, y: number) => number): number[] | undefined {
  if (!a.value || !b.value) return undefined;
  const n = numel(out);
  if (n > MAX_CONST_VALUE) return undefined;
  const so = strides(out);
  const res: number[] = [];
  const idx = (t: TensorInfo, flat: number): number => {
    let off = 0;
    const st = strides(t.dims);
    const shift = out.length - t.dims.length;
    for (let d = 0; d < t.dims.length; d++) {
      const coord = Math.floor(flat / so[d + shift]) % out[d + shift];
      off += (t.dims[d] === 1 ? 0 : coord) * st[d];
    }
    return off;
  };
  for (let i = 0; i < n; i++) res.push(f(a.value[idx(a, i)], b.value[idx(b, i)]));
  return res;
}

export const same: ShapeRule = (node, inputs) => {
  const x = need(node, inputs, 0);
  return [{ dims: [...x.dims], dtype: x.dtype }];
};

export function binary(f: (x: number, y: number) => number): ShapeRule {
  return (node, inputs) => {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    const dims = broadcastShapes(a.dims, b.dims, node);
    const value = isIntType(a.dtype) ? broadcastValues(a, b, dims, f) : undefined;
    return [{ dims, dtype: a.dtype, value }];
  };
}


export function axesInput(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[], idx: number): number[] | undefined {
  if ((node.input ?? []).length > idx && node.input![idx] !== '') return needValue(node, inputs, idx, 'axes');
  return attrInts(node, 'axes');
}

function constantTensor(node: onnx.INodeProto): onnx.ITensorProto {
  const a = attr(node, 'value');
  if (a?.t) return a.t;
  const vf = attr(node, 'value_float');
  if (vf) return { dims: [], dataType: DataType.FLOAT, floatData: [vf.f ?? 0] };
  const vfs = attr(node, 'value_floats');
  if (vfs) return { dims: [vfs.floats?.length ?? 0], dataType: DataType.FLOAT, floatData: vfs.floats ?? [] };
  const vi = attr(node, 'value_int');
  if (vi) return { dims: [], dataType: DataType.INT64, int64Data: [toNum(vi.i)] };
  const vis = attr(node, 'value_ints');
  if (vis) return { dims: [vis.ints?.length ?? 0], dataType: DataType.INT64, int64Data: (vis.ints ?? []).map(toNum) };
  fail(node, 'unsupported Constant attribute (expected value, value_float(s) or value_int(s))');
}

/** The tensor a Constant node produces (so the generator can turn it into an initializer). */
export function constantNodeTensor(node: onnx.INodeProto): onnx.ITensorProto {
  return constantTensor(node);
}

export function infoOfTensor(t: onnx.ITensorProto): TensorInfo {
  const dims = tensorDims(t);
  const dtype = t.dataType ?? 0;
  const n = numel(dims);
  let value: number[] | undefined;
  if (n <= MAX_CONST_VALUE && (isIntType(dtype) || dtype === DataType.FLOAT || dtype === DataType.DOUBLE)) {
    value = numberData(t);
  }
  return { dims, dtype, value };
}

export function sliceParams(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[], x: TensorInfo) {
  const starts = needValue(node, inputs, 1, 'starts');
  const ends = needValue(node, inputs, 2, 'ends');
  const axes = (node.input ?? []).length > 3 && node.input![3] !== '' ? needValue(node, inputs, 3, 'axes') : starts.map((_, i) => i);
  const steps = (node.input ?? []).length > 4 && node.input![4] !== '' ? needValue(node, inputs, 4, 'steps') : starts.map(() => 1);
  const rank = x.dims.length;
  const begin = new Array<number>(rank).fill(0);
  const count = [...x.dims];
  const step = new Array<number>(rank).fill(1);
  axes.forEach((ax0, i) => {
    const ax = normAxis(node, ax0, rank);
    const d = x.dims[ax];
    const st = steps[i];
    if (st === 0) fail(node, 'step 0');
    let s = starts[i] < 0 ? starts[i] + d : starts[i];
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (st > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      count[ax] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      count[ax] = Math.max(0, Math.ceil((s - e) / -st));
    }
    begin[ax] = s;
    step[ax] = st;
  });
  return { begin, count, step };
}

/** Reduction axes (normalised, sorted) of a ReduceMean/ReduceSum node: attribute (opset < 18, ReduceSum < 13) or input. */
export function reduceAxes(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[], rank: number): number[] {
  const fromInput = (node.input ?? []).length > 1 && node.input![1] !== '';
  const axes = fromInput ? needValue(node, inputs, 1, 'axes') : attrInts(node, 'axes');
  if (!axes || axes.length === 0) {
    return fromInput || attrInt(node, 'noop_with_empty_axes', 0) === 0 ? Array.from({ length: rank }, (_, i) => i) : [];
  }
  return axes.map((a) => normAxis(node, a, rank)).sort((a, b) => a - b);
}

export const reduceShape: ShapeRule = (node, inputs) => {
  const x = need(node, inputs, 0);
  const axes = reduceAxes(node, inputs, x.dims.length);
  const keep = attrInt(node, 'keepdims', 1) === 1;
  const dims = keep ? x.dims.map((d, i) => (axes.includes(i) ? 1 : d)) : x.dims.filter((_, i) => !axes.includes(i));
  return [{ dims, dtype: x.dtype }];
};

/** Pad amounts [begin…, end…] of a Pad node (opset ≥ 11 input form, or the older attribute). */
export function padAmounts(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[], rank: number): number[] {
  const fromInput = (node.input ?? []).length > 1 && node.input![1] !== '';
  const pads = fromInput ? needValue(node, inputs, 1, 'pads') : attrInts(node, 'pads');
  if (!pads) fail(node, 'pads missing');
  if ((node.input ?? []).length > 3 && node.input![3]) {
    // opset 18 axes input: expand to all axes.
    const axes = needValue(node, inputs, 3, 'axes').map((a) => normAxis(node, a, rank));
    const full = new Array<number>(2 * rank).fill(0);
    axes.forEach((a, i) => {
      full[a] = pads[i];
      full[a + rank] = pads[i + axes.length];
    });
    return full;
  }
  if (pads.length !== 2 * rank) fail(node, `pads has ${pads.length} values for rank ${rank}`);
  return pads;
}

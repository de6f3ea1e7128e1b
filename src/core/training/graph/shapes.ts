/**
 * Static shape propagation for the operators the training-graph generator understands.
 *
 * Why a static propagator rather than asking onnxruntime for the shapes (a session on the forward model with
 * every intermediate as an extra output): the generator must stay synchronous and cheap, must know shapes of
 * tensors that only exist in the rewritten training graph (BN batch statistics, MaxPool indices, …), and needs
 * constant *values* of small integer tensors (Reshape targets built from Shape → Gather → Concat chains,
 * Clip bounds), which a run does not give. Every shape is fully static: the batch size and the input size
 * are fixed when the graph is generated.
 *
 * Small integer tensors (≤ 64 elements) that are constant (initializers, Constant nodes, or computed from
 * those and from static shapes) carry their `value`; such nodes are folded away by the generator.
 *
 * This file holds the rule table; the shared helpers live in shapeHelpers.ts (re-exported here), which the
 * rule-group files (mathShapes.ts, indexShapes.ts) import instead of this file, so there is no import cycle.
 */
import { onnx, DataType } from '../../onnx/proto';
import { resolveWindow } from './geometry';
import { attr, attrInt, attrInts, numberData, numel, isIntType } from './onnxUtil';
import {
  TensorInfo, ShapeRule, MAX_CONST_VALUE, fail, need, needValue, normAxis, broadcastShapes, binary, same, axesInput, constantNodeTensor,
  infoOfTensor, sliceParams, reduceShape, padAmounts, strides,
} from './shapeHelpers';
import { mathShapeRules } from './mathShapes';
import { indexShapeRules } from './indexShapes';

// The helpers live in shapeHelpers.ts (no import cycle with the rule-group files); re-exported for the rules.
export {
  MAX_CONST_VALUE, fail, need, needValue, normAxis, broadcastShapes, strides, broadcastValues, same, binary, axesInput, constantNodeTensor,
  infoOfTensor, sliceParams, reduceAxes, reduceShape, padAmounts,
} from './shapeHelpers';
export type { TensorInfo, ShapeRule } from './shapeHelpers';

function spatial(node: onnx.INodeProto, x: TensorInfo): [number, number] {
  if (x.dims.length !== 4) fail(node, `only 2-D (NCHW) inputs are supported, got rank ${x.dims.length}`);
  return [x.dims[2], x.dims[3]];
}

function convShape(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[]): TensorInfo[] {
  const x = need(node, inputs, 0);
  const w = need(node, inputs, 1);
  if (w.dims.length !== 4) fail(node, `weight must be 4-D, got [${w.dims.join(',')}]`);
  const g = attrInt(node, 'group', 1);
  if (x.dims[1] !== w.dims[1] * g) fail(node, `input has ${x.dims[1]} channels, weight expects ${w.dims[1]}×${g}`);
  const win = resolveWindow(node, spatial(node, x), [w.dims[2], w.dims[3]]);
  return [{ dims: [x.dims[0], w.dims[0], win.out[0], win.out[1]], dtype: x.dtype }];
}

function poolShape(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[]): TensorInfo[] {
  const x = need(node, inputs, 0);
  const k = attrInts(node, 'kernel_shape');
  if (!k || k.length !== 2) fail(node, 'kernel_shape must have 2 values');
  const win = resolveWindow(node, spatial(node, x), [k[0], k[1]]);
  const dims = [x.dims[0], x.dims[1], win.out[0], win.out[1]];
  const outs: TensorInfo[] = [{ dims, dtype: x.dtype }];
  if (node.opType === 'MaxPool') outs.push({ dims: [...dims], dtype: DataType.INT64 });
  return outs;
}
/** Row-major values of a strided view: element (i₀, i₁, …) of `dims` is source[offset + Σ iₖ·stride[k]]. */
function gatherStrided(dims: readonly number[], stride: readonly number[], offset: number, source: readonly number[]): number[] {
  const out: number[] = [];
  const idx = new Array<number>(dims.length).fill(0);
  const total = numel(dims);
  for (let n = 0; n < total; n++) {
    let at = offset;
    for (let k = 0; k < dims.length; k++) at += idx[k] * stride[k];
    out.push(source[at]);
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

export const shapeRules: Record<string, ShapeRule> = {
  // Rule groups kept in their own files (transformer math; indexing and resampling).
  ...mathShapeRules,
  ...indexShapeRules,
  Relu: same,
  LeakyRelu: same,
  Sigmoid: same,
  HardSigmoid: same,
  HardSwish: same,
  Tanh: same,
  Neg: same,
  Identity: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [{ dims: [...x.dims], dtype: x.dtype, value: x.value }];
  },
  Dropout: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [{ dims: [...x.dims], dtype: x.dtype }, { dims: [...x.dims], dtype: DataType.BOOL }];
  },
  Softmax: same,
  LogSoftmax: same,
  Clip: same,
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b) => Math.trunc(a / b)),
  Conv: convShape,
  MaxPool: poolShape,
  AveragePool: poolShape,
  GlobalAveragePool: (node, inputs) => {
    const x = need(node, inputs, 0);
    spatial(node, x);
    return [{ dims: [x.dims[0], x.dims[1], 1, 1], dtype: x.dtype }];
  },
  GlobalMaxPool: (node, inputs) => {
    const x = need(node, inputs, 0);
    spatial(node, x);
    return [{ dims: [x.dims[0], x.dims[1], 1, 1], dtype: x.dtype }];
  },
  BatchNormalization: (node, inputs) => {
    const x = need(node, inputs, 0);
    const c = x.dims[1];
    return [{ dims: [...x.dims], dtype: x.dtype }, { dims: [c], dtype: x.dtype }, { dims: [c], dtype: x.dtype }];
  },
  Flatten: (node, inputs) => {
    const x = need(node, inputs, 0);
    const axis = attrInt(node, 'axis', 1);
    const a = axis < 0 ? axis + x.dims.length : axis;
    return [{ dims: [numel(x.dims.slice(0, a)), numel(x.dims.slice(a))], dtype: x.dtype }];
  },
  Reshape: (node, inputs) => {
    const x = need(node, inputs, 0);
    const target = needValue(node, inputs, 1, 'the target shape');
    const allowZero = attrInt(node, 'allowzero', 0) === 1;
    const dims = target.map((d, i) => (d === 0 && !allowZero ? x.dims[i] : d));
    const neg = dims.indexOf(-1);
    if (neg >= 0) {
      const known = numel(dims.filter((d, i) => i !== neg));
      dims[neg] = numel(x.dims) / known;
    }
    if (numel(dims) !== numel(x.dims) || dims.some((d) => !Number.isInteger(d) || d < 0)) {
      fail(node, `cannot reshape [${x.dims.join(',')}] to [${target.join(',')}]`);
    }
    return [{ dims, dtype: x.dtype, value: x.value }];
  },
  Transpose: (node, inputs) => {
    const x = need(node, inputs, 0);
    const perm = attrInts(node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
    const dims = perm.map((p) => x.dims[p]);
    // Small constant tensors keep their values (Swin computes its window padding with Reshape → Slice → Transpose).
    let value: number[] | undefined;
    if (x.value) {
      const inStrides = strides(x.dims);
      value = gatherStrided(dims, perm.map((p) => inStrides[p]), 0, x.value);
    }
    return [{ dims, dtype: x.dtype, value }];
  },
  Squeeze: (node, inputs) => {
    const x = need(node, inputs, 0);
    const axes = axesInput(node, inputs, 1);
    const drop = new Set((axes ?? x.dims.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => normAxis(node, a, x.dims.length)));
    return [{ dims: x.dims.filter((_, i) => !drop.has(i)), dtype: x.dtype, value: x.value }];
  },
  Unsqueeze: (node, inputs) => {
    const x = need(node, inputs, 0);
    const axes = axesInput(node, inputs, 1);
    if (!axes) fail(node, 'axes missing');
    const rank = x.dims.length + axes.length;
    const ins = new Set(axes.map((a) => normAxis(node, a, rank)));
    const dims: number[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) dims.push(ins.has(i) ? 1 : x.dims[j++]);
    return [{ dims, dtype: x.dtype, value: x.value }];
  },
  Concat: (node, inputs) => {
    const xs = (node.input ?? []).map((_, i) => need(node, inputs, i));
    const rank = xs[0].dims.length;
    const axis = normAxis(node, attrInt(node, 'axis', 0), rank);
    const dims = [...xs[0].dims];
    dims[axis] = xs.reduce((s, t) => s + t.dims[axis], 0);
    for (const t of xs) {
      if (t.dims.length !== rank || t.dims.some((d, i) => i !== axis && d !== dims[i])) fail(node, 'inputs do not agree off the concat axis');
    }
    const value = rank === 1 && xs.every((t) => t.value) ? xs.flatMap((t) => t.value!) : undefined;
    return [{ dims, dtype: xs[0].dtype, value }];
  },
  Gemm: (node, inputs) => {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    if (a.dims.length !== 2 || b.dims.length !== 2) fail(node, 'Gemm inputs must be 2-D');
    const m = attrInt(node, 'transA', 0) ? a.dims[1] : a.dims[0];
    const ka = attrInt(node, 'transA', 0) ? a.dims[0] : a.dims[1];
    const kb = attrInt(node, 'transB', 0) ? b.dims[1] : b.dims[0];
    const n = attrInt(node, 'transB', 0) ? b.dims[0] : b.dims[1];
    if (ka !== kb) fail(node, `inner dimensions differ (${ka} vs ${kb})`);
    if (inputs[2]) broadcastShapes([m, n], inputs[2].dims, node);
    return [{ dims: [m, n], dtype: a.dtype }];
  },
  MatMul: (node, inputs) => {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    if (a.dims.length < 2 || b.dims.length < 2) fail(node, '1-D MatMul operands are not supported');
    const k1 = a.dims[a.dims.length - 1];
    const k2 = b.dims[b.dims.length - 2];
    if (k1 !== k2) fail(node, `inner dimensions differ (${k1} vs ${k2})`);
    const batch = broadcastShapes(a.dims.slice(0, -2), b.dims.slice(0, -2), node);
    return [{ dims: [...batch, a.dims[a.dims.length - 2], b.dims[b.dims.length - 1]], dtype: a.dtype }];
  },
  ReduceMean: reduceShape,
  ReduceSum: reduceShape,
  Pad: (node, inputs) => {
    const x = need(node, inputs, 0);
    const pads = padAmounts(node, inputs, x.dims.length);
    const r = x.dims.length;
    return [{ dims: x.dims.map((d, i) => d + pads[i] + pads[i + r]), dtype: x.dtype }];
  },
  // --- constant-only helpers (shape arithmetic): folded away by the generator ---
  Constant: (node) => [infoOfTensor(constantNodeTensor(node))],
  Shape: (node, inputs) => {
    const x = need(node, inputs, 0);
    const r = x.dims.length;
    let s = attrInt(node, 'start', 0);
    let e = attrInt(node, 'end', r);
    s = Math.min(Math.max(s < 0 ? s + r : s, 0), r);
    e = Math.min(Math.max(e < 0 ? e + r : e, 0), r);
    const value = x.dims.slice(s, Math.max(s, e));
    return [{ dims: [value.length], dtype: DataType.INT64, value }];
  },
  Cast: (node, inputs) => {
    const x = need(node, inputs, 0);
    const to = attrInt(node, 'to', x.dtype);
    const value = x.value ? (isIntType(to) ? x.value.map((v) => Math.trunc(v)) : [...x.value]) : undefined;
    return [{ dims: [...x.dims], dtype: to, value }];
  },
  Gather: (node, inputs) => {
    const x = need(node, inputs, 0);
    const idx = need(node, inputs, 1);
    const axis = normAxis(node, attrInt(node, 'axis', 0), x.dims.length);
    const dims = [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)];
    let value: number[] | undefined;
    if (x.value && idx.value && x.dims.length === 1) {
      value = idx.value.map((i) => x.value![i < 0 ? i + x.dims[0] : i]);
    }
    return [{ dims, dtype: x.dtype, value }];
  },
  Slice: (node, inputs) => {
    const x = need(node, inputs, 0);
    const { begin, count, step } = sliceParams(node, inputs, x);
    let value: number[] | undefined;
    if (x.value) {
      const inStrides = strides(x.dims);
      value = gatherStrided(count, inStrides.map((s, i) => s * step[i]), begin.reduce((a, b, i) => a + b * inStrides[i], 0), x.value);
    }
    return [{ dims: count, dtype: x.dtype, value }];
  },
  ConstantOfShape: (node, inputs) => {
    const shape = needValue(node, inputs, 0, 'shape');
    const a = attr(node, 'value');
    const t = a?.t;
    const dtype = t ? t.dataType ?? DataType.FLOAT : DataType.FLOAT;
    const fill = t ? numberData(t)[0] ?? 0 : 0;
    const n = numel(shape);
    return [{ dims: [...shape], dtype, value: n <= MAX_CONST_VALUE ? new Array<number>(n).fill(fill) : undefined }];
  },
};

/** Ops whose outputs are never differentiated: shape arithmetic on constants and static shapes. */
export const NON_DIFFERENTIABLE = new Set(['Constant', 'Shape', 'ConstantOfShape']);

/**
 * Shape rules of the indexing and resampling ops (Split, Expand, Tile, Range, GatherND, GatherElements,
 * ScatterND, ScatterElements, Resize). Small constant tensors keep their `value` through Split, Expand, Tile,
 * Range, GatherND and ScatterND so shape arithmetic still folds. (Gather and Slice live in shapes.ts.)
 * The helpers come from shapeHelpers.ts, which imports no rule file, so load order does not matter.
 */
import { onnx } from '../../onnx/proto';
import { attrFloat, attrInt, attrInts, attrString, numel } from './onnxUtil';
import { MAX_CONST_VALUE, ShapeRule, TensorInfo, broadcastShapes, fail, need, needValue, normAxis, strides } from './shapeHelpers';

const has = (node: onnx.INodeProto, i: number): boolean => (node.input ?? []).length > i && node.input![i] !== '';

/** Row-major coordinates of flat index `f` in `dims`. */
function coords(f: number, dims: readonly number[]): number[] {
  const st = strides(dims);
  return dims.map((d, i) => Math.floor(f / st[i]) % d);
}

/** Values of an output computed element by element from a small constant input (undefined when too big). */
function mapValues(x: TensorInfo, out: readonly number[], src: (c: number[]) => number): number[] | undefined {
  const n = numel(out);
  if (!x.value || n > MAX_CONST_VALUE) return undefined;
  return Array.from({ length: n }, (_, f) => x.value![src(coords(f, out))]);
}

const flat = (c: readonly number[], dims: readonly number[]): number => c.reduce((s, v, i) => s + v * strides(dims)[i], 0);

/** Sizes of a Split's outputs: the `split` input (opset 13+) or attribute, `num_outputs` (opset 18), or equal parts. */
export function splitSizes(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[], d: number): number[] {
  const n = (node.output ?? []).length;
  let sizes = has(node, 1) ? needValue(node, inputs, 1, 'split') : attrInts(node, 'split');
  if (!sizes) {
    // num_outputs (opset 18): chunks of ⌈d/n⌉, the last one smaller; without it, n equal parts.
    const chunk = attrInt(node, 'num_outputs', 0) > 0 ? Math.ceil(d / n) : d / n;
    sizes = Array.from({ length: n }, (_, i) => (i < n - 1 ? chunk : d - chunk * (n - 1)));
  }
  if (sizes.length !== n || sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== d) {
    fail(node, `cannot split ${d} into [${sizes.join(',')}] for ${n} outputs`);
  }
  return sizes;
}

export type ResizeMode = 'nearest' | 'linear' | 'cubic';

export interface ResizeParams {
  mode: ResizeMode;
  /** coordinate_transformation_mode (opset 10: asymmetric). */
  ctm: string;
  /** nearest_mode; 'simple' for opset 10. */
  nearest: string;
  /** Per-axis float32 scale the runtime uses for coordinates. */
  scales: number[];
  out: number[];
  antialias: boolean;
  cubicA: number;
  excludeOutside: boolean;
}

/** Resize attributes and output size, as onnxruntime derives them (opset 10: inputs X, scales; 11+: X, roi, scales, sizes). */
export function resizeParams(node: onnx.INodeProto, inputs: (TensorInfo | undefined)[]): ResizeParams {
  const x = need(node, inputs, 0);
  const r = x.dims.length;
  const v10 = (node.input ?? []).length === 2;
  const axes = (attrInts(node, 'axes') ?? x.dims.map((_, i) => i)).map((a) => normAxis(node, a, r));
  const per = (vals: number[], fill: number): number[] => {
    if (vals.length !== axes.length) fail(node, `${vals.length} scales/sizes for ${axes.length} axes`);
    const full = new Array<number>(r).fill(fill);
    axes.forEach((a, i) => (full[a] = vals[i]));
    return full;
  };
  const scalesIn = v10 ? 1 : 2;
  const scaleVals = has(node, scalesIn) ? needValue(node, inputs, scalesIn, 'scales') : [];
  let scales: number[];
  let out: number[];
  if (scaleVals.length > 0) {
    scales = per(scaleVals, 1).map(Math.fround);
    out = x.dims.map((d, i) => Math.trunc(Math.fround(scales[i] * d)));
  } else {
    if (v10 || !has(node, 3)) fail(node, 'needs scales or sizes');
    const sizes = per(needValue(node, inputs, 3, 'sizes'), NaN).map((s, i) => (Number.isNaN(s) ? x.dims[i] : s));
    out = sizes;
    scales = sizes.map((s, i) => Math.fround(s / x.dims[i]));
    const policy = attrString(node, 'keep_aspect_ratio_policy', 'stretch');
    if (policy !== 'stretch') {
      // One scale for every listed axis (the smallest or the largest); the sizes are then rounded.
      if (policy !== 'not_larger' && policy !== 'not_smaller') fail(node, `unknown keep_aspect_ratio_policy ${policy}`);
      const sp = (policy === 'not_larger' ? Math.min : Math.max)(...axes.map((a) => scales[a]));
      scales = x.dims.map((_, i) => (axes.includes(i) ? sp : 1));
      out = x.dims.map((d, i) => (axes.includes(i) ? Math.round(Math.fround(sp * d)) : d));
    }
  }
  const mode = attrString(node, 'mode', 'nearest') as ResizeMode;
  return {
    mode,
    ctm: v10 ? 'asymmetric' : attrString(node, 'coordinate_transformation_mode', 'half_pixel'),
    nearest: v10 ? 'simple' : attrString(node, 'nearest_mode', 'round_prefer_floor'),
    scales,
    out,
    antialias: attrInt(node, 'antialias', 0) !== 0,
    cubicA: attrFloat(node, 'cubic_coeff_a', -0.75),
    excludeOutside: attrInt(node, 'exclude_outside', 0) !== 0,
  };
}

export const indexShapeRules: Record<string, ShapeRule> = {
  Split: (node, inputs) => {
    const x = need(node, inputs, 0);
    const axis = normAxis(node, attrInt(node, 'axis', 0), x.dims.length);
    let at = 0;
    return splitSizes(node, inputs, x.dims[axis]).map((s) => {
      const dims = x.dims.map((d, i) => (i === axis ? s : d));
      const value = x.value && x.dims.length === 1 ? x.value.slice(at, at + s) : undefined;
      at += s;
      return { dims, dtype: x.dtype, value };
    });
  },
  Expand: (node, inputs) => {
    const x = need(node, inputs, 0);
    const dims = broadcastShapes(x.dims, needValue(node, inputs, 1, 'the target shape'), node);
    const lead = dims.length - x.dims.length;
    const value = mapValues(x, dims, (c) => flat(c.slice(lead).map((v, i) => (x.dims[i] === 1 ? 0 : v)), x.dims));
    return [{ dims, dtype: x.dtype, value }];
  },
  Tile: (node, inputs) => {
    const x = need(node, inputs, 0);
    const reps = needValue(node, inputs, 1, 'repeats');
    if (reps.length !== x.dims.length) fail(node, `${reps.length} repeats for rank ${x.dims.length}`);
    const dims = x.dims.map((d, i) => d * reps[i]);
    return [{ dims, dtype: x.dtype, value: mapValues(x, dims, (c) => flat(c.map((v, i) => v % x.dims[i]), x.dims)) }];
  },
  Range: (node, inputs) => {
    const [start, limit, delta] = [0, 1, 2].map((i) => needValue(node, inputs, i, 'a Range bound')[0]);
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    const value = n <= MAX_CONST_VALUE ? Array.from({ length: n }, (_, i) => start + i * delta) : undefined;
    return [{ dims: [n], dtype: need(node, inputs, 0).dtype, value }];
  },
  GatherND: (node, inputs) => {
    const x = need(node, inputs, 0);
    const idx = need(node, inputs, 1);
    const b = attrInt(node, 'batch_dims', 0);
    const k = idx.dims[idx.dims.length - 1];
    if (k === undefined || b + k > x.dims.length) fail(node, `indices [${idx.dims.join(',')}] do not fit data [${x.dims.join(',')}]`);
    const dims = [...idx.dims.slice(0, -1), ...x.dims.slice(b + k)];
    let value: number[] | undefined;
    if (b === 0 && idx.value) {
      value = mapValues(x, dims, (c) => {
        const lead = c.slice(0, idx.dims.length - 1);
        const at = flat([...lead, 0], idx.dims);
        const pos = idx.value!.slice(at, at + k).map((v, i) => (v < 0 ? v + x.dims[i] : v));
        return flat([...pos, ...c.slice(lead.length)], x.dims);
      });
    }
    return [{ dims, dtype: x.dtype, value }];
  },
  GatherElements: (node, inputs) => {
    const x = need(node, inputs, 0);
    const idx = need(node, inputs, 1);
    normAxis(node, attrInt(node, 'axis', 0), x.dims.length);
    return [{ dims: [...idx.dims], dtype: x.dtype }];
  },
  ScatterND: (node, inputs) => {
    const x = need(node, inputs, 0);
    const idx = need(node, inputs, 1);
    const upd = need(node, inputs, 2);
    let value: number[] | undefined;
    if (x.value && idx.value && upd.value && attrString(node, 'reduction', 'none') === 'none') {
      value = [...x.value];
      const k = idx.dims[idx.dims.length - 1];
      const slab = numel(x.dims.slice(k));
      for (let j = 0; j * k < idx.value.length; j++) {
        const pos = idx.value.slice(j * k, j * k + k).map((v, i) => (v < 0 ? v + x.dims[i] : v));
        const at = flat([...pos, ...x.dims.slice(k).map(() => 0)], x.dims);
        for (let e = 0; e < slab; e++) value[at + e] = upd.value[j * slab + e];
      }
    }
    return [{ dims: [...x.dims], dtype: x.dtype, value }];
  },
  ScatterElements: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [{ dims: [...x.dims], dtype: x.dtype }];
  },
  Resize: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [{ dims: resizeParams(node, inputs).out, dtype: x.dtype }];
  },
};

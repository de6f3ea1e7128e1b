/**
 * Backward of the indexing and resampling ops, from standard opset-17 ops only.
 * - Slice, and Gather with a scalar or evenly spaced constant index: dY put back in place by Pad (after a
 *   reversing Slice for negative steps, and Reshape → Pad → Reshape to interleave zeros for steps > 1).
 * - Gather (other indices), GatherElements, GatherND: ScatterElements / ScatterND into zeros, reduction "add"
 *   (repeated indices accumulate).
 * - Split: Concat of the output gradients, zeros for outputs that get none.
 * - Expand: ReduceSum over the broadcast axes. Tile: view dY as [r0, d0, r1, d1, …] and sum the repeats.
 * - ScatterND / ScatterElements (reduction none or add): dData = dY with the written positions zeroed (none),
 *   dUpdates = GatherND / GatherElements(dY). With reduction none, indices must not repeat (as in the forward).
 * - Resize, modes nearest, linear and cubic, every coordinate_transformation_mode but tf_crop_and_resize,
 *   scales or sizes, no antialias: the transpose of the per-axis interpolation (it is separable). Nearest upsampling by
 *   an integer k where output o reads input ⌊o/k⌋ is a block sum (Reshape + ReduceSum). Otherwise each resized
 *   axis takes one Gather of the J outputs that read each input, a Mul by their weights and a ReduceSum over J.
 *   The taps are computed here the way onnxruntime computes them (float32 coordinates, same rounding).
 */
import { floatTensor } from '../../onnx/builder';
import { DataType, onnx } from '../../onnx/proto';
import { GradRule } from './ruleTypes';
import { GradContext } from './context';
import { attrInt, attrString, numel } from './onnxUtil';
import { TensorInfo, fail, normAxis, sliceParams } from './shapes';
import { ResizeParams, resizeParams } from './indexShapes';

const FAR = -(2 ** 62);

const infosOf = (ctx: GradContext, node: onnx.INodeProto): (TensorInfo | undefined)[] =>
  (node.input ?? []).map((i) => (i ? ctx.info(i) : undefined));

function zeros(ctx: GradContext, dims: readonly number[]): string {
  return ctx.cached(`zeros:${dims.join('x')}`, () =>
    ctx.emit('ConstantOfShape', [ctx.i64(dims)], { value: { tensor: floatTensor('value', [1], [0]) } }, dims, 'zeros'));
}

function intTensor(ctx: GradContext, op: string, inputs: string[], attrs: Record<string, number>, dims: number[], base: string): string {
  const out = ctx.emit(op, inputs, attrs, undefined, base);
  ctx.setDims(out, dims, DataType.INT64);
  return out;
}

/** dX of Y = X[begin + i·step] (i < count, every axis): dY in place, zeros elsewhere. */
function placeStrided(ctx: GradContext, dy: string, xd: readonly number[], begin: number[], count: number[], step: number[], base: string): string {
  if (count.some((c) => c === 0)) return zeros(ctx, xd);
  const b = [...begin];
  const st = count.map((c, a) => (c === 1 ? 1 : step[a]));
  const dims = [...count];
  const rev = st.map((_, a) => a).filter((a) => st[a] < 0);
  for (const a of rev) {
    b[a] += (count[a] - 1) * st[a];
    st[a] = -st[a];
  }
  let cur = dy;
  if (rev.length > 0) {
    const m1 = ctx.i64(rev.map(() => -1));
    cur = ctx.emit('Slice', [cur, m1, ctx.i64(rev.map(() => FAR)), ctx.i64(rev), m1], {}, dims, `${base}_rev`);
  }
  if (st.some((s) => s > 1)) {
    // Interleave step − 1 zeros after each element: [.., c, 1, ..] → Pad → [.., c, s, ..] → [.., c·s, ..].
    const split = dims.flatMap((d, a) => (st[a] > 1 ? [d, 1] : [d]));
    const pads = new Array<number>(2 * split.length).fill(0);
    let p = 0;
    dims.forEach((_, a) => {
      if (st[a] > 1) pads[split.length + p + 1] = st[a] - 1;
      p += st[a] > 1 ? 2 : 1;
    });
    const padded = split.map((d, i) => d + pads[split.length + i]);
    cur = ctx.emit('Pad', [ctx.reshape(cur, split), ctx.i64(pads)], { mode: 'constant' }, padded, `${base}_dil`);
    dims.forEach((d, a) => (dims[a] = d * st[a]));
    cur = ctx.reshape(cur, dims);
  }
  const over = dims.map((_, a) => a).filter((a) => b[a] + dims[a] > xd[a]);
  if (over.length > 0) {
    // The interleaved zeros after the last element can run past X's end.
    over.forEach((a) => (dims[a] = xd[a] - b[a]));
    cur = ctx.emit('Slice', [cur, ctx.i64(over.map(() => 0)), ctx.i64(over.map((a) => dims[a])), ctx.i64(over)], {}, dims, `${base}_crop`);
  }
  const pads = [...b, ...xd.map((d, a) => d - b[a] - dims[a])];
  return pads.some((v) => v !== 0) ? ctx.emit('Pad', [cur, ctx.i64(pads)], { mode: 'constant' }, xd, base) : cur;
}

const slice: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const { begin, count, step } = sliceParams(node, infosOf(ctx, node), ctx.info(x)!);
  return [placeStrided(ctx, dy, ctx.shape(x), begin, count, step, `dX_${x}`)];
};

const gather: GradRule = (ctx, node, [dy]) => {
  const [x, idx] = node.input!;
  if (!dy || !ctx.needsGrad(x)) return [];
  const xd = ctx.shape(x);
  const axis = normAxis(node, attrInt(node, 'axis', 0), xd.length);
  const d = xd[axis];
  const ii = ctx.info(idx)!;
  const m = numel(ii.dims);
  const dyDims = xd.map((v, a) => (a === axis ? m : v));
  const dyr = ii.dims.length === 1 ? dy : ctx.reshape(dy, dyDims);
  const vals = ii.value?.map((v) => (v < 0 ? v + d : v));
  const s = vals && m > 1 ? vals[1] - vals[0] : 1;
  if (vals && s !== 0 && vals.every((v, i) => v === vals[0] + i * s)) {
    // A scalar index (ViT's x[:, 0]) or a range: a strided slice.
    const begin = xd.map((_, a) => (a === axis ? vals[0] : 0));
    return [placeStrided(ctx, dyr, xd, begin, dyDims, xd.map((_, a) => (a === axis ? s : 1)), `dX_${x}`)];
  }
  const idxDims = dyDims.map((v, a) => (a === axis ? m : 1));
  let iv: string;
  if (vals) {
    iv = ctx.i64(vals, idxDims);
  } else {
    // Runtime indices: int64 and non-negative (Mod follows the divisor's sign).
    let t = ii.dtype === DataType.INT64 ? idx : intTensor(ctx, 'Cast', [idx], { to: DataType.INT64 }, ii.dims, `gi_${x}`);
    t = intTensor(ctx, 'Mod', [t, ctx.i64([d], [])], {}, ii.dims, `gi_${x}`);
    iv = intTensor(ctx, 'Reshape', [t, ctx.i64(idxDims)], {}, idxDims, `gi_${x}`);
  }
  const ie = intTensor(ctx, 'Expand', [iv, ctx.i64(dyDims)], {}, dyDims, `gi_${x}`);
  return [ctx.emit('ScatterElements', [zeros(ctx, xd), ie, dyr], { axis, reduction: 'add' }, xd, `dX_${x}`)];
};

const gatherElements: GradRule = (ctx, node, [dy]) => {
  const [x, idx] = node.input!;
  if (!dy || !ctx.needsGrad(x)) return [];
  const xd = ctx.shape(x);
  const axis = normAxis(node, attrInt(node, 'axis', 0), xd.length);
  return [ctx.emit('ScatterElements', [zeros(ctx, xd), idx, dy], { axis, reduction: 'add' }, xd, `dX_${x}`)];
};

const gatherND: GradRule = (ctx, node, [dy]) => {
  const [x, idx] = node.input!;
  if (!dy || !ctx.needsGrad(x)) return [];
  if (attrInt(node, 'batch_dims', 0) !== 0) fail(node, 'no gradient rule for batch_dims > 0');
  const xd = ctx.shape(x);
  return [ctx.emit('ScatterND', [zeros(ctx, xd), idx, dy], { reduction: 'add' }, xd, `dX_${x}`)];
};

function scatterGrad(gatherOp: 'GatherND' | 'GatherElements'): GradRule {
  return (ctx, node, [dy]) => {
    const [data, idx, upd] = node.input!;
    if (!dy) return [];
    const red = attrString(node, 'reduction', 'none');
    if (red !== 'none' && red !== 'add') fail(node, `no gradient rule for reduction "${red}" (only none and add)`);
    const attrs: Record<string, number> = node.opType === 'ScatterElements' ? { axis: normAxis(node, attrInt(node, 'axis', 0), ctx.shape(data).length) } : {};
    const ud = ctx.shape(upd);
    let dData: string | undefined;
    if (ctx.needsGrad(data)) {
      dData = red === 'add' ? dy : ctx.emit(node.opType!, [dy, idx, zeros(ctx, ud)], attrs, ctx.shape(data), `dX_${data}`);
    }
    const dUpd = ctx.needsGrad(upd) ? ctx.emit(gatherOp, [dy, idx], attrs, ud, `dU_${upd}`) : undefined;
    return [dData, undefined, dUpd];
  };
}

const split: GradRule = (ctx, node, dY) => {
  const x = node.input![0];
  if (!ctx.needsGrad(x) || dY.every((g) => !g)) return [];
  const xd = ctx.shape(x);
  const axis = normAxis(node, attrInt(node, 'axis', 0), xd.length);
  const parts = node.output!.map((o, k) => dY[k] ?? zeros(ctx, ctx.shape(o)));
  return [parts.length === 1 ? parts[0] : ctx.emit('Concat', parts, { axis }, xd, `dX_${x}`)];
};

const expand: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  return [ctx.reduceTo(dy, ctx.shape(node.output![0]), ctx.shape(x))];
};

/** View each axis of dY as [k, d] (outer) or [d, k] and sum over the k factors (axes with k = 1 stay). */
function sumFactors(ctx: GradContext, dy: string, xd: readonly number[], k: readonly number[], outer: boolean, base: string): string {
  const split = xd.flatMap((d, a) => (k[a] === 1 ? [d] : outer ? [k[a], d] : [d, k[a]]));
  const axes: number[] = [];
  let p = 0;
  xd.forEach((_, a) => {
    if (k[a] !== 1) axes.push(outer ? p : p + 1);
    p += k[a] === 1 ? 1 : 2;
  });
  if (axes.length === 0) return dy;
  return ctx.emit('ReduceSum', [ctx.reshape(dy, split), ctx.i64(axes)], { keepdims: 0 }, xd, base);
}

const tile: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  // Y[j·d + i] = X[i] on each axis: the repeat index is the outer factor.
  return [sumFactors(ctx, dy, ctx.shape(x), ctx.info(node.input![1])!.value!, true, `dX_${x}`)];
};

const f32 = Math.fround;

/** Source coordinate of output index o, in float32 like onnxruntime's GetOriginalCoordinateFromResizedCoordinate. */
function sourceCoord(node: onnx.INodeProto, ctm: string, o: number, s: number, lenOut: number, lenIn: number): number {
  switch (ctm) {
    case 'asymmetric':
      return f32(o / s);
    case 'half_pixel':
      return f32(f32(f32(o + 0.5) / s) - 0.5);
    case 'pytorch_half_pixel':
      return lenOut > 1 ? f32(f32(f32(o + 0.5) / s) - 0.5) : 0;
    case 'tf_half_pixel_for_nn':
      return f32(f32(o + 0.5) / s);
    case 'align_corners':
      return lenOut === 1 ? 0 : f32(f32(o * (lenIn - 1)) / (lenOut - 1));
    case 'half_pixel_symmetric': {
      const offset = f32(f32(lenIn / 2) * f32(1 - f32(lenOut / f32(s * lenIn))));
      return f32(offset + (o + 0.5) / s - 0.5);
    }
    default:
      return fail(node, `no gradient rule for coordinate_transformation_mode ${ctm}`);
  }
}

const roundAway = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));

function nearestIndex(mode: string, v: number, down: boolean): number {
  switch (mode) {
    case 'simple':
      return down ? Math.ceil(v) : Math.trunc(v);
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'round_prefer_ceil':
      return roundAway(v);
    default:
      return v === Math.trunc(v) + 0.5 ? Math.floor(v) : roundAway(v);
  }
}

/** onnxruntime's GetCubicCoeffs (Keys, coefficient a) for the fraction s. */
function cubicCoeffs(s: number, a: number): number[] {
  const c = (x: number) => f32(f32(f32(f32(f32(f32(a * x) - f32(5 * a)) * x) + f32(8 * a)) * x) - f32(4 * a));
  const n = (x: number) => f32(f32(f32(f32(f32(f32(a + 2) * x) - f32(a + 3)) * x) * x) + 1);
  return [c(f32(s + 1)), n(s), n(f32(1 - s)), c(f32(2 - s))];
}

/** Per output index on axis a: the input indices it reads with their weights. */
function axisTaps(node: onnx.INodeProto, p: ResizeParams, a: number, lenIn: number): [number, number][][] {
  const lenOut = p.out[a];
  const s = p.scales[a];
  const clamp = (i: number) => Math.min(Math.max(i, 0), lenIn - 1);
  return Array.from({ length: lenOut }, (_, o): [number, number][] => {
    const v = sourceCoord(node, p.ctm, o, s, lenOut, lenIn);
    if (p.mode === 'nearest') return [[clamp(nearestIndex(p.nearest, v, s < 1)), 1]];
    if (p.mode === 'cubic') {
      // Keys kernel on the 4 taps around v (reads past the edge repeat the edge, unless exclude_outside).
      const fl = Math.floor(v);
      let t = cubicCoeffs(f32(v - fl), p.cubicA).map((w, i): [number, number] => [fl - 1 + i, w]);
      if (p.excludeOutside) {
        t = t.map(([i, w]) => [i, i < 0 || i >= lenIn ? 0 : w]);
        const sum = t.reduce((acc, [, w]) => f32(acc + w), 0);
        t = t.map(([i, w]) => [i, f32(w / sum)]);
      }
      return t.map(([i, w]) => [clamp(i), w]);
    }
    const c = Math.max(0, Math.min(v, lenIn - 1));
    const i1 = Math.min(Math.trunc(c), lenIn - 1);
    const i2 = Math.min(i1 + 1, lenIn - 1);
    return i1 === i2 ? [[i1, 1]] : [[i1, f32(Math.abs(c - i2))], [i2, f32(Math.abs(c - i1))]];
  });
}

/** dX along one axis from its taps: Gather the J readers of every input, weight them, sum over J. */
function spreadBack(ctx: GradContext, cur: string, dims: number[], a: number, taps: [number, number][][], lenIn: number, base: string): string {
  const readers: [number, number][][] = Array.from({ length: lenIn }, () => []);
  taps.forEach((t, o) => t.forEach(([i, w]) => readers[i].push([o, w])));
  const J = Math.max(1, ...readers.map((r) => r.length));
  const idx: number[] = [];
  const w: number[] = [];
  for (let j = 0; j < J; j++) {
    for (const r of readers) {
      idx.push(r[j]?.[0] ?? 0);
      w.push(r[j]?.[1] ?? 0);
    }
  }
  const gDims = [...dims.slice(0, a), J, lenIn, ...dims.slice(a + 1)];
  let g = ctx.emit('Gather', [cur, ctx.i64(idx, [J, lenIn])], { axis: a }, gDims, base);
  if (w.some((v) => v !== 1)) g = ctx.emit('Mul', [g, ctx.f32(w, [J, lenIn, ...dims.slice(a + 1).map(() => 1)], 'resize_w')], {}, gDims, base);
  const out = dims.map((d, i) => (i === a ? lenIn : d));
  return J === 1 ? ctx.reshape(g, out) : ctx.emit('ReduceSum', [g, ctx.i64([a])], { keepdims: 0 }, out, base);
}

const resize: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const p = resizeParams(node, infosOf(ctx, node));
  if (!['nearest', 'linear', 'cubic'].includes(p.mode) || p.antialias || p.ctm === 'tf_crop_and_resize') {
    fail(node, `no gradient rule for mode ${p.mode}${p.antialias ? ' with antialias' : ''}, coordinate_transformation_mode ${p.ctm} ` +
      '(supported: nearest, linear and cubic without antialias, any coordinate mode but tf_crop_and_resize)');
  }
  const xd = ctx.shape(x);
  // onnxruntime copies X when no size changes, whatever the scales say.
  if (p.out.every((d, a) => d === xd[a])) return [dy];
  const axes = xd.map((_, a) => a).filter((a) => p.scales[a] !== 1);
  const taps = axes.map((a) => axisTaps(node, p, a, xd[a]));
  const k = xd.map((d, a) => p.out[a] / d);
  if (p.mode === 'nearest' && axes.every((a, n) => Number.isInteger(k[a]) && taps[n].every(([[i]], o) => i === Math.floor(o / k[a])))) {
    return [sumFactors(ctx, dy, xd, k, false, `dX_${x}`)];
  }
  let cur = dy;
  const dims = [...p.out];
  axes.forEach((a, n) => {
    cur = spreadBack(ctx, cur, dims, a, taps[n], xd[a], `dX_${x}`);
    dims[a] = xd[a];
  });
  return [cur];
};

export const indexRules: Record<string, GradRule> = {
  Slice: slice,
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  ScatterND: scatterGrad('GatherND'),
  ScatterElements: scatterGrad('GatherElements'),
  Split: split,
  Expand: expand,
  Tile: tile,
  Resize: resize,
};

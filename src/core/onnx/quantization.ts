/**
 * DequantizeLinear on constant weights (QDQ models): y = (q − zero_point) · scale, per tensor or per axis,
 * and its inverse for writing edited weights back: q = saturate(round_half_even(x / scale) + zero_point).
 * A weight pruned to exactly 0 maps exactly to the zero point, so the N:M pattern survives quantisation.
 */
import { inputError, usageError } from '../errors';
import { integerRange, NativeArray, nativeCtor } from './dtypes';
import { roundHalfEven } from './tensorCodec';
import { nodeLabel } from './nodeAttributes';
import { onnx } from './proto';
import type { OnnxModel } from './onnxModel';
import { toNumber } from './int64';
import { shown } from './shown';

export interface DequantParams {
  node: string;
  scaleName: string;
  zeroPointName?: string;
  scale: Float32Array;
  /** Zero points as numbers (one, or one per slice along `axis`); all 0 when the input is absent. */
  zeroPoint: Float64Array;
  /** Normalised axis, used when there is more than one scale. */
  axis: number;
}

function attrInt(node: onnx.INodeProto, name: string): number | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a ? toNumber(a.i) : undefined;
}

/**
 * Checks that a DequantizeLinear node over a constant of dims `xDims` is one we can apply: constant scale
 * (and zero point), per-tensor or per-axis, no blocked quantisation. Returns a reason when it isn't.
 */
export function dequantShapeProblem(model: OnnxModel, node: onnx.INodeProto, xDims: readonly number[]): string | undefined {
  const scale = model.tensorInfo(node.input?.[1] ?? '');
  if (!scale) return 'scale is not a constant';
  const zpName = node.input?.[2];
  const zp = zpName ? model.tensorInfo(zpName) : undefined;
  if (zpName && !zp) return 'zero point is not a constant';
  if ((attrInt(node, 'block_size') ?? 0) !== 0) return 'blocked quantization is not supported';
  if (zp && zp.elementCount !== scale.elementCount) return 'zero point and scale differ in size';
  if (scale.elementCount === 1) return undefined;
  const axis = normalisedAxis(node, xDims.length);
  if (scale.dims.length !== 1 || axis < 0 || axis >= xDims.length || scale.elementCount !== xDims[axis]) return 'scale does not match the quantization axis';
  return undefined;
}

function normalisedAxis(node: onnx.INodeProto, rank: number): number {
  const axis = attrInt(node, 'axis') ?? 1;
  return axis < 0 ? axis + rank : axis;
}

export async function readDequantParams(model: OnnxModel, node: onnx.INodeProto, xDims: readonly number[]): Promise<DequantParams> {
  const problem = dequantShapeProblem(model, node, xDims);
  if (problem) throw inputError(model.path, `DequantizeLinear '${shown(nodeLabel(node))}': ${problem}`);
  const scaleName = node.input?.[1] as string;
  const zeroPointName = node.input?.[2] || undefined;
  const scale = await model.readFloat32(scaleName);
  const zeroPoint = new Float64Array(scale.length);
  if (zeroPointName) {
    const zp = await model.readTensor(zeroPointName);
    for (let i = 0; i < zeroPoint.length; i++) zeroPoint[i] = Number(zp.data[i]);
  }
  return { node: nodeLabel(node), scaleName, zeroPointName, scale, zeroPoint, axis: normalisedAxis(node, xDims.length) };
}

/** Runs `fn(elementIndex, paramIndex)` over a tensor laid out as dims, with params along `axis` (or one param). */
function forEachWithParam(dims: readonly number[], p: DequantParams, count: number, fn: (i: number, k: number) => void): void {
  if (p.scale.length === 1) {
    for (let i = 0; i < count; i++) fn(i, 0);
    return;
  }
  let inner = 1;
  for (let a = p.axis + 1; a < dims.length; a++) inner *= dims[a];
  const axisLen = dims[p.axis];
  for (let i = 0; i < count; i++) fn(i, Math.floor(i / inner) % axisLen);
}

export function dequantize(q: NativeArray, dims: readonly number[], p: DequantParams): Float32Array {
  const out = new Float32Array(q.length);
  forEachWithParam(dims, p, q.length, (i, k) => {
    out[i] = (Number(q[i]) - p.zeroPoint[k]) * p.scale[k];
  });
  return out;
}

export function quantize(x: Float32Array, dims: readonly number[], p: DequantParams, dataType: number, label: string): NativeArray {
  const range = integerRange(dataType);
  const ctor = nativeCtor(dataType);
  if (!range || !ctor || ctor === BigInt64Array || ctor === BigUint64Array) {
    throw usageError(`tensor '${shown(label)}': cannot quantize to its data type ${dataType}`);
  }
  const out = new ctor(x.length) as Exclude<NativeArray, BigInt64Array | BigUint64Array>;
  forEachWithParam(dims, p, x.length, (i, k) => {
    const v = x[i];
    if (v === 0) {
      out[i] = p.zeroPoint[k];
      return;
    }
    if (Number.isNaN(v)) throw usageError(`tensor '${shown(label)}': NaN at index ${i} cannot be quantized`);
    const q = roundHalfEven(Math.fround(v / p.scale[k])) + p.zeroPoint[k];
    out[i] = Math.min(range[1], Math.max(range[0], q));
  });
  return out;
}

/** DequantizeLinear nodes reading `source` directly or through Identity chains. */
export function dequantizeConsumers(model: OnnxModel, source: string): onnx.INodeProto[] {
  const found: onnx.INodeProto[] = [];
  const seen = new Set<string>();
  const queue = [source];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const n of model.consumersOf(name)) {
      if (n.domain && n.domain !== 'ai.onnx') continue;
      if (n.opType === 'Identity') queue.push(...(n.output ?? []).filter(Boolean));
      else if (n.opType === 'DequantizeLinear' && n.input?.[0] === name) found.push(n);
    }
  }
  return found;
}

/** The one dequantisation all DequantizeLinear readers of `source` agree on, or undefined when there is none. */
export async function sharedDequantParams(model: OnnxModel, source: string, dims: readonly number[]): Promise<DequantParams | undefined> {
  const nodes = dequantizeConsumers(model, source);
  if (nodes.length === 0) return undefined;
  const params = await Promise.all(nodes.map((n) => readDequantParams(model, n, dims)));
  const first = params[0];
  const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]));
  for (const p of params.slice(1)) {
    if (!same(p.scale, first.scale) || !same(p.zeroPoint, first.zeroPoint) || (first.scale.length > 1 && p.axis !== first.axis)) {
      throw usageError(`tensor '${shown(source)}' is dequantized by '${shown(first.node)}' and '${shown(p.node)}' with different scales; it cannot be re-quantized`);
    }
  }
  return first;
}

/**
 * Finds the constant a layer's weight really comes from. Exporters often put ops between the stored tensor
 * and the layer (Identity, a Cast from float16, a Transpose of a linear weight, DequantizeLinear in QDQ
 * models); we follow those back to the initializer or Constant so the weight can be read as the layer sees
 * it and edits can be written to the tensor that holds it.
 */
import { DataType, onnx } from './proto';
import type { OnnxModel } from './onnxModel';
import { nodeLabel } from './nodeAttributes';
import { isFloatType } from './dtypes';
import { halfToFloat32Array, float32ToHalfArray, float32ToBfloat16Array, bfloat16ToFloat32Array } from './halfFloat';
import { dequantShapeProblem, dequantize, readDequantParams } from './quantization';
import { inversePerm, isPermutation, transpose, transposeDims } from './transpose';
import { toNumber } from './int64';
import { usageError } from '../errors';
import { shown } from './shown';

export interface ResolvedStep {
  op: 'Identity' | 'Cast' | 'Transpose' | 'DequantizeLinear';
  node: string;
  /** The tensor this step produces (identifies the node even when names repeat). */
  output: string;
  /** Transpose: the permutation (default: reversed axes made explicit). */
  perm?: number[];
  /** Cast: the target data type. */
  to?: number;
}

export interface ResolvedWeight {
  /** Initializer or Constant output holding the values. */
  source: string;
  /** Ops from the source to the consumer, in the order they are applied (via[0] reads the source). */
  via: ResolvedStep[];
  /** Shape as the consumer sees it. */
  dims: number[];
  /** Shape of the source tensor. */
  sourceDims: number[];
}

/** Longest op chain we follow; real exports have one or two. */
const MAX_CHAIN = 32;

function isDefaultDomain(n: onnx.INodeProto): boolean {
  return !n.domain || n.domain === 'ai.onnx';
}

function attr(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/**
 * Follows `tensorName` (as a node consumes it) back through Identity, Cast (to a float type), Transpose and
 * DequantizeLinear (directly on the stored integer tensor) to a constant. Undefined when it is computed
 * from anything else.
 */
export function resolveWeight(model: OnnxModel, tensorName: string): ResolvedWeight | undefined {
  const backwards: { step: ResolvedStep; node: onnx.INodeProto }[] = [];
  let cur = tensorName;
  for (let depth = 0; !model.tensorInfo(cur); depth++) {
    const p = model.producerOf(cur);
    if (!p || depth >= MAX_CHAIN || !isDefaultDomain(p) || !p.input?.[0]) return undefined;
    const op = p.opType;
    if (op !== 'Identity' && op !== 'Cast' && op !== 'Transpose' && op !== 'DequantizeLinear') return undefined;
    const step: ResolvedStep = { op, node: nodeLabel(p), output: cur };
    if (op === 'Cast') {
      step.to = toNumber(attr(p, 'to')?.i);
      if (!isFloatType(step.to)) return undefined;
    }
    if (op === 'Transpose') {
      const perm = attr(p, 'perm')?.ints;
      if (perm && perm.length > 0) step.perm = perm.map((v) => toNumber(v));
    }
    backwards.push({ step, node: p });
    cur = p.input[0];
  }
  const info = model.tensorInfo(cur)!;
  const chain = backwards.reverse(); // source → consumer
  const via = chain.map((b) => b.step);
  // Shapes forward from the source; DequantizeLinear must act on the stored integers themselves.
  let dims = [...info.dims];
  for (let i = 0; i < via.length; i++) {
    const s = via[i];
    if (s.op === 'DequantizeLinear') {
      if (via.slice(0, i).some((v) => v.op !== 'Identity') || isFloatType(info.dataType)) return undefined;
      if (dequantShapeProblem(model, chain[i].node, dims)) return undefined;
    } else if (s.op === 'Transpose') {
      s.perm = s.perm ?? dims.map((_, k) => dims.length - 1 - k);
      if (!isPermutation(s.perm, dims.length)) return undefined;
      dims = transposeDims(dims, s.perm);
    }
  }
  return { source: cur, via, dims, sourceDims: [...info.dims] };
}

function castTo(values: Float32Array, to: number): Float32Array {
  if (to === DataType.FLOAT16) return halfToFloat32Array(float32ToHalfArray(values));
  if (to === DataType.BFLOAT16) return bfloat16ToFloat32Array(float32ToBfloat16Array(values));
  return values; // float32 and float64 hold every float32 value
}

/**
 * The weight's values exactly as the consumer sees them: dequantized, cast and transposed. With `readOnly`, a
 * float32 source that needs no conversion may come back as a view on the model's file buffer (no copy).
 */
export async function readResolvedFloat32(model: OnnxModel, r: ResolvedWeight, opts: { readOnly?: boolean; scratch?: ArrayBufferLike } = {}): Promise<Float32Array> {
  let dims = [...r.sourceDims];
  let values: Float32Array;
  const dqIndex = r.via.findIndex((s) => s.op === 'DequantizeLinear');
  if (dqIndex >= 0) {
    const dqNode = model.producerOf(r.via[dqIndex].output) as onnx.INodeProto;
    const params = await readDequantParams(model, dqNode, dims);
    values = dequantize((await model.readTensor(r.source)).data, dims, params);
  } else {
    values = opts.readOnly ? await model.readFloat32View(r.source, { scratch: opts.scratch }) : await model.readFloat32(r.source);
  }
  for (const s of r.via) {
    if (s.op === 'Cast') values = castTo(values, s.to as number);
    else if (s.op === 'Transpose') {
      values = transpose(values, dims, s.perm as number[]);
      dims = transposeDims(dims, s.perm as number[]);
    }
  }
  return values;
}

/** Consumer-layout values → the source tensor's layout (undoes the Transposes), ready for writeModel. */
export function toSourceLayout(r: ResolvedWeight, consumerValues: Float32Array): Float32Array {
  const count = r.sourceDims.reduce((a, b) => a * b, 1);
  if (consumerValues.length !== count) {
    throw usageError(`weight '${shown(r.source)}': got ${consumerValues.length} values for dims [${r.dims.join(', ')}] (${count} elements)`);
  }
  const stages: number[][] = [];
  let dims = [...r.sourceDims];
  for (const s of r.via) {
    stages.push(dims);
    if (s.op === 'Transpose') dims = transposeDims(dims, s.perm as number[]);
  }
  let values = consumerValues;
  for (let i = r.via.length - 1; i >= 0; i--) {
    const s = r.via[i];
    if (s.op !== 'Transpose') continue;
    const inv = inversePerm(s.perm as number[]);
    values = transpose(values, transposeDims(stages[i], s.perm as number[]), inv);
  }
  return values === consumerValues ? Float32Array.from(values) : values;
}

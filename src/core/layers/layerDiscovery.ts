/**
 * Finds every Conv / Gemm / MatMul weight N:M could apply to, decides structural eligibility for a given M,
 * and applies the layer policy. The result is what inspect, masks, sparsify and validate all work from, so
 * the same model always yields the same layer list everywhere.
 */
import { OnnxModel } from '../onnx/onnxModel';
import { resolveWeight } from '../onnx/weightResolver';
import { intAttr, nodeLabel } from '../onnx/nodeAttributes';
import { dataTypeName, DataType, onnx } from '../onnx/proto';
import { LayerInfo, LayerOp } from '../types';
import { applyPolicy, LayerSelection, PolicyRole } from './layerPolicy';

const LAYER_OPS = new Set<string>(['Conv', 'Gemm', 'MatMul']);
const MASKABLE_DTYPES = new Set<number>([
  DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE, DataType.INT8, DataType.UINT8,
]);

export interface DiscoveryOptions extends LayerSelection {
  /** M of the requested pattern; channel counts are checked against it. Omit for structural checks only. */
  m?: number;
}

/** Ops that only rearrange the input: a linear layer reached through these alone embeds raw patches. */
const LAYOUT_OPS = new Set(['Reshape', 'Transpose', 'Flatten', 'Identity', 'Squeeze', 'Unsqueeze', 'Cast']);

/**
 * The stem(s): convs reached from a graph input before any other parameterised layer, and linear layers that
 * read the input through layout ops only (a patch embedding written as Reshape → MatMul). A transformer's
 * residual stream also reaches every block without passing a layer, so for linear layers only layout ops count.
 */
function firstConvNodes(model: OnnxModel): Set<onnx.INodeProto> {
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name));
  const inputs = (model.graph.input ?? []).map((i) => i.name as string).filter((n) => !initializers.has(n));
  const stems = new Set<onnx.INodeProto>();
  const walk = (through: (node: onnx.INodeProto) => boolean, isStem: (node: onnx.INodeProto, tensor: string) => boolean) => {
    const frontier = [...inputs];
    const seen = new Set<string>(frontier);
    while (frontier.length > 0) {
      const tensor = frontier.pop() as string;
      for (const node of model.consumersOf(tensor)) {
        if (LAYER_OPS.has(node.opType ?? '')) {
          if (isStem(node, tensor)) stems.add(node);
          continue; // do not walk past a parameterised layer
        }
        if (!through(node)) continue;
        for (const out of node.output ?? []) {
          if (!seen.has(out)) {
            seen.add(out);
            frontier.push(out);
          }
        }
      }
    }
  };
  walk(() => true, (node, tensor) => node.opType === 'Conv' && node.input?.[0] === tensor);
  walk((node) => LAYOUT_OPS.has(node.opType ?? ''), (node, tensor) => node.opType !== 'Conv' && node.input?.[0] === tensor);
  return stems;
}

/** True when the node's output reaches a graph output without passing another parameterised layer. */
function feedsGraphOutput(model: OnnxModel, node: onnx.INodeProto): boolean {
  const outputs = new Set((model.graph.output ?? []).map((o) => o.name));
  const frontier = [...(node.output ?? [])];
  const seen = new Set(frontier);
  while (frontier.length > 0) {
    const tensor = frontier.pop() as string;
    if (outputs.has(tensor)) return true;
    for (const next of model.consumersOf(tensor)) {
      if (LAYER_OPS.has(next.opType ?? '')) continue;
      for (const out of next.output ?? []) {
        if (!seen.has(out)) {
          seen.add(out);
          frontier.push(out);
        }
      }
    }
  }
  return false;
}

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function discoverLayers(model: OnnxModel, opts: DiscoveryOptions = {}): LayerInfo[] {
  const stems = firstConvNodes(model);
  const layers: LayerInfo[] = [];
  const roles: PolicyRole[] = [];
  const claimed = new Map<string, string>(); // weight tensor -> node that uses it first

  for (const node of model.nodes) {
    const op = node.opType as LayerOp;
    if (!LAYER_OPS.has(op)) continue;
    const weightInput = node.input?.[1];
    if (!weightInput) continue;
    const nodeName = nodeLabel(node);
    const resolved = resolveWeight(model, weightInput);
    const base = { nodeName, op, group: 1, via: [] as string[] };

    if (!resolved) {
      // MatMul(X, Y) between two activations is not a layer; a Conv/Gemm with a computed weight is.
      if (op === 'MatMul') continue;
      layers.push({
        ...base, name: weightInput, storageShape: [], canonicalShape: [0, 0, 0, 0], storageTransposed: false,
        dtype: 'unknown', params: 0, eligible: false, selected: false, reason: 'weight is not a constant initializer',
      });
      continue;
    }

    const info = model.tensorInfo(resolved.source);
    const storageShape = info ? [...info.dims] : [...resolved.dims];
    const dtype = info ? dataTypeName(info.dataType) : 'unknown';
    const dims = resolved.dims;
    const via = resolved.via.map((v) => v.op);
    let canonical: [number, number, number, number] = [0, 0, 0, 0];
    let transposed = false;
    let structural: string | undefined;
    let role: PolicyRole = null;
    const group = op === 'Conv' ? intAttr(node, 'group', 1) : 1;

    if (op === 'Conv') {
      if (dims.length !== 4) structural = `not a 2-D conv (weight rank ${dims.length})`;
      else {
        canonical = [dims[0], dims[1], dims[2], dims[3]];
        const cin = dims[1] * group;
        if (group > 1) structural = dims[1] === 1 && group === cin ? 'depthwise conv' : `grouped conv (group=${group})`;
        else if (stems.has(node)) role = 'first-conv';
      }
    } else {
      if (dims.length !== 2) structural = `weight is ${dims.length}-D, not a 2-D matrix`;
      else {
        transposed = op === 'MatMul' || intAttr(node, 'transB', 0) === 0;
        canonical = transposed ? [dims[1], dims[0], 1, 1] : [dims[0], dims[1], 1, 1];
        role = feedsGraphOutput(model, node) ? 'final-classifier' : stems.has(node) ? 'stem-linear' : 'linear';
      }
    }
    if (!structural && info && !MASKABLE_DTYPES.has(info.dataType)) structural = `unsupported weight dtype ${dtype}`;
    if (!structural && claimed.has(resolved.source)) structural = `weight shared with ${claimed.get(resolved.source)}`;
    if (!structural && opts.m !== undefined && canonical[1] % opts.m !== 0) {
      const what = op === 'Conv' ? 'Cin' : 'in-features';
      structural = `${what} ${canonical[1]} is not a multiple of M=${opts.m}`;
    }
    claimed.set(resolved.source, claimed.get(resolved.source) ?? nodeName);

    const layer = { name: resolved.source, nodeName };
    const { selected, reason } = applyPolicy(layer, structural, role, opts);
    roles[layers.length] = role;
    layers.push({
      ...base, name: resolved.source, group, via, storageShape, canonicalShape: canonical, storageTransposed: transposed,
      dtype, params: product(storageShape), eligible: structural === undefined, selected, reason,
    });
  }
  applyLinearFallback(layers, roles, opts);
  return layers;
}

/**
 * Vision transformers have no eligible conv but for the patch embedding, and ConvNeXt keeps most of its weights
 * in the MLP linears its blocks apply per position (pointwise convs in all but name). When nothing was included
 * by name and the default policy selects no conv, or the model's linear layers hold more weights than its
 * selected convs, the linear layers are selected too (never the final classifier or a linear stem), marked
 * `linearFallback` so every view can say so.
 */
function applyLinearFallback(layers: LayerInfo[], roles: PolicyRole[], opts: DiscoveryOptions): void {
  if ((opts.include ?? []).length > 0) return;
  const convWeights = layers.filter((l) => l.selected && l.op === 'Conv').reduce((a, l) => a + l.params, 0);
  const linearWeights = layers.filter((l, i) => roles[i] === 'linear' && l.eligible).reduce((a, l) => a + l.params, 0);
  if (convWeights > 0 && linearWeights <= convWeights) return;
  layers.forEach((l, i) => {
    if (roles[i] !== 'linear' || !l.eligible || l.selected || /--exclude/.test(l.reason ?? '')) return;
    l.selected = true;
    l.reason = undefined;
    l.linearFallback = true;
  });
}

/** The one line that says the linear fallback happened, or null. */
export function linearFallbackNote(layers: readonly LayerInfo[]): string | null {
  const n = layers.filter((l) => l.linearFallback).length;
  if (n === 0) return null;
  const what = `the ${n} linear layer${n === 1 ? '' : 's'}`;
  return layers.some((l) => l.selected && l.op === 'Conv')
    ? `the linear layers hold most of the weights: sparsifying ${what} too; --exclude to narrow`
    : `no eligible conv: sparsifying ${what}; --exclude to narrow`;
}

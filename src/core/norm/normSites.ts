/**
 * Which sparsified layers have no BatchNorm after them, and where a run-time normalisation can go.
 *
 * `torch.onnx.export` in eval mode folds every Conv→BatchNormalization pair into the conv, so most exported
 * CNNs have no BN left. N:M pruning (and MaxQ's S = H·(1+F+P), which scales kept weights by 1…3) then changes
 * every channel's output scale with nothing to absorb it. For such a layer a run inserts a normalisation that
 * is the identity on the dense model (insertNormalisation.ts), re-estimates or trains it like any BN, and
 * folds it back into the layer's weight and bias at export (foldNormalisation.ts): a per-output-channel scale
 * keeps every N:M zero, and the written model has the input's graph structure.
 */
import { OnnxModel } from '../onnx/onnxModel';
import { resolveWeight } from '../onnx/weightResolver';
import { floatAttr, intAttr, nodeLabel } from '../onnx/nodeAttributes';
import { onnx } from '../onnx/proto';
import { BatchNormSummary, LayerInfo } from '../types';
import { UntieRequest, untieInputs } from '../onnx/untie';

/** A sparsified layer that gets a normalisation for the run. */
export interface NormSite {
  /** The layer (its weight's source tensor, LayerInfo.name). */
  layer: string;
  /** The layer node, for messages. */
  node: string;
  op: 'Conv' | 'Gemm';
  /** The layer node's output tensor: the inserted normalisation takes it over. */
  output: string;
  /** Output channels (the normalised axis, 1). */
  channels: number;
  /** Source tensor of the layer's bias, where the normalisation's shift is folded. */
  bias: string;
  /** Linear weight stored [in, out] (Gemm transB = 0): a channel is a column. */
  storageTransposed: boolean;
  /** Gemm's alpha and beta (1 for Conv): output = alpha·A·B + beta·C. */
  alpha: number;
  beta: number;
  /** Names of the inserted BatchNormalization's parameters and statistics. */
  scaleName: string;
  shiftName: string;
  meanName: string;
  varName: string;
  epsilon: number;
}

export interface NormPlan {
  sites: NormSite[];
  /** Layers whose bias another node shares: untie them (untieInputs) and plan again to normalise them too. */
  untie: UntieRequest[];
  /** Selected layers a BatchNormalization already follows (nothing inserted). */
  followedByBn: string[];
  /** Selected layers without BatchNorm that cannot get one, and why. */
  skipped: { layer: string; reason: string }[];
}

/** The inserted normalisation's ε (PyTorch's BatchNorm default). */
export const NORM_EPSILON = 1e-5;

const LAYER_OPS = new Set(['Conv', 'Gemm', 'MatMul']);

/** The node that reads `layer`'s weight first (the one discoverLayers names). */
export function layerNode(model: OnnxModel, layer: Pick<LayerInfo, 'name'>): onnx.INodeProto | undefined {
  return model.nodes.find((n) => LAYER_OPS.has(n.opType ?? '') && n.input?.[1] && resolveWeight(model, n.input[1])?.source === layer.name);
}

/**
 * The BatchNormalization that normalises this node's output channels: the output's only consumer, or reached
 * through channel concatenations only (DenseNet's blocks concatenate conv outputs before the next BN).
 */
export function followingBatchNorm(model: OnnxModel, node: onnx.INodeProto): onnx.INodeProto | undefined {
  let tensor = node.output?.[0];
  for (let depth = 0; tensor && depth < 64; depth++) {
    const consumers = model.consumersOf(tensor);
    if (consumers.length !== 1) return undefined;
    const next = consumers[0];
    if (next.opType === 'BatchNormalization' && next.input?.[0] === tensor) return next;
    if (next.opType !== 'Concat' || intAttr(next, 'axis', 0) !== 1) return undefined;
    tensor = next.output?.[0];
  }
  return undefined;
}

/** Every node (other than `except`) that reads `source`, directly or through Identity. */
function readersOf(model: OnnxModel, source: string, except: onnx.INodeProto): onnx.INodeProto[] {
  const out: onnx.INodeProto[] = [];
  const frontier = [source];
  const seen = new Set(frontier);
  while (frontier.length > 0) {
    const t = frontier.pop() as string;
    for (const c of model.consumersOf(t)) {
      if (c.opType === 'Identity' && c.output?.[0] && !seen.has(c.output[0])) {
        seen.add(c.output[0]);
        frontier.push(c.output[0]);
      } else if (c !== except) out.push(c);
    }
  }
  return out;
}

function siteOrReason(model: OnnxModel, layer: LayerInfo, node: onnx.INodeProto): NormSite | string | { untie: UntieRequest } {
  if (layer.op === 'MatMul') return 'a MatMul has no bias input to fold a normalisation into';
  const out = node.output?.[0];
  if (!out) return 'the layer has no output';
  const channels = layer.canonicalShape[0];
  const biasInput = node.input?.[2];
  if (!biasInput) return 'the layer has no bias to fold the normalisation’s shift into';
  const bias = resolveWeight(model, biasInput);
  if (!bias || bias.via.some((s) => s.op !== 'Identity')) return 'its bias is not a constant float tensor';
  const biasCount = bias.sourceDims.reduce((a, b) => a * b, 1);
  if (biasCount !== channels) return `its bias has ${biasCount} values for ${channels} output channels`;
  const others = readersOf(model, bias.source, node);
  if (others.length > 0) {
    return model.tensorInfo(bias.source)?.source === 'initializer' ? { untie: { node, input: 2 } } : `its bias is shared with ${nodeLabel(others[0])}`;
  }
  const weight = resolveWeight(model, node.input![1]);
  if (!weight || weight.via.some((s) => s.op !== 'Identity' && s.op !== 'Cast')) return 'its weight is stored transposed or quantized';
  if (readersOf(model, weight.source, node).length > 0) return 'its weight is shared with another node';
  const isGemm = layer.op === 'Gemm';
  const alpha = isGemm ? floatAttr(node, 'alpha', 1) : 1;
  const beta = isGemm ? floatAttr(node, 'beta', 1) : 1;
  if (isGemm && (beta === 0 || alpha === 0)) return `Gemm with alpha ${alpha}, beta ${beta}`;
  const base = `${out}__maxq_norm`;
  return {
    layer: layer.name, node: nodeLabel(node), op: layer.op as 'Conv' | 'Gemm', output: out, channels, bias: bias.source,
    storageTransposed: layer.storageTransposed, alpha, beta,
    scaleName: `${base}.scale`, shiftName: `${base}.shift`, meanName: `${base}.mean`, varName: `${base}.var`, epsilon: NORM_EPSILON,
  };
}

/** For each selected layer: a BN follows it, it gets a run normalisation, or (with a reason) neither. */
export function planRunNormalisation(model: OnnxModel, layers: readonly LayerInfo[]): NormPlan {
  const plan: NormPlan = { sites: [], untie: [], followedByBn: [], skipped: [] };
  for (const layer of layers) {
    const node = layerNode(model, layer);
    if (!node) {
      plan.skipped.push({ layer: layer.name, reason: 'its node was not found' });
      continue;
    }
    if (followingBatchNorm(model, node)) {
      plan.followedByBn.push(layer.name);
      continue;
    }
    const r = siteOrReason(model, layer, node);
    if (typeof r === 'string') plan.skipped.push({ layer: layer.name, reason: r });
    else if ('untie' in r) plan.untie.push(r.untie);
    else plan.sites.push(r);
  }
  return plan;
}

/**
 * The plan on a model whose shared biases were untied first (each normalised layer folds into a bias of its
 * own): the model to run and write, and its plan.
 */
export function prepareRunNormalisation(model: OnnxModel, layers: readonly LayerInfo[]): { model: OnnxModel; plan: NormPlan; untied: number } {
  const first = planRunNormalisation(model, layers);
  if (first.untie.length === 0) return { model, plan: first, untied: 0 };
  const untied = untieInputs(model, first.untie).model;
  const plan = planRunNormalisation(untied, layers);
  if (plan.untie.length > 0) throw new Error(`internal: biases still shared after untying in ${model.path}`);
  return { model: untied, plan, untied: first.untie.length };
}

/** One line for logs, the run record and the form: what the run does about missing BatchNorm. */
export function describeNormPlan(plan: NormPlan, active: boolean): string | null {
  const missing = plan.sites.length + plan.untie.length + plan.skipped.length;
  if (missing === 0) return null;
  const had = `${missing} of ${missing + plan.followedByBn.length} sparsified layers had no BatchNorm`;
  const parts: string[] = [];
  if (active && plan.sites.length > 0) parts.push(`${plan.sites.length} normalised for the run, folded back`);
  if (!active && plan.sites.length + plan.untie.length > 0) parts.push(`${plan.sites.length + plan.untie.length} could be normalised for the run with data`);
  if (plan.skipped.length > 0) {
    const first = plan.skipped[0];
    parts.push(`${plan.skipped.length} left as they are (${first.layer}: ${first.reason}${plan.skipped.length > 1 ? ', …' : ''})`);
  }
  return `${had}: ${parts.join('; ')}`;
}

/** inspect's BatchNorm summary: per layer whether a BN follows, and what a run will do for the selected ones. */
export function batchNormSummary(model: OnnxModel, layers: readonly LayerInfo[]): BatchNormSummary {
  const nodes = model.nodes.filter((n) => n.opType === 'BatchNormalization').length;
  const plan = planRunNormalisation(model, layers.filter((l) => l.selected));
  const normalisable = plan.sites.length + plan.untie.length;
  const bnFree = normalisable + plan.skipped.length;
  const folded = bnFree > 0 && nodes === 0;
  let message: string | null = null;
  if (bnFree > 0) {
    const head = folded
      ? `BatchNorm was folded into the layers at export: none of the ${bnFree} selected layers has BatchNorm after it.`
      : `${bnFree} of ${bnFree + plan.followedByBn.length} selected layers have no BatchNorm after them.`;
    const does = normalisable > 0
      ? ` With data, a run normalises ${normalisable === bnFree ? 'them' : `${normalisable} of them`} (identity on the dense model, re-estimated or fine-tuned) and folds that back into their weight and bias; without data, MaxQ keeps each filter's scale.`
      : ' Without BatchNorm to re-estimate, MaxQ keeps each filter\'s scale.';
    const left = plan.skipped.length > 0 ? ` Left as they are: ${plan.skipped.length} (${plan.skipped[0].layer}: ${plan.skipped[0].reason}${plan.skipped.length > 1 ? ', …' : ''}).` : '';
    message = head + does + left;
  }
  return { nodes, bnFree, normalisable, skipped: plan.skipped, folded, message };
}

/** Sets `bnAfter` on every layer whose node's output a BatchNormalization normalises. */
export function markBnAfter(model: OnnxModel, layers: LayerInfo[]): void {
  for (const l of layers) {
    const node = layerNode(model, l);
    l.bnAfter = node ? followingBatchNorm(model, node) !== undefined : false;
  }
}

/**
 * Inserts a BatchNormalization after each NormSite's layer in a working copy of the model (never a written
 * file): the layer writes `<output>__maxq_prenorm`, the new node turns that back into `<output>`, so every
 * consumer is unchanged. With scale = √(var + ε) and shift = mean it is the identity on the statistics it was
 * given: `identityValues` of the dense model's own statistics makes the dense model compute what it did.
 */
import { floatTensor, node as mkNode } from '../onnx/builder';
import { onnx } from '../onnx/proto';
import { NormSite } from './normSites';

/** The four tensors of one inserted normalisation (per output channel). */
export interface NormValues {
  scale: Float32Array;
  shift: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** Statistics per channel: mean and (unbiased) variance. */
export interface ChannelStats {
  mean: Float32Array;
  variance: Float32Array;
}

/** Placeholder values for measuring statistics (training mode ignores them): γ = 1, β = 0, mean 0, var 1. */
export function placeholderValues(channels: number): NormValues {
  return { scale: new Float32Array(channels).fill(1), shift: new Float32Array(channels), mean: new Float32Array(channels), variance: new Float32Array(channels).fill(1) };
}

/** γ = √(var + ε), β = mean, running statistics = these: the identity on activations with these statistics. */
export function identityValues(stats: ChannelStats, epsilon: number): NormValues {
  return {
    scale: Float32Array.from(stats.variance, (v) => Math.sqrt(Math.max(v, 0) + epsilon)),
    shift: Float32Array.from(stats.mean),
    mean: Float32Array.from(stats.mean),
    variance: Float32Array.from(stats.variance, (v) => Math.max(v, 0)),
  };
}

export const PRENORM_SUFFIX = '__maxq_prenorm';

function addParameters(graph: onnx.GraphProto, site: NormSite, v: NormValues): void {
  const c = [site.channels];
  graph.initializer.push(
    onnx.TensorProto.create(floatTensor(site.scaleName, c, v.scale)),
    onnx.TensorProto.create(floatTensor(site.shiftName, c, v.shift)),
    onnx.TensorProto.create(floatTensor(site.meanName, c, v.mean)),
    onnx.TensorProto.create(floatTensor(site.varName, c, v.variance)),
  );
}

/**
 * Mutates `proto`: a BatchNormalization beside every site's layer output, off the data path (its output is
 * unused), so BN re-estimation's probes measure the layer's output statistics without changing what any
 * later layer sees. Inserting on the path instead would standardise each output while measuring, and every
 * later layer's statistics would be those of a different network.
 */
export function observeNormalisation(proto: onnx.ModelProto, sites: readonly NormSite[]): void {
  const graph = proto.graph as onnx.GraphProto;
  for (const site of sites) {
    addParameters(graph, site, placeholderValues(site.channels));
    const bn = mkNode('BatchNormalization', [site.output, site.scaleName, site.shiftName, site.meanName, site.varName], [`${site.output}__maxq_observed`],
      { epsilon: { float: site.epsilon }, momentum: { float: 0.9 } }, `${site.node}/maxq_observe`);
    graph.node.push(onnx.NodeProto.create(bn));
  }
}

/** Mutates `proto`: one BatchNormalization (inference form, momentum 0.9) after every site's layer. */
export function insertNormalisation(proto: onnx.ModelProto, sites: readonly NormSite[], values: ReadonlyMap<string, NormValues>): void {
  const graph = proto.graph as onnx.GraphProto;
  const nodes = graph.node as onnx.NodeProto[];
  for (const site of sites) {
    const v = values.get(site.layer);
    if (!v) throw new Error(`internal: no normalisation values for ${site.layer}`);
    const at = nodes.findIndex((n) => n.output?.[0] === site.output);
    if (at < 0) throw new Error(`internal: no node writes ${site.output}`);
    const pre = `${site.output}${PRENORM_SUFFIX}`;
    nodes[at].output[0] = pre;
    addParameters(graph, site, v);
    const bn = mkNode('BatchNormalization', [pre, site.scaleName, site.shiftName, site.meanName, site.varName], [site.output],
      { epsilon: { float: site.epsilon }, momentum: { float: 0.9 } }, `${site.node}/maxq_norm`);
    nodes.splice(at + 1, 0, onnx.NodeProto.create(bn));
  }
}

/**
 * BatchNorm re-estimation: after pruning, the BN running statistics describe the dense network's activations,
 * which is why one-shot N:M collapses accuracy. Run the pruned model with BN in training mode over some
 * batches (no labels, no weight update) and replace running mean/var by the cumulative averages of the batch
 * statistics — PyTorch's `momentum=None` recalibration. Every weight stays as it is.
 */
import { Dataset } from '../data/dataset';
import { epochBatches } from '../data/batches';
import { OnnxModel } from '../onnx/onnxModel';
import { onnx, DataType } from '../onnx/proto';
import { node as mkNode } from '../onnx/builder';
import { derivedModelProto, derivedSession } from '../runtime/derivedModel';
import { ort } from '../runtime/ortSession';
import { throwIfCancelled } from '../sparsify/cancellation';
import { inputError } from '../errors';
import { NormSite } from '../norm/normSites';
import { ChannelStats, insertNormalisation, NormValues, observeNormalisation } from '../norm/insertNormalisation';

export interface BnRecalibrationOptions {
  batches: number;
  batchSize: number;
  seed?: number;
  threads?: number;
  signal?: AbortSignal;
}

interface BnProbe {
  node: string;
  meanTensor: string;
  varTensor: string;
  meanOut: string;
  varOut: string;
  shapeOut: string;
}

/** BN-14 introduced training_mode; older models cannot be probed this way. */
export const MIN_BN_TRAINING_OPSET = 14;

export function batchNormCount(model: OnnxModel): number {
  return model.nodes.filter((n) => n.opType === 'BatchNormalization').length;
}

/** The initializer or Constant a tensor of `graph` holds, following Identity; undefined when computed. */
function constantRoot(graph: onnx.IGraphProto, name: string): string | undefined {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  let cur = name;
  for (let depth = 0; depth < 64; depth++) {
    if (inits.has(cur)) return cur;
    const p = producer.get(cur);
    if (!p) return undefined;
    if (p.opType === 'Constant') return cur;
    if (p.opType !== 'Identity' || !p.input?.[0]) return undefined;
    cur = p.input[0];
  }
  return undefined;
}

/**
 * Rewrites every BN with constant statistics to training mode with momentum 0 (its outputs are the batch
 * stats). BNs whose statistics are shared with another BN are left as they are and listed in `tied`.
 */
function addProbes(proto: onnx.ModelProto): { probes: BnProbe[]; tied: string[] } {
  const graph = proto.graph as onnx.GraphProto;
  const probes: BnProbe[] = [];
  const tied: string[] = [];
  const extra: onnx.INodeProto[] = [];
  const bns = (graph.node as onnx.NodeProto[]).filter((n) => n.opType === 'BatchNormalization');
  const roots = bns.map((n) => [constantRoot(graph, n.input[3]), constantRoot(graph, n.input[4])]);
  const uses = new Map<string, number>();
  for (const r of roots) for (const t of r) if (t) uses.set(t, (uses.get(t) ?? 0) + 1);
  bns.forEach((n, i) => {
    const [mean, variance] = roots[i];
    if (!mean || !variance) return;
    if ((uses.get(mean) ?? 0) > 1 || (uses.get(variance) ?? 0) > 1 || mean === variance) {
      tied.push(n.name || n.output[0]);
      return;
    }
    const tag = `__maxq_bn${i}`;
    const probe = { node: n.name || tag, meanTensor: mean, varTensor: variance, meanOut: `${tag}_mean`, varOut: `${tag}_var`, shapeOut: `${tag}_shape` };
    n.attribute = n.attribute.filter((a) => a.name !== 'momentum' && a.name !== 'training_mode' && a.name !== 'spatial');
    n.attribute.push(onnx.AttributeProto.create({ name: 'momentum', type: onnx.AttributeProto.AttributeType.FLOAT, f: 0 }));
    n.attribute.push(onnx.AttributeProto.create({ name: 'training_mode', type: onnx.AttributeProto.AttributeType.INT, i: 1 }));
    n.output = [n.output[0], probe.meanOut, probe.varOut];
    extra.push(onnx.NodeProto.create(mkNode('Shape', [n.input[0]], [probe.shapeOut], {}, `${tag}_shape_node`)));
    probes.push(probe);
  });
  graph.node.push(...extra);
  for (const p of probes) {
    for (const [name, type] of [[p.meanOut, DataType.FLOAT], [p.varOut, DataType.FLOAT], [p.shapeOut, DataType.INT64]] as const) {
      graph.output.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: type } } }));
    }
  }
  return { probes, tied };
}

function asFloat32(t: ort.Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}

export interface BnRecalibrationResult {
  /** Running mean/var of the model's own BNs (source tensor name → values). */
  edits: Map<string, Float32Array>;
  /** BN layers of the model re-estimated (inserted normalisations not counted). */
  layers: number;
  samples: number;
  /** Statistics measured for each inserted normalisation, by NormSite.layer. */
  inserted: Map<string, ChannelStats>;
  /** BNs left with their old statistics because another BN shares their statistics tensors. */
  tied: string[];
}

/**
 * Run normalisations of BN-free layers: `values` given, they are inserted on the data path and re-estimated
 * like any BN; without values they only observe (the layers' output statistics, the network unchanged).
 */
export interface InsertedNormalisation {
  sites: readonly NormSite[];
  values?: ReadonlyMap<string, NormValues>;
}

/**
 * Measures every BN's statistics on the model with `weightEdits` applied (and `insert`'s normalisations after
 * their layers), over `opts.batches` batches: edits for the model's running mean and var, to be written together
 * with `weightEdits`, and the statistics of each inserted normalisation.
 */
export async function recalibrateBatchNorm(
  model: OnnxModel,
  weightEdits: Map<string, Float32Array>,
  data: Dataset,
  opts: BnRecalibrationOptions & { insert?: InsertedNormalisation },
): Promise<BnRecalibrationResult> {
  if (model.opset('') < MIN_BN_TRAINING_OPSET) {
    throw inputError(model.path, `BN re-estimation needs opset ≥ ${MIN_BN_TRAINING_OPSET} (this model has opset ${model.opset('')})`);
  }
  const proto = await derivedModelProto(model, weightEdits);
  if (opts.insert?.values) insertNormalisation(proto, opts.insert.sites, opts.insert.values);
  else if (opts.insert) observeNormalisation(proto, opts.insert.sites);
  const { probes, tied } = addProbes(proto);
  const edits = new Map<string, Float32Array>();
  const inserted = new Map<string, ChannelStats>();
  if (probes.length === 0) return { edits, layers: 0, samples: 0, inserted, tied };
  const session = await derivedSession(model, proto, { threads: opts.threads });
  const sums = probes.map(() => ({ mean: null as Float64Array | null, var: null as Float64Array | null }));
  let batches = 0, samples = 0;
  try {
    const plan = epochBatches(data.count, { batchSize: Math.min(opts.batchSize, data.count), seed: opts.seed ?? 0, dropLast: true });
    const [c, h, w] = data.inputShape;
    for (const indices of plan.slice(0, opts.batches)) {
      throwIfCancelled(opts.signal);
      const batch = data.getBatch(indices);
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', batch.inputs, [indices.length, c, h, w]) });
      probes.forEach((p, i) => {
        const mean = asFloat32(out[p.meanOut]);
        const biased = asFloat32(out[p.varOut]);
        const dims = Array.from(out[p.shapeOut].data as BigInt64Array, Number);
        const perChannel = dims.reduce((a, b) => a * b, 1) / mean.length;
        const unbias = perChannel > 1 ? perChannel / (perChannel - 1) : 1;
        const s = sums[i];
        s.mean ??= new Float64Array(mean.length);
        s.var ??= new Float64Array(mean.length);
        for (let ch = 0; ch < mean.length; ch++) {
          s.mean[ch] += mean[ch];
          s.var[ch] += biased[ch] * unbias;
        }
      });
      batches++;
      samples += indices.length;
    }
  } finally {
    await session.release();
  }
  if (batches === 0) throw inputError(data.source, `BN re-estimation got no batch (${data.count} samples)`);
  const siteOfMean = new Map((opts.insert?.sites ?? []).map((s) => [s.meanName, s.layer]));
  let layers = 0;
  probes.forEach((p, i) => {
    const mean = Float32Array.from(sums[i].mean as Float64Array, (v) => v / batches);
    const variance = Float32Array.from(sums[i].var as Float64Array, (v) => v / batches);
    const site = siteOfMean.get(p.meanTensor);
    if (site) {
      inserted.set(site, { mean, variance });
      return;
    }
    edits.set(p.meanTensor, mean);
    edits.set(p.varTensor, variance);
    layers++;
  });
  return { edits, layers, samples, inserted, tied };
}

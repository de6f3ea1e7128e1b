/**
 * BatchNorm re-estimation: after pruning, the BN running statistics describe the dense network's activations,
 * which is why one-shot N:M collapses accuracy. Run the pruned model with BN in training mode over some
 * batches (no labels, no weight update) and replace running mean/var by the cumulative averages of the batch
 * statistics — PyTorch's `momentum=None` recalibration. Every weight stays as it is.
 */
import { Dataset } from '../data/dataset';
import { epochBatches } from '../data/batches';
import { OnnxModel } from '../onnx/onnxModel';
import { resolveWeight } from '../onnx/weightResolver';
import { onnx, DataType } from '../onnx/proto';
import { node as mkNode } from '../onnx/builder';
import { derivedModelProto, derivedSession } from '../runtime/derivedModel';
import { ort } from '../runtime/ortSession';
import { throwIfCancelled } from '../sparsify/cancellation';
import { inputError } from '../errors';

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

/** Rewrites every BN with constant statistics to training mode with momentum 0 (its outputs are the batch stats). */
function addProbes(proto: onnx.ModelProto, model: OnnxModel): BnProbe[] {
  const graph = proto.graph as onnx.GraphProto;
  const probes: BnProbe[] = [];
  const extra: onnx.INodeProto[] = [];
  (graph.node as onnx.NodeProto[]).forEach((n, i) => {
    if (n.opType !== 'BatchNormalization') return;
    const mean = resolveWeight(model, n.input[3]);
    const variance = resolveWeight(model, n.input[4]);
    if (!mean || !variance || mean.via.length > 0 || variance.via.length > 0) return;
    const tag = `__maxq_bn${i}`;
    const probe = { node: n.name || tag, meanTensor: mean.source, varTensor: variance.source, meanOut: `${tag}_mean`, varOut: `${tag}_var`, shapeOut: `${tag}_shape` };
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
  return probes;
}

function asFloat32(t: ort.Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}

/**
 * Returns edits for every BN's running mean and var (source tensor name → values), to be written together
 * with `weightEdits` (the folded weights the statistics were measured with).
 */
export async function recalibrateBatchNorm(
  model: OnnxModel,
  weightEdits: Map<string, Float32Array>,
  data: Dataset,
  opts: BnRecalibrationOptions,
): Promise<{ edits: Map<string, Float32Array>; layers: number; samples: number }> {
  if (model.opset('') < MIN_BN_TRAINING_OPSET) {
    throw inputError(model.path, `BN re-estimation needs opset ≥ ${MIN_BN_TRAINING_OPSET} (this model has opset ${model.opset('')})`);
  }
  const proto = await derivedModelProto(model, weightEdits);
  const probes = addProbes(proto, model);
  const edits = new Map<string, Float32Array>();
  if (probes.length === 0) return { edits, layers: 0, samples: 0 };
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
  if (batches === 0) throw new Error(`BN re-estimation got no batch from ${data.source} (${data.count} samples)`);
  probes.forEach((p, i) => {
    edits.set(p.meanTensor, Float32Array.from(sums[i].mean as Float64Array, (v) => v / batches));
    edits.set(p.varTensor, Float32Array.from(sums[i].var as Float64Array, (v) => v / batches));
  });
  return { edits, layers: probes.length, samples };
}

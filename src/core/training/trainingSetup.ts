/**
 * Everything a fine-tune needs before its first step: the float32 forward model in memory, the training
 * graph and its session, the parameters with their optimizer flags, the BN running statistics, and a
 * SparseLayer for every layer the policy selected.
 */
import { OnnxModel } from '../onnx/onnxModel';
import { DataType } from '../onnx/proto';
import { inputError } from '../errors';
import { derivedModelProto } from '../runtime/derivedModel';
import { createSession, ort } from '../runtime/ortSession';
import { trainingNchwcBlock } from './blockedConvCheck';
import { MaskWorkspace } from '../masks/workspace';
import { NmPattern } from '../masks/nmPattern';
import { LayerInfo, MaskMethod } from '../types';
import { buildTrainingGraph, FormulationOptions, TrainingGraph } from './graph';
import { OptimParam } from './optim';
import { SparseLayer } from './sparseLayer';
import { observeShapes } from './observeShapes';
import { NormSite } from '../norm/normSites';
import { insertNormalisation, NormValues } from '../norm/insertNormalisation';

export interface TrainingSetup {
  graph: TrainingGraph;
  session: ort.InferenceSession;
  /** Dense fp32 parameter values by graph input name (the optimizer updates them in place). */
  params: OptimParam[];
  /** Running mean/var by initializer name, updated from the graph's batch statistics. */
  running: Map<string, Float32Array>;
  /** The SparseLayer behind each sparsified parameter, by graph input name. */
  sparse: Map<string, SparseLayer>;
  /** Normalisations inserted for the run (BN-free layers), folded back by exportEdits. */
  norm: NormSite[];
}

export interface SetupOptions {
  batchSize: number;
  loss: 'ce' | 'kl';
  labelSmoothing: number;
  threads?: number;
  pattern: NmPattern;
  method: MaskMethod;
  /** Backward formulation overrides (benchmarks); the generator's defaults otherwise. */
  formulation?: FormulationOptions;
  /**
   * Run eligible convs on onnxruntime's blocked NCHWc kernels when this machine has them (default true;
   * graph/blockedConvs.ts). False: plain Conv nodes (benchmarks compare the two).
   */
  blockedConvs?: boolean;
  /** Normalisations to insert after BN-free sparsified layers (their scale and shift train like a BN's). */
  normalisation?: { sites: readonly NormSite[]; values: ReadonlyMap<string, NormValues> };
}

export async function setUpTraining(model: OnnxModel, layers: LayerInfo[], opts: SetupOptions): Promise<TrainingSetup> {
  const nonFloat = model.tensorInfos.filter((t) => t.source === 'initializer' && (t.dataType === DataType.FLOAT16 || t.dataType === DataType.BFLOAT16 || t.dataType === DataType.DOUBLE));
  if (nonFloat.length > 0) {
    throw inputError(model.path, `fine-tuning needs float32 weights; '${nonFloat[0].name}' is ${nonFloat[0].dtype} (one-shot sparsify with --epochs 0 works on any float type)`);
  }
  // External tensors are brought inline so the graph generator sees every value.
  const inline = new Map<string, Float32Array>();
  for (const t of model.tensorInfos) if (t.external && t.dataType === DataType.FLOAT) inline.set(t.name, await model.readFloat32(t.name));
  const forward = await derivedModelProto(model, inline);
  const norm = [...(opts.normalisation?.sites ?? [])];
  const inserted = new Map<string, Float32Array>();
  if (opts.normalisation && norm.length > 0) {
    insertNormalisation(forward, norm, opts.normalisation.values);
    for (const site of norm) {
      const v = opts.normalisation.values.get(site.layer) as NormValues;
      inserted.set(site.scaleName, v.scale).set(site.shiftName, v.shift).set(site.meanName, v.mean).set(site.varName, v.variance);
    }
  }
  const initialValue = async (name: string): Promise<Float32Array> => inline.get(name) ?? inserted.get(name) ?? (await model.readFloat32(name));
  // Nodes the generator has no shape rule for (integer mask arithmetic and the like) are measured by running
  // the forward model once; only nodes on a float path from a parameter to the loss need a gradient rule.
  const observed = await observeShapes(forward, { batchSize: opts.batchSize, threads: opts.threads, file: model.path });
  const nchwcBlock = opts.blockedConvs === false ? 0 : await trainingNchwcBlock();
  const graph = buildTrainingGraph(forward, { batchSize: opts.batchSize, loss: opts.loss, labelSmoothing: opts.labelSmoothing, formulation: opts.formulation, file: model.path, observed, nchwcBlock });
  const session = await createSession(graph.modelBytes, `${model.path} (training graph)`, { threads: opts.threads, allowSpinning: false, memoryPattern: false });

  const sparseParam = new Map<string, string>();
  for (const layer of layers) {
    const param = graph.params.find((p) => p.sourceInitializer === layer.name && (p.kind === 'conv-weight' || p.kind === 'linear-weight'));
    if (!param) throw inputError(model.path, `layer '${layer.name}' is not a trainable parameter of the training graph`);
    sparseParam.set(layer.name, param.name);
  }
  const sparseNames = new Set(sparseParam.values());
  const values = new Map<string, Float32Array>();
  const params: OptimParam[] = [];
  for (const p of graph.params) {
    const initial = await initialValue(p.sourceInitializer);
    // Sparse layers' dense weights live in shared memory: the per-step masks read them from worker threads
    // (TrainStepper's MaskPool). The graph never reads them (it gets W·S), so onnxruntime needs no plain buffer.
    const data = sparseNames.has(p.name) ? new Float32Array(new SharedArrayBuffer(4 * initial.length)) : new Float32Array(initial.length);
    data.set(initial);
    values.set(p.name, data);
    // Weight decay only on conv/linear weights (ndim > 1), never on BN or LayerNorm scale/bias nor on biases (spec §6).
    params.push({ name: p.name, data, grad: new Float32Array(data.length), decay: p.kind === 'conv-weight' || p.kind === 'linear-weight' });
  }
  const running = new Map<string, Float32Array>();
  const shared = graph.bnStats.flatMap((b) => [b.meanInitializer, b.varInitializer]).find((t, i, all) => all.indexOf(t) !== i);
  if (shared) throw inputError(model.path, `BatchNorm statistics '${shared}' are shared by several BatchNormalization nodes; untie them first (sparsify does)`);
  for (const b of graph.bnStats) {
    running.set(b.meanInitializer, Float32Array.from(await initialValue(b.meanInitializer)));
    running.set(b.varInitializer, Float32Array.from(await initialValue(b.varInitializer)));
  }
  const workspace = new MaskWorkspace();
  const sparse = new Map<string, SparseLayer>();
  for (const layer of layers) {
    const name = sparseParam.get(layer.name) as string;
    sparse.set(name, new SparseLayer(layer, values.get(name) as Float32Array, opts.pattern, opts.method, workspace));
  }
  return { graph, session, params, running, sparse, norm };
}

/**
 * The training-graph generator (doc §2): one ONNX graph of standard opset-17+ operators that computes the
 * loss, the logits, every parameter gradient and the BatchNorm batch statistics, run by a plain
 * onnxruntime-node InferenceSession. Parameters are graph inputs (TS owns weights, masks and the optimizer);
 * everything else stays an initializer.
 */
import { onnx, DataType } from '../../onnx/proto';
import { encodeModel, floatTensor, modelProto, valueInfo } from '../../onnx/builder';
import { inputError, usageError } from '../../errors';
import { GradContext, FormulationOptions, MS_DOMAIN } from './context';
import { emitBackward, gradFlow, missingRules, unsupportedError } from './backward';
import { BnSite, ParamCandidate, ParamKind, PreparedForward, findParamCandidates, prepareForward } from './prepare';
import { emitLoss } from './loss';
import { blockConvs, NCHWC_DOMAIN } from './blockedConvs';
import { attrInt, staticShape } from './onnxUtil';
import type { TensorInfo } from './shapes';

export type { ParamCandidate, ParamKind } from './prepare';
export type { FormulationOptions, ConvFormulation, ConvDxMode, ConvDwMode, ConvLayerInfo } from './context';

export interface TrainingGraphOptions {
  /** Batch size baked into the graph. */
  batchSize: number;
  /** [C, H, W] of one input sample; defaults to the model input's static dims. */
  inputShape?: readonly number[];
  /** `ce` (default): softmax cross-entropy with `labels`; `kl`: distillation against the `teacher_logits` input. */
  loss?: 'ce' | 'kl';
  /** Label smoothing ε for the cross-entropy (default 0). */
  labelSmoothing?: number;
  /** Distillation temperature τ (default 1); the KL term is scaled by τ² as in Hinton et al. */
  temperature?: number;
  /** Weight α of the KL term; the cross-entropy with `labels` gets 1 − α (default 1: pure distillation). */
  kdAlpha?: number;
  /**
   * Which parameter candidates train (default: all of them, see findParamCandidates). A list matches a
   * candidate by its name or its source initializer; unknown names are an error.
   */
  trainable?: readonly string[] | ((p: ParamCandidate) => boolean);
  /** Per-layer formulation choices for the backward. */
  formulation?: FormulationOptions;
  /** Which graph input is the data batch when the model has several. */
  inputName?: string;
  /** The model's file, for error messages. */
  file?: string;
  /** Observed shapes of nodes without a shape rule (observeShapes.ts; prepare.ts's `observed`). */
  observed?: ReadonlyMap<string, TensorInfo>;
  /**
   * The machine's NCHWc block size (`trainingNchwcBlock`): group-1 convs whose channel counts are multiples of it
   * run on onnxruntime's blocked kernels (blockedConvs.ts). 0 or absent: plain Conv nodes only.
   */
  nchwcBlock?: number;
}

export interface TrainingParam {
  /** Graph input name: the initializer name, or for an Identity-tied use the Identity's output name. */
  name: string;
  /** The initializer holding the initial value. */
  sourceInitializer: string;
  dims: number[];
  kind: ParamKind;
  /** `grad.<name>` */
  gradOutput: string;
}

/** A BN layer's batch statistics outputs and where its running statistics live (prepare.ts's BnSite less the node). */
export type BnStat = Omit<BnSite, 'node'>;

export interface TrainingGraph {
  modelBytes: Uint8Array;
  inputName: string;
  /** [N, C, H, W] */
  inputDims: number[];
  /** int64 [N] */
  labelsName: string;
  /** float [N, K], only for `kl`. */
  teacherName?: string;
  /** scalar, mean over the batch */
  lossName: string;
  /** The model's original output. */
  logitsName: string;
  numClasses: number;
  params: TrainingParam[];
  bnStats: BnStat[];
  /** Number of nodes in the generated graph. */
  nodeCount: number;
  /** Conv nodes emitted as blocked NCHWc convs (0 without `nchwcBlock`). */
  blockedConvs: number;
}

export function irVersionFor(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

function checkOptions(o: TrainingGraphOptions): void {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw usageError(`batch size must be a positive integer, got ${o.batchSize}`);
  const ls = o.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls < 1)) throw usageError(`label smoothing must be in [0, 1), got ${ls}`);
  const t = o.temperature ?? 1;
  if (!(t > 0) || !Number.isFinite(t)) throw usageError(`temperature must be positive, got ${t}`);
  const a = o.kdAlpha ?? 1;
  if (!(a >= 0 && a <= 1)) throw usageError(`kdAlpha must be in [0, 1], got ${a}`);
  if (o.loss !== undefined && o.loss !== 'ce' && o.loss !== 'kl') throw usageError(`unknown loss '${String(o.loss)}' (expected ce or kl)`);
  const b = o.nchwcBlock ?? 0;
  if (!Number.isInteger(b) || b < 0) throw usageError(`NCHWc block size must be an integer ≥ 0, got ${b}`);
}

/** The data input and its static [N, C, H, W]. */
export function resolveDataInput(model: onnx.IModelProto, batchSize: number, inputShape: readonly number[] | undefined, inputName: string | undefined, file?: string): { name: string; dims: number[]; elemType: number } {
  const graph = model.graph!;
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const data = (graph.input ?? []).filter((i) => !inits.has(i.name));
  let vi: onnx.IValueInfoProto | undefined;
  if (inputName) {
    vi = data.find((i) => i.name === inputName);
    if (!vi) throw usageError(`the model has no input '${inputName}' (inputs: ${data.map((i) => i.name).join(', ')})`);
  } else {
    if (data.length !== 1) throw usageError(`the model has ${data.length} data inputs (${data.map((i) => i.name).join(', ')}); name the batch input`);
    vi = data[0];
  }
  const shape = staticShape(vi) ?? [];
  let rest: (number | undefined)[] = shape.slice(1);
  if (inputShape) {
    if (shape.length > 0 && inputShape.length !== shape.length - 1) {
      throw usageError(`input shape ${inputShape.join('×')} does not match the model input's rank ${shape.length}`);
    }
    rest.forEach((d, i) => {
      if (d !== undefined && d !== inputShape[i]) throw usageError(`input dim ${i + 1} is ${d} in the model, not ${inputShape[i]}`);
    });
    rest = [...inputShape];
  }
  if (rest.length === 0 || rest.some((d) => d === undefined || !(d > 0))) {
    throw inputError(file, `input '${vi.name}' has no static sample shape (${shape.map((d) => d ?? '?').join('×')}); pass inputShape`);
  }
  return { name: vi.name!, dims: [batchSize, ...(rest as number[])], elemType: vi.type?.tensorType?.elemType ?? DataType.FLOAT };
}

function selectParams(cands: ParamCandidate[], trainable: TrainingGraphOptions['trainable']): ParamCandidate[] {
  if (!trainable) return cands;
  if (typeof trainable === 'function') return cands.filter((c) => trainable(c));
  const want = new Set(trainable);
  const matched = new Set<string>();
  const out = cands.filter((c) => {
    const hit = want.has(c.name) || want.has(c.sourceInitializer);
    if (want.has(c.name)) matched.add(c.name);
    if (want.has(c.sourceInitializer)) matched.add(c.sourceInitializer);
    return hit;
  });
  const unknown = [...want].filter((w) => !matched.has(w));
  if (unknown.length > 0) throw usageError(`not a trainable parameter of this model: ${unknown.join(', ')}`);
  return out;
}

/** Where the loss reads the logits: the model output, or the input of a trailing Softmax/LogSoftmax. */
function lossLogits(prep: PreparedForward, logits: string): string {
  const producer = prep.nodes.find((n) => (n.output ?? []).includes(logits));
  if (producer && (producer.opType === 'Softmax' || producer.opType === 'LogSoftmax')) {
    const rank = prep.infos.get(logits)?.dims.length ?? 0;
    const axis = attrInt(producer, 'axis', -1);
    if (axis === rank - 1 || axis === -1) return producer.input![0];
  }
  return logits;
}

export function finishModel(
  prep: PreparedForward,
  ctx: GradContext,
  inputs: onnx.IValueInfoProto[],
  outputs: onnx.IValueInfoProto[],
  nchwcBlock = 0,
): { bytes: Uint8Array; nodeCount: number; blockedConvs: number } {
  const opset = Math.max(17, prep.opset);
  const { nodes, blocked } = blockConvs(ctx, [...prep.nodes, ...ctx.nodes], nchwcBlock);
  const opsetImport = [
    { domain: '', version: opset },
    ...(blocked > 0 ? [{ domain: NCHWC_DOMAIN, version: 1 }] : []),
    ...(nodes.some((n) => n.domain === MS_DOMAIN) ? [{ domain: MS_DOMAIN, version: 1 }] : []),
  ];
  const model = modelProto(
    { name: 'training', nodes, inputs, outputs, initializers: [...prep.initializers, ...ctx.initializers] },
    opset,
    { irVersion: irVersionFor(opset), opsetImport },
  );
  return { bytes: encodeModel(model), nodeCount: nodes.length, blockedConvs: blocked };
}

/** Generate the training graph (forward + loss + backward) of a CNN forward model. */
export function buildTrainingGraph(model: onnx.IModelProto, options: TrainingGraphOptions): TrainingGraph {
  checkOptions(options);
  const file = options.file;
  const graph = model.graph;
  if (!graph) throw inputError(file, 'the model has no graph');
  if ((graph.output ?? []).length === 0) throw inputError(file, 'the model has no output');
  const input = resolveDataInput(model, options.batchSize, options.inputShape, options.inputName, file);
  const chosen = selectParams(findParamCandidates(model), options.trainable);
  const prep = prepareForward(model, { inputDims: new Map([[input.name, input.dims]]), lift: chosen, bnStats: true, file, observed: options.observed });
  const logits = graph.output![0].name!;
  const dtypeOf = (n: string) => prep.infos.get(n)?.dtype;
  const paramNames = chosen.map((p) => p.name);

  if (prep.unsupported.length > 0) {
    const needs = gradFlow(prep.nodes, paramNames, [logits], dtypeOf);
    const missing = new Set([...prep.unsupported, ...missingRules(prep.nodes, needs)]);
    throw unsupportedError(file, prep.nodes.filter((n) => missing.has(n)));
  }

  const z = lossLogits(prep, logits);
  const needs = gradFlow(prep.nodes, paramNames, [z], dtypeOf);
  const missing = missingRules(prep.nodes, needs);
  if (missing.length > 0) throw unsupportedError(file, missing);

  const ctx = new GradContext(prep.infos, needs, options.formulation ?? {}, prep.names);
  const N = options.batchSize;
  const zd = ctx.shape(z);
  if (zd[0] !== N || zd.length < 2 || zd.slice(2).some((d) => d !== 1)) {
    throw inputError(file, `the model output '${logits}' has shape [${ctx.shape(logits).join(',')}]; expected logits [N, K]`);
  }
  const K = zd[1];
  const labelsName = ctx.fresh('labels');
  ctx.setDims(labelsName, [N], DataType.INT64);
  const kind = options.loss ?? 'ce';
  const teacherName = kind === 'kl' ? ctx.fresh('teacher_logits') : undefined;
  if (teacherName) ctx.setDims(teacherName, [N, K]);
  const lossName = ctx.fresh('loss');
  const z2 = zd.length === 2 ? z : ctx.reshape(z, [N, K]);
  let dZ = emitLoss(
    ctx,
    { kind, labelSmoothing: options.labelSmoothing ?? 0, temperature: options.temperature ?? 1, kdAlpha: options.kdAlpha ?? 1 },
    z2,
    labelsName,
    teacherName,
    lossName,
  );
  if (z2 !== z) dZ = ctx.reshape(dZ, zd);

  const acc = emitBackward(ctx, prep.nodes, needs, new Map([[z, dZ]]));

  const params: TrainingParam[] = [];
  for (const p of chosen) {
    const gradOutput = `grad.${p.name}`;
    if (ctx.info(gradOutput)) throw inputError(file, `tensor name ${gradOutput} is already used by the model`);
    if (!acc.totalAs(p.name, gradOutput)) {
      // The parameter does not reach the loss: its gradient is zero.
      ctx.emitNamed('ConstantOfShape', [ctx.i64(p.dims)], [gradOutput], { value: { tensor: floatTensor('value', [1], [0]) } });
      ctx.setDims(gradOutput, p.dims);
    }
    params.push({ name: p.name, sourceInitializer: p.sourceInitializer, dims: [...p.dims], kind: p.kind, gradOutput });
  }

  const f = DataType.FLOAT;
  const inputs = [
    valueInfo(input.name, input.elemType, input.dims),
    valueInfo(labelsName, DataType.INT64, [N]),
    ...(teacherName ? [valueInfo(teacherName, f, [N, K])] : []),
    ...chosen.map((p) => valueInfo(p.name, f, p.dims)),
  ];
  const outputs = [
    valueInfo(lossName, f, []),
    valueInfo(logits, f, ctx.shape(logits)),
    ...params.map((p) => valueInfo(p.gradOutput, f, p.dims)),
    ...prep.bn.flatMap((b) => [valueInfo(b.meanOutput, f, ctx.shape(b.meanOutput)), valueInfo(b.varOutput, f, ctx.shape(b.varOutput))]),
  ];
  const { bytes, nodeCount, blockedConvs } = finishModel(prep, ctx, inputs, outputs, options.nchwcBlock ?? 0);
  return {
    modelBytes: bytes,
    inputName: input.name,
    inputDims: input.dims,
    labelsName,
    teacherName,
    lossName,
    logitsName: logits,
    numClasses: K,
    params,
    bnStats: prep.bn.map(({ node: _node, ...stat }) => stat),
    nodeCount,
    blockedConvs,
  };
}

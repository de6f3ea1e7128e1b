/**
 * Vector-Jacobian-product graphs: the forward model (prepared for training exactly as in the training graph)
 * plus, for each float graph output o, a seed input `seed.<o>` holding ∂L/∂o, and outputs `grad.<t>` = ∂L/∂t
 * for each requested tensor t (an initializer, which becomes an input, or a data input). Used to check every
 * gradient rule against finite differences, and usable for saliency-style gradients.
 */
import { onnx, DataType } from '../../onnx/proto';
import { floatTensor, valueInfo } from '../../onnx/builder';
import { inputError, usageError } from '../../errors';
import { FormulationOptions, GradContext } from './context';
import { emitBackward, gradFlow, missingRules, unsupportedError } from './backward';
import { LiftedTensor, isFloatType, prepareForward } from './prepare';
import { finishModel } from './trainingGraph';
import { staticShape, tensorDims } from './onnxUtil';

export interface VjpOptions {
  /** Initializers or data inputs to differentiate with respect to. */
  wrt: readonly string[];
  /** Static dims of data inputs whose model shape is not static. */
  inputDims?: Record<string, number[]>;
  formulation?: FormulationOptions;
  file?: string;
}

export interface VjpGraph {
  modelBytes: Uint8Array;
  /** Graph output → the seed input carrying its gradient. */
  seedInputs: Record<string, string>;
  /** wrt tensor → its gradient output. */
  gradOutputs: Record<string, string>;
  /** Data inputs (including lifted wrt initializers) with their dims. */
  inputs: { name: string; dims: number[] }[];
  outputs: string[];
  /** Static dims of every graph output. */
  outputDims: Record<string, number[]>;
  nodeCount: number;
}

export function buildVjpGraph(model: onnx.IModelProto, options: VjpOptions): VjpGraph {
  const file = options.file;
  const graph = model.graph;
  if (!graph) throw inputError(file, 'the model has no graph');
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const dataInputs = (graph.input ?? []).filter((i) => !inits.has(i.name!));
  const inputDims = new Map<string, number[]>();
  for (const vi of dataInputs) {
    const given = options.inputDims?.[vi.name!];
    const s = staticShape(vi);
    const dims = given ?? (s && s.every((d) => d !== undefined) ? (s as number[]) : undefined);
    if (!dims) throw usageError(`input ${vi.name} has no static shape; pass inputDims`);
    inputDims.set(vi.name!, dims);
  }
  const lift: LiftedTensor[] = [];
  for (const w of options.wrt) {
    if (inputDims.has(w)) continue;
    const t = inits.get(w);
    if (!t) throw usageError(`${w} is neither an initializer nor a data input`);
    lift.push({ name: w, sourceInitializer: w, dims: tensorDims(t) });
  }
  const prep = prepareForward(model, { inputDims, lift, bnStats: false, file });
  const outputs = (graph.output ?? []).map((o) => o.name!);
  const floatOutputs = outputs.filter((o) => isFloatType(prep.infos.get(o)?.dtype ?? DataType.FLOAT));
  const dtypeOf = (n: string) => prep.infos.get(n)?.dtype;
  const needs = gradFlow(prep.nodes, options.wrt, floatOutputs, dtypeOf);
  const missing = new Set([...prep.unsupported, ...missingRules(prep.nodes, needs)]);
  if (missing.size > 0) throw unsupportedError(file, prep.nodes.filter((n) => missing.has(n)));

  const ctx = new GradContext(prep.infos, needs, options.formulation ?? {}, prep.names);
  const seeds = new Map<string, string>();
  const seedInputs: Record<string, string> = {};
  for (const o of floatOutputs) {
    const s = ctx.fresh(`seed.${o}`);
    ctx.setDims(s, ctx.shape(o));
    seeds.set(o, s);
    seedInputs[o] = s;
  }
  const acc = emitBackward(ctx, prep.nodes, needs, seeds);
  const gradOutputs: Record<string, string> = {};
  for (const w of options.wrt) {
    const g = ctx.fresh(`grad.${w}`);
    if (!acc.totalAs(w, g)) {
      ctx.emitNamed('ConstantOfShape', [ctx.i64(ctx.shape(w))], [g], { value: { tensor: floatTensor('value', [1], [0]) } });
      ctx.setDims(g, ctx.shape(w));
    }
    gradOutputs[w] = g;
  }
  const f = DataType.FLOAT;
  const inputList = [...[...inputDims].map(([name, dims]) => ({ name, dims })), ...lift.map((l) => ({ name: l.name, dims: l.dims }))];
  const vis = [
    ...[...inputDims].map(([name, dims]) => valueInfo(name, prep.infos.get(name)?.dtype ?? f, dims)),
    ...lift.map((l) => valueInfo(l.name, f, l.dims)),
    ...floatOutputs.map((o) => valueInfo(seeds.get(o)!, f, ctx.shape(o))),
  ];
  const outs = [
    ...outputs.map((o) => valueInfo(o, prep.infos.get(o)?.dtype ?? f, ctx.shape(o))),
    ...options.wrt.map((w) => valueInfo(gradOutputs[w], f, ctx.shape(w))),
  ];
  const { bytes, nodeCount } = finishModel(prep, ctx, vis, outs);
  const outputDims: Record<string, number[]> = {};
  for (const o of outputs) outputDims[o] = [...ctx.shape(o)];
  return { modelBytes: bytes, seedInputs, gradOutputs, inputs: inputList, outputs, outputDims, nodeCount };
}

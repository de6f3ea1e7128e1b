/**
 * Forward preparation shared by the training-graph and VJP builders:
 * 1. Constant nodes become initializers; parameter candidates are found (Conv/Gemm/MatMul weights and biases,
 *    the bias of a `MatMul → Add` linear layer, BN and LayerNormalization scale/bias), following
 *    `Identity(initializer)` ties so each tied use becomes its own parameter.
 * 2. Static shapes are propagated; small constant integer sub-graphs (Shape → Gather → Concat …) are folded.
 * 3. Nodes are rewritten for training: explicit pads instead of auto_pad, MaxPool with its Indices output,
 *    BatchNormalization in native training mode (momentum 0, batch statistics as outputs), Dropout → Identity,
 *    Clip/Squeeze/Unsqueeze attribute forms → input forms, explicit Softmax axes.
 * 4. Dead nodes are dropped.
 */
import { onnx, DataType } from '../../onnx/proto';
import { AttrValue, node as mkNode, tensor } from '../../onnx/builder';
import { inputError, isMaxqError, usageError } from '../../errors';
import { TensorInfo, shapeRules, infoOfTensor, constantNodeTensor } from './shapes';
import { resolveWindow } from './geometry';
import { attrFloat, attrInt, attrInts, nodeLabel, numel, tensorDims } from './onnxUtil';

export type ParamKind = 'conv-weight' | 'linear-weight' | 'bias' | 'bn-scale' | 'bn-bias' | 'norm-scale' | 'norm-bias';

export interface ParamCandidate {
  /** The tensor the consuming node reads: the initializer itself, or the output of an Identity tie. */
  name: string;
  /** The initializer the values come from. */
  sourceInitializer: string;
  dims: number[];
  kind: ParamKind;
}

/** A tensor lifted from an initializer (or Identity of one) to a graph input. */
export interface LiftedTensor {
  name: string;
  sourceInitializer: string;
  dims: number[];
}

export interface BnSite {
  node: string;
  scale: string;
  meanInitializer: string;
  varInitializer: string;
  /** Batch mean (graph output name). */
  meanOutput: string;
  /** Unbiased batch variance (graph output name). */
  varOutput: string;
  /** PyTorch convention: r ← (1 − μ)·r + μ·batch. */
  momentum: number;
  epsilon: number;
}

export interface PreparedForward {
  opset: number;
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
  infos: Map<string, TensorInfo>;
  lifted: LiftedTensor[];
  bn: BnSite[];
  /** Nodes with no shape rule (reported together with missing gradient rules by the builders). */
  unsupported: onnx.INodeProto[];
  /** Every tensor name in use. */
  names: Set<string>;
}

export interface PrepareOptions {
  /** Static dims for each data (non-initializer) graph input. */
  inputDims: Map<string, number[]>;
  /** Tensors to lift to graph inputs (parameter names: initializers or Identity-tie outputs). */
  lift: readonly LiftedTensor[];
  /** Emit the BN batch-statistic outputs under these names (keyed by BN scale tensor). */
  bnStats: boolean;
  file?: string;
  /**
   * Dims, dtype and (small integer) values of the outputs of nodes that have no shape rule, measured by running
   * the forward model once (observeShapes.ts): such nodes are then computed in the forward graph like any
   * other, and only need a gradient rule when they lie on a float path from a parameter to the loss.
   */
  observed?: ReadonlyMap<string, TensorInfo>;
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

export function isFloatType(dt: number): boolean {
  return FLOAT_TYPES.has(dt);
}

export function defaultOpset(model: onnx.IModelProto): number {
  const imp = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return imp ? Number(imp.version) : 17;
}

/** Constant nodes → initializers; returns all initializers (by name) and the remaining nodes. */
function collectConstants(graph: onnx.IGraphProto): { inits: Map<string, onnx.ITensorProto>; nodes: onnx.INodeProto[] } {
  const inits = new Map<string, onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) inits.set(t.name!, t);
  const nodes: onnx.INodeProto[] = [];
  for (const n of graph.node ?? []) {
    if (n.opType === 'Constant' && (!n.domain || n.domain === 'ai.onnx') && n.output?.[0]) {
      const t = constantNodeTensor(n);
      inits.set(n.output[0], { ...t, name: n.output[0] });
    } else {
      nodes.push(n);
    }
  }
  return { inits, nodes };
}

const PARAM_SLOTS: Record<string, [number, ParamKind][]> = {
  Conv: [[1, 'conv-weight'], [2, 'bias']],
  Gemm: [[1, 'linear-weight'], [2, 'bias']],
  MatMul: [[1, 'linear-weight']],
  BatchNormalization: [[1, 'bn-scale'], [2, 'bn-bias']],
  LayerNormalization: [[1, 'norm-scale'], [2, 'norm-bias']],
};

/**
 * Every tensor that may be a trainable parameter by default, in graph order: float initializers in
 * Conv/Gemm/MatMul weight or bias slots, BN and LayerNormalization scale/bias slots, and the bias of a linear
 * layer exported as `MatMul(X, W) → Add(·, b)` (torch.onnx.export's nn.Linear on 3-D input), directly or
 * through Identity ties (then the parameter is named after the Identity output, so each tied use trains
 * separately). Other Add/Mul constants (attention masks, epsilons, positional tables) stay frozen.
 */
/** The initializer a tensor is, directly or through a chain of Identity nodes; undefined when it is computed. */
function identityRoot(t: string, inits: ReadonlyMap<string, unknown>, producer: ReadonlyMap<string, onnx.INodeProto>): string | undefined {
  let cur = t;
  for (let guard = 0; guard < 64; guard++) {
    if (inits.has(cur)) return cur;
    const p = producer.get(cur);
    if (!p || p.opType !== 'Identity') return undefined;
    cur = p.input![0];
  }
  return undefined;
}

export function findParamCandidates(model: onnx.IModelProto): ParamCandidate[] {
  const graph = model.graph;
  if (!graph) return [];
  const { inits, nodes } = collectConstants(graph);
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const root = (t: string): string | undefined => identityRoot(t, inits, producer);
  const out: ParamCandidate[] = [];
  const seen = new Set<string>();
  for (const n of nodes) {
    const slots = (!n.domain || n.domain === 'ai.onnx') && (PARAM_SLOTS[n.opType!] ?? matMulBiasSlot(n, producer, root, inits));
    if (!slots) continue;
    for (const [i, kind] of slots) {
      const t = n.input?.[i];
      if (!t || seen.has(t)) continue;
      const src = root(t);
      if (!src) continue;
      const init = inits.get(src)!;
      if (!isFloatType(init.dataType ?? 0)) continue;
      seen.add(t);
      out.push({ name: t, sourceInitializer: src, dims: tensorDims(init), kind });
    }
  }
  return out;
}

/**
 * The bias slot of `Add(MatMul(X, W), b)`, either operand order: b is a 1-D float initializer (or Identity of
 * one) with one value per output feature of W, itself a float initializer (or Identity of one) of rank ≥ 2.
 * Anything else (a scalar epsilon, a 2-D positional table, a mask, an Add after an activation MatMul) is none.
 */
function matMulBiasSlot(
  n: onnx.INodeProto,
  producer: ReadonlyMap<string, onnx.INodeProto>,
  root: (t: string) => string | undefined,
  inits: ReadonlyMap<string, onnx.ITensorProto>,
): [number, ParamKind][] | undefined {
  if (n.opType !== 'Add' || (n.input ?? []).length !== 2) return undefined;
  for (const k of [0, 1]) {
    const mm = producer.get(n.input![1 - k]);
    if (!mm || mm.opType !== 'MatMul' || (mm.domain && mm.domain !== 'ai.onnx') || mm.output?.[0] !== n.input![1 - k]) continue;
    const wSrc = mm.input?.[1] ? root(mm.input[1]) : undefined;
    const bSrc = n.input![k] ? root(n.input![k]) : undefined;
    if (!wSrc || !bSrc) continue;
    const w = inits.get(wSrc)!;
    const b = inits.get(bSrc)!;
    const wd = tensorDims(w);
    const bd = tensorDims(b);
    if (wd.length >= 2 && bd.length === 1 && bd[0] === wd[wd.length - 1] && isFloatType(w.dataType ?? 0)) return [[k, 'bias']];
  }
  return undefined;
}

function valueTensor(name: string, info: TensorInfo): onnx.ITensorProto {
  const v = info.value!;
  switch (info.dtype) {
    case DataType.INT64:
      return tensor(name, info.dims, BigInt64Array.from(v.map((x) => BigInt(Math.trunc(x)))));
    case DataType.INT32:
      return tensor(name, info.dims, Int32Array.from(v));
    case DataType.INT8:
      return tensor(name, info.dims, Int8Array.from(v));
    case DataType.UINT8:
      return tensor(name, info.dims, Uint8Array.from(v));
    case DataType.BOOL:
      return tensor(name, info.dims, Uint8Array.from(v), DataType.BOOL);
    case DataType.DOUBLE:
      return tensor(name, info.dims, Float64Array.from(v));
    default:
      return tensor(name, info.dims, Float32Array.from(v));
  }
}

/** Copy of `n` with some attributes dropped and others set. */
function withAttrs(n: onnx.INodeProto, drop: string[], set: Record<string, AttrValue>, overrides: Partial<onnx.INodeProto> = {}): onnx.INodeProto {
  const fresh = mkNode('X', [], [], set).attribute ?? [];
  const keep = (n.attribute ?? []).filter((a) => !drop.includes(a.name!) && !(a.name! in set));
  return { ...n, attribute: [...keep, ...fresh], ...overrides };
}

class Names {
  private counter = 0;
  constructor(readonly used: Set<string>) {}
  fresh(base: string): string {
    let n = base;
    while (this.used.has(n)) n = `${base}_${++this.counter}`;
    this.used.add(n);
    return n;
  }
}

export function prepareForward(model: onnx.IModelProto, opts: PrepareOptions): PreparedForward {
  const graph = model.graph;
  if (!graph) throw inputError(opts.file, 'the model has no graph');
  const opset = defaultOpset(model);
  const { inits, nodes: rawNodes } = collectConstants(graph);
  const lifted = new Map(opts.lift.map((l) => [l.name, l]));

  const names = new Set<string>();
  for (const i of graph.input ?? []) names.add(i.name!);
  for (const k of inits.keys()) names.add(k);
  for (const n of rawNodes) for (const o of n.output ?? []) if (o) names.add(o);
  const nm = new Names(names);

  // Lifted Identity ties: the Identity node goes, its output becomes a graph input.
  let nodes = rawNodes.filter((n) => !(n.opType === 'Identity' && lifted.has(n.output![0]) && !inits.has(n.output![0])));

  const infos = new Map<string, TensorInfo>();
  for (const [name, t] of inits) if (!lifted.has(name)) infos.set(name, infoOfTensor(t));
  for (const l of lifted.values()) {
    const src = inits.get(l.sourceInitializer);
    if (!src) throw usageError(`parameter ${l.name}: no initializer ${l.sourceInitializer}`);
    infos.set(l.name, { dims: [...l.dims], dtype: DataType.FLOAT });
  }
  for (const [name, dims] of opts.inputDims) {
    const vi = (graph.input ?? []).find((i) => i.name === name);
    infos.set(name, { dims: [...dims], dtype: vi?.type?.tensorType?.elemType ?? DataType.FLOAT });
  }

  // Shape propagation and constant folding.
  const unsupported: onnx.INodeProto[] = [];
  const outputs = new Set((graph.output ?? []).map((o) => o.name!));
  const kept: onnx.INodeProto[] = [];
  const folded = new Map<string, onnx.ITensorProto>();
  /** Lowers an attribute to a constant input (newer opsets take axes, pads, min/max as inputs): returns its name. */
  const constInput = (n: onnx.INodeProto, suffix: string, values: number[], dtype: 'int64' | 'float', dims: number[] = [values.length]): string => {
    const c = nm.fresh(`${n.output![0]}__${suffix}`);
    const data = dtype === 'int64' ? BigInt64Array.from(values.map((a) => BigInt(a))) : Float32Array.from(values);
    folded.set(c, tensor(c, dims, data));
    infos.set(c, { dims, dtype: dtype === 'int64' ? DataType.INT64 : DataType.FLOAT, value: values });
    return c;
  };
  for (const n of nodes) {
    const rule = !n.domain || n.domain === 'ai.onnx' ? shapeRules[n.opType!] : undefined;
    if (!rule) {
      const seen = (n.output ?? []).map((o) => (o ? opts.observed?.get(o) : undefined));
      if ((n.output ?? []).some((o, k) => o && !seen[k])) {
        unsupported.push(n);
        kept.push(n);
        continue;
      }
      // Values observed for one input batch are constants only when every input is one (shape arithmetic).
      const constant = (n.input ?? []).every((i) => !i || infos.get(i)?.value !== undefined || (inits.has(i) && !lifted.has(i)));
      (n.output ?? []).forEach((o, k) => {
        if (o) infos.set(o, { dims: [...seen[k]!.dims], dtype: seen[k]!.dtype, value: constant ? seen[k]!.value : undefined });
      });
      if (constant && (n.output ?? []).every((o) => !o || (infos.get(o)?.value && !outputs.has(o)))) {
        (n.output ?? []).forEach((o) => {
          if (o) folded.set(o, valueTensor(o, infos.get(o)!));
        });
      } else kept.push(n);
      continue;
    }
    const ins = (n.input ?? []).map((i) => (i ? infos.get(i) : undefined));
    if ((n.input ?? []).some((i, k) => i && !ins[k])) {
      // Downstream of an unsupported node: nothing to infer (the build fails anyway).
      kept.push(n);
      continue;
    }
    let outs: TensorInfo[];
    try {
      outs = rule(n, ins);
    } catch (e) {
      if (isMaxqError(e) && !e.file && opts.file) throw inputError(opts.file, e.message);
      throw e;
    }
    (n.output ?? []).forEach((o, k) => {
      if (o && outs[k]) infos.set(o, outs[k]);
    });
    const foldable = (n.output ?? []).every((o, k) => !o || (outs[k]?.value && !outputs.has(o)));
    if (foldable && (n.output ?? []).length > 0) {
      (n.output ?? []).forEach((o) => {
        if (o) folded.set(o, valueTensor(o, infos.get(o)!));
      });
      continue;
    }
    kept.push(n);
  }
  nodes = kept;
  if (unsupported.length > 0) {
    // The builders report these (with missing gradient rules) and stop: no rewrite needed.
    const alive = liveNodes(nodes, outputs);
    const live = new Set(alive.flatMap((n) => n.output ?? []));
    return {
      opset, nodes: alive, initializers: [], infos, lifted: [...lifted.values()], bn: [],
      unsupported: unsupported.filter((n) => (n.output ?? []).some((o) => live.has(o))), names,
    };
  }

  // BN statistics may reach their node through Identity (exporters deduplicate equal tensors): the running
  // statistics live in the initializer at the root.
  const rawProducer = new Map<string, onnx.INodeProto>();
  for (const n of rawNodes) for (const o of n.output ?? []) rawProducer.set(o, n);
  const rootInit = (t: string): string => identityRoot(t, inits, rawProducer) ?? t;

  // Rewrite for training.
  const bn: BnSite[] = [];
  const rewritten: onnx.INodeProto[] = [];
  const statNames = new Set<string>();
  for (const n of nodes) {
    const op = n.opType!;
    if (op === 'Conv' || op === 'MaxPool' || op === 'AveragePool') {
      const xd = infos.get(n.input![0])?.dims;
      if (!xd) {
        rewritten.push(n);
        continue;
      }
      const k = op === 'Conv' ? infos.get(n.input![1])!.dims.slice(2) : attrInts(n, 'kernel_shape')!;
      const win = resolveWindow(n, [xd[2], xd[3]], [k[0], k[1]]);
      const set: Record<string, AttrValue> = { pads: [...win.pads] };
      let overrides: Partial<onnx.INodeProto> = {};
      if (op === 'MaxPool') {
        const outs = [...(n.output ?? [])];
        if (attrInt(n, 'storage_order', 0) !== 0 && outs[1]) {
          throw inputError(opts.file, `${nodeLabel(n)}: MaxPool indices with storage_order 1 are not supported`);
        }
        if (!outs[1]) {
          outs[1] = nm.fresh(`${outs[0]}__indices`);
          infos.set(outs[1], { dims: [...infos.get(outs[0])!.dims], dtype: DataType.INT64 });
        }
        set.storage_order = 0;
        overrides = { output: outs };
      }
      rewritten.push(withAttrs(n, ['auto_pad', 'pads'], set, overrides));
      continue;
    }
    if (op === 'BatchNormalization') {
      const [x, scale, bias, mean, variance] = n.input!;
      const xd = infos.get(x)!.dims;
      const C = xd[1];
      const M = xd[0] * numel(xd.slice(2));
      if (M < 2) throw usageError(`${nodeLabel(n)}: training BatchNormalization needs more than one value per channel (batch ${xd[0]})`);
      let meanOut: string;
      let varOut: string;
      if (opts.bnStats) {
        let base = `bnstat.${scale}`;
        if (statNames.has(base)) base = nm.fresh(base);
        statNames.add(base);
        meanOut = nm.fresh(`${base}.mean`);
        varOut = nm.fresh(`${base}.var`);
      } else {
        meanOut = nm.fresh(`${n.output![0]}__bmean`);
        varOut = '';
      }
      const varBiased = nm.fresh(`${n.output![0]}__bvar`);
      const eps = attrFloat(n, 'epsilon', 1e-5);
      rewritten.push(
        mkNode('BatchNormalization', [x, scale, bias, mean, variance], [n.output![0], meanOut, varBiased], { epsilon: { float: eps }, momentum: { float: 0 }, training_mode: 1 }, n.name ?? undefined),
      );
      infos.set(meanOut, { dims: [C], dtype: DataType.FLOAT });
      infos.set(varBiased, { dims: [C], dtype: DataType.FLOAT });
      if (opts.bnStats) {
        const factor = nm.fresh(`${n.output![0]}__unbias`);
        folded.set(factor, tensor(factor, [], Float32Array.of(M / (M - 1))));
        infos.set(factor, { dims: [], dtype: DataType.FLOAT, value: [M / (M - 1)] });
        rewritten.push(mkNode('Mul', [varBiased, factor], [varOut], {}, `bnstat/${varOut}`));
        infos.set(varOut, { dims: [C], dtype: DataType.FLOAT });
        bn.push({
          node: nodeLabel(n),
          scale,
          meanInitializer: rootInit(mean),
          varInitializer: rootInit(variance),
          meanOutput: meanOut,
          varOutput: varOut,
          momentum: 1 - attrFloat(n, 'momentum', 0.9),
          epsilon: eps,
        });
      }
      continue;
    }
    if (op === 'Dropout') {
      if (n.output?.[1]) {
        const used = nodes.some((m) => (m.input ?? []).includes(n.output![1])) || outputs.has(n.output[1]);
        if (used) throw inputError(opts.file, `${nodeLabel(n)}: the Dropout mask output is used; not supported`);
      }
      rewritten.push(mkNode('Identity', [n.input![0]], [n.output![0]], {}, n.name ?? undefined));
      continue;
    }
    if (op === 'Clip' && (n.attribute ?? []).some((a) => a.name === 'min' || a.name === 'max')) {
      const ins = [n.input![0]];
      for (const [k, fallback] of [['min', -3.4028234663852886e38], ['max', 3.4028234663852886e38]] as const) {
        const has = (n.attribute ?? []).some((a) => a.name === k);
        if (has) {
          ins.push(constInput(n, k, [attrFloat(n, k, fallback)], 'float', []));
        } else {
          ins.push('');
        }
      }
      while (ins.length > 1 && ins[ins.length - 1] === '') ins.pop();
      rewritten.push(withAttrs(n, ['min', 'max'], {}, { input: ins }));
      continue;
    }
    if ((op === 'Squeeze' || op === 'Unsqueeze' || op === 'ReduceSum') && attrInts(n, 'axes')) {
      rewritten.push(withAttrs(n, ['axes'], {}, { input: [n.input![0], constInput(n, 'axes', attrInts(n, 'axes')!, 'int64')] }));
      continue;
    }
    if (op === 'Pad' && attrInts(n, 'pads')) {
      const ins = [n.input![0], constInput(n, 'pads', attrInts(n, 'pads')!, 'int64')];
      const v = attrFloat(n, 'value', 0);
      if (v !== 0) ins.push(constInput(n, 'value', [v], 'float', []));
      rewritten.push(withAttrs(n, ['pads', 'value'], {}, { input: ins }));
      continue;
    }
    if (op === 'Softmax' || op === 'LogSoftmax') {
      const rank = infos.get(n.input![0])!.dims.length;
      let axis = attrInt(n, 'axis', opset < 13 ? 1 : -1);
      if (axis < 0) axis += rank;
      if (opset < 13 && axis !== rank - 1) {
        throw inputError(opts.file, `${nodeLabel(n)}: opset-${opset} ${op} over axes ${axis}… of a rank-${rank} tensor is not supported`);
      }
      rewritten.push(withAttrs(n, ['axis'], { axis }));
      continue;
    }
    rewritten.push(n);
  }

  // Dead-node elimination from the graph outputs and the BN statistics.
  const alive = liveNodes(rewritten, new Set([...outputs, ...bn.flatMap((b) => [b.meanOutput, b.varOutput])]));
  const live = new Set<string>([...outputs]);
  for (const n of alive) for (const i of n.input ?? []) if (i) live.add(i);

  const initializers: onnx.ITensorProto[] = [];
  for (const [name, t] of inits) if (!lifted.has(name) && live.has(name)) initializers.push(t);
  for (const [name, t] of folded) if (live.has(name)) initializers.push(t);

  return { opset, nodes: alive, initializers, infos, lifted: [...lifted.values()], bn, unsupported: [], names };
}

/** Nodes (in order) that contribute to any of `roots`; BN nodes count when any output is live. */
export function liveNodes(nodes: readonly onnx.INodeProto[], roots: Set<string>): onnx.INodeProto[] {
  const live = new Set(roots);
  const alive: onnx.INodeProto[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if ((n.output ?? []).some((o) => o && live.has(o))) {
      alive.push(n);
      for (const inp of n.input ?? []) if (inp) live.add(inp);
    }
  }
  return alive.reverse();
}

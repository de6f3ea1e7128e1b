/**
 * Gives node inputs their own copy of a constant they share with other nodes. Exporters deduplicate equal
 * tensors (every zero bias of a freshly initialised network becomes one initializer, reached directly or
 * through Identity); a change meant for one layer must never change another. The copy keeps the source's
 * bytes, dtype and storage (external data included) under a new name, and the node reads it from then on;
 * everything else in the file is kept byte for byte.
 */
import { OnnxModel } from './onnxModel';
import { ResolvedWeight, resolveWeight } from './weightResolver';
import { nodeLabel } from './nodeAttributes';
import { onnx } from './proto';
import { isFloatType } from './dtypes';
import { rewriteModel, RewritePlan } from './modelRewrite';

export interface UntieRequest {
  node: onnx.INodeProto;
  input: number;
}

export interface UntieResult {
  /** The model with the copies (same path: external data resolves as before). */
  model: OnnxModel;
  /** `<node label>#<input>` → the new tensor's name. */
  names: Map<string, string>;
}

export function untieInputs(model: OnnxModel, requests: readonly UntieRequest[]): UntieResult {
  const plan: RewritePlan = { initializers: new Map(), constants: new Map(), redirects: new Map(), copies: [] };
  const names = new Map<string, string>();
  const taken = new Set(model.tensorInfos.map((t) => t.name));
  for (const n of model.nodes) for (const o of n.output ?? []) taken.add(o);
  for (const r of requests) {
    const input = r.node.input?.[r.input];
    const first = r.node.output?.[0];
    const src = input ? resolveWeight(model, input) : undefined;
    if (!src || !first || model.tensorInfo(src.source)?.source !== 'initializer' || src.via.some((s) => s.op !== 'Identity')) {
      throw new Error(`internal: input ${r.input} of ${nodeLabel(r.node)} is not an initializer to copy`);
    }
    let name = `${src.source}.${nodeLabel(r.node)}`;
    for (let k = 2; taken.has(name); k++) name = `${src.source}.${nodeLabel(r.node)}.${k}`;
    taken.add(name);
    plan.copies!.push({ from: src.source, name });
    const at = plan.redirects!.get(first) ?? new Map<number, string>();
    at.set(r.input, name);
    plan.redirects!.set(first, at);
    names.set(`${nodeLabel(r.node)}#${r.input}`, name);
  }
  if (requests.length === 0) return { model, names };
  const { pieces, applied } = rewriteModel(model.bytes, plan);
  const missed = plan.copies!.filter((c) => !applied.has(`copy:${c.name}`)).map((c) => c.from);
  if (missed.length > 0) throw new Error(`internal: initializers ${missed.join(', ')} not found in ${model.path}`);
  return { model: OnnxModel.fromBytes(pieces.concat(), model.path), names };
}

/** What a node input holds, for choosing which shared tensors a run must untie. */
export type SlotKind = 'weight' | 'bias' | 'bn-param' | 'bn-stat';

const SLOTS: Record<string, [number, SlotKind][]> = {
  Conv: [[1, 'weight'], [2, 'bias']],
  Gemm: [[1, 'weight'], [2, 'bias']],
  MatMul: [[1, 'weight']],
  BatchNormalization: [[1, 'bn-param'], [2, 'bn-param'], [3, 'bn-stat'], [4, 'bn-stat']],
  LayerNormalization: [[1, 'bn-param'], [2, 'bn-param']],
};

/** A constant initializer reached directly or through Identity only. */
function identityInitializer(model: OnnxModel, name: string | undefined): ResolvedWeight | undefined {
  const src = name ? resolveWeight(model, name) : undefined;
  return src && !src.via.some((s) => s.op !== 'Identity') && model.tensorInfo(src.source)?.source === 'initializer' ? src : undefined;
}

/**
 * The bias input of `Add(MatMul(X, W), b)` (torch.onnx.export's nn.Linear on 3-D input), which fine-tuning
 * trains like a Gemm bias (training/graph/prepare.ts's findParamCandidates): b a 1-D float initializer with
 * one value per output feature of the initializer W. Undefined for any other Add.
 */
function matMulBiasInput(model: OnnxModel, node: onnx.INodeProto): number | undefined {
  if (node.opType !== 'Add' || (node.input ?? []).length !== 2 || (node.domain && node.domain !== 'ai.onnx')) return undefined;
  for (const k of [0, 1]) {
    const mm = model.producerOf(node.input![1 - k]);
    if (!mm || mm.opType !== 'MatMul' || (mm.domain && mm.domain !== 'ai.onnx') || mm.output?.[0] !== node.input![1 - k]) continue;
    const w = identityInitializer(model, mm.input?.[1]);
    const b = identityInitializer(model, node.input![k]);
    if (!w || !b || !isFloatType(model.tensorInfo(b.source)?.dataType ?? 0)) continue;
    if (w.sourceDims.length >= 2 && b.sourceDims.length === 1 && b.sourceDims[0] === w.sourceDims[w.sourceDims.length - 1]) return k;
  }
  return undefined;
}

/**
 * Inputs of the given kinds whose initializer another node also reads (directly or through Identity): every
 * reader but the first in graph order, which keeps the original tensor. Untying them lets a run change each
 * node's tensor on its own.
 */
export function sharedInputs(model: OnnxModel, kinds: ReadonlySet<SlotKind>): UntieRequest[] {
  const readers = new Map<string, { node: onnx.INodeProto; input: number; kind: SlotKind | null }[]>();
  for (const node of model.nodes) {
    const slots = new Map(SLOTS[node.opType ?? ''] ?? []);
    const mmBias = matMulBiasInput(model, node);
    if (mmBias !== undefined) slots.set(mmBias, 'bias');
    (node.input ?? []).forEach((name, input) => {
      if (!name || node.opType === 'Identity') return;
      const src = resolveWeight(model, name);
      if (!src || src.via.some((s) => s.op !== 'Identity') || model.tensorInfo(src.source)?.source !== 'initializer') return;
      const list = readers.get(src.source) ?? [];
      list.push({ node, input, kind: slots.get(input) ?? null });
      readers.set(src.source, list);
    });
  }
  const out: UntieRequest[] = [];
  for (const list of readers.values()) {
    if (list.length < 2 || !list.some((r) => r.kind && kinds.has(r.kind))) continue;
    // The first reader keeps the original, unless a reader that is no parameter slot (an Add of a constant, say)
    // shares it: then that reader keeps it and every slot reader gets a copy.
    const keep = list.slice(1).some((r) => !r.kind) ? list.find((r) => !r.kind) : list[0];
    for (const r of list) if (r !== keep && r.kind) out.push({ node: r.node, input: r.input });
  }
  return out;
}

/** The model with every shared tensor of the given kinds untied (the same model when none is shared). */
export function untieShared(model: OnnxModel, kinds: ReadonlySet<SlotKind>): { model: OnnxModel; untied: number } {
  const requests = sharedInputs(model, kinds);
  return requests.length === 0 ? { model, untied: 0 } : { model: untieInputs(model, requests).model, untied: requests.length };
}

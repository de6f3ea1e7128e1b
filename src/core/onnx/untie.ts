/**
 * Gives node inputs their own copy of a constant they share with other nodes. Exporters deduplicate equal
 * tensors (every zero bias of a freshly initialised network becomes one initializer, reached directly or
 * through Identity); a change meant for one layer must never change another. The copy keeps the source's
 * bytes, dtype and storage (external data included) under a new name, and the node reads it from then on;
 * everything else in the file is kept byte for byte.
 */
import { OnnxModel } from './onnxModel';
import { resolveWeight } from './weightResolver';
import { nodeLabel } from './nodeAttributes';
import { onnx } from './proto';
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

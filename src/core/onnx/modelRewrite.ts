/**
 * Rewrites a serialized ModelProto, changing only the tensors asked for. Walks the wire format down
 * ModelProto.graph(7) → GraphProto.initializer(5) / GraphProto.node(1) → NodeProto.attribute(5) →
 * AttributeProto.t(5), re-emits just the messages on the path to a changed tensor (with new length prefixes)
 * and copies every other byte unchanged.
 */
import { AttributeForm, rewriteTensor, rewriteValueAttribute, TensorChange } from './tensorRewrite';
import { bytesField, Field, firstString, payload, Pieces, replaceFields, scanFields, stringField, WireType } from './wireFormat';

const MODEL_GRAPH = 7;
/** ModelProto.metadata_props: repeated StringStringEntryProto { key = 1, value = 2 }. */
const MODEL_METADATA = 14;
const ENTRY = { key: 1, value: 2 } as const;
const GRAPH = { node: 1, initializer: 5 } as const;
const NODE = { output: 2, op_type: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, t: 5 } as const;
const TENSOR_NAME = 8;

export type ConstantChange =
  | { form: 'value'; change: TensorChange }
  | { form: AttributeForm; values: ArrayLike<number | bigint> };

export interface RewritePlan {
  /** Initializer name → change. */
  initializers: Map<string, TensorChange>;
  /** Constant node output name → change. */
  constants: Map<string, ConstantChange>;
  /** Node (by first output) → input index → the tensor that input reads from now on. */
  redirects?: Map<string, Map<number, string>>;
  /** Initializers to add: copies of existing ones (by name) under a new name. */
  copies?: { from: string; name: string }[];
  /**
   * ModelProto.metadata_props to set: an existing entry of the same key is replaced in place (later duplicates
   * of it dropped), new keys go after the model's last field.
   */
  metadata?: Record<string, string>;
}

function metadataEntry(key: string, value: string): Pieces {
  const body = new Pieces().pushAll(stringField(ENTRY.key, key)).pushAll(stringField(ENTRY.value, value));
  return bytesField(MODEL_METADATA, body);
}

const NODE_INPUT = 1;

/** The node with its inputs at the given indices renamed; every other byte kept. */
function redirectInputs(node: Uint8Array, fields: Field[], inputs: Map<number, string>): Pieces {
  const out = new Pieces();
  let k = 0;
  for (const f of fields) {
    if (f.no === NODE_INPUT && isMessage(f)) {
      const to = inputs.get(k++);
      if (to !== undefined) {
        out.pushAll(stringField(NODE_INPUT, to));
        continue;
      }
    }
    out.pushField(node, f);
  }
  return out;
}

/** Which initializers / Constant outputs were actually rewritten (every planned one should be). */
export interface RewriteResult {
  pieces: Pieces;
  applied: Set<string>;
}

function isMessage(f: Field): boolean {
  return f.wire === WireType.BYTES;
}

function rewriteAttributes(node: Uint8Array, fields: Field[], change: ConstantChange): Pieces | undefined {
  const out = new Pieces();
  let changed = false;
  for (const f of fields) {
    if (f.no !== NODE.attribute || !isMessage(f) || changed) {
      out.pushField(node, f);
      continue;
    }
    const attr = payload(node, f);
    const attrFields = scanFields(attr);
    const name = firstString(attr, attrFields, ATTR.name);
    let body: Pieces | undefined;
    if (change.form === 'value' && name === 'value') {
      const out2 = new Pieces();
      for (const af of attrFields) {
        if (af.no === ATTR.t && isMessage(af) && !body) {
          body = out2;
          out2.pushAll(bytesField(ATTR.t, rewriteTensor(payload(attr, af), change.change)));
        } else out2.pushField(attr, af);
      }
    } else if (change.form !== 'value' && name === change.form) {
      body = rewriteValueAttribute(attr, change.form, change.values);
    }
    if (body) {
      out.pushAll(bytesField(NODE.attribute, body));
      changed = true;
    } else out.pushField(node, f);
  }
  return changed ? out : undefined;
}

/** The Constant node's first output if this node is a default-domain Constant. */
function constantOutput(node: Uint8Array, fields: Field[]): string | undefined {
  const op = firstString(node, fields, NODE.op_type);
  if (op !== 'Constant') return undefined;
  const domain = firstString(node, fields, NODE.domain) ?? '';
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  return firstString(node, fields, NODE.output);
}

function rewriteGraph(graph: Uint8Array, plan: RewritePlan, applied: Set<string>): Pieces | undefined {
  const out = new Pieces();
  let changed = false;
  const redirects = plan.redirects ?? new Map<string, Map<number, string>>();
  const copyOf = new Map<string, string[]>();
  for (const c of plan.copies ?? []) copyOf.set(c.from, [...(copyOf.get(c.from) ?? []), c.name]);
  const copies: Pieces[] = [];
  for (const f of scanFields(graph)) {
    let replacement: Pieces | undefined;
    if (isMessage(f) && f.no === GRAPH.initializer && (plan.initializers.size > 0 || copyOf.size > 0)) {
      const t = payload(graph, f);
      const tensorFields = scanFields(t);
      const name = firstString(t, tensorFields, TENSOR_NAME) ?? '';
      for (const to of copyOf.get(name) ?? []) {
        copies.push(bytesField(GRAPH.initializer, replaceFields(t, tensorFields, (x) => x.no === TENSOR_NAME, stringField(TENSOR_NAME, to))));
        applied.add(`copy:${to}`);
      }
      const change = plan.initializers.get(name);
      if (change) {
        replacement = bytesField(GRAPH.initializer, rewriteTensor(t, change));
        applied.add(name);
      }
    } else if (isMessage(f) && f.no === GRAPH.node && (plan.constants.size > 0 || redirects.size > 0)) {
      const n = payload(graph, f);
      const nodeFields = scanFields(n);
      const output = constantOutput(n, nodeFields);
      const change = output !== undefined ? plan.constants.get(output) : undefined;
      const body = change ? rewriteAttributes(n, nodeFields, change) : undefined;
      const first = firstString(n, nodeFields, NODE.output);
      const inputs = first !== undefined ? redirects.get(first) : undefined;
      if (body) {
        replacement = bytesField(GRAPH.node, body);
        applied.add(output as string);
      } else if (inputs) {
        replacement = bytesField(GRAPH.node, redirectInputs(n, nodeFields, inputs));
        applied.add(`node:${first}`);
      }
    }
    if (replacement) {
      out.pushAll(replacement);
      changed = true;
    } else out.pushField(graph, f);
  }
  // Repeated fields may come in any order on the wire; new initializers go last.
  for (const c of copies) out.pushAll(c);
  return changed || copies.length > 0 ? out : undefined;
}

export function rewriteModel(model: Uint8Array, plan: RewritePlan): RewriteResult {
  const applied = new Set<string>();
  const out = new Pieces();
  const metadata = new Map(Object.entries(plan.metadata ?? {}));
  const written = new Set<string>();
  for (const f of scanFields(model)) {
    if (f.no === MODEL_METADATA && isMessage(f) && metadata.size > 0) {
      const entry = payload(model, f);
      const key = firstString(entry, scanFields(entry), ENTRY.key) ?? '';
      if (metadata.has(key)) {
        if (!written.has(key)) out.pushAll(metadataEntry(key, metadata.get(key) as string));
        written.add(key);
        applied.add(`metadata:${key}`);
        continue;
      }
    }
    const g = f.no === MODEL_GRAPH && isMessage(f) ? rewriteGraph(payload(model, f), plan, applied) : undefined;
    if (g) out.pushAll(bytesField(MODEL_GRAPH, g));
    else out.pushField(model, f);
  }
  for (const [key, value] of metadata) {
    if (written.has(key)) continue;
    out.pushAll(metadataEntry(key, value));
    applied.add(`metadata:${key}`);
  }
  return { pieces: out, applied };
}

/**
 * The reverse-mode engine: which tensors need a gradient, which nodes lack a rule, and the walk in reverse
 * topological order that calls each node's rule and sums fan-out contributions.
 */
import { onnx } from '../../onnx/proto';
import { inputError } from '../../errors';
import { GradContext } from './context';
import { gradRules } from './gradRules';
import { NON_DIFFERENTIABLE } from './shapes';
import { isFloatType } from './prepare';
import { nodeLabel } from './onnxUtil';

/**
 * Tensors that need a gradient: they depend on one of `wrt` through differentiable float tensors, and one
 * of `seeds` depends on them. Tensors without a known dtype (downstream of unsupported ops) count as float.
 */
export function gradFlow(
  nodes: readonly onnx.INodeProto[],
  wrt: Iterable<string>,
  seeds: Iterable<string>,
  dtypeOf: (name: string) => number | undefined,
): Set<string> {
  const depends = new Set<string>(wrt);
  for (const n of nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType!)) continue;
    if (!(n.input ?? []).some((i) => i && depends.has(i))) continue;
    for (const o of n.output ?? []) {
      const dt = o ? dtypeOf(o) : undefined;
      if (o && (dt === undefined || isFloatType(dt))) depends.add(o);
    }
  }
  const reaches = new Set<string>([...seeds].filter((s) => depends.has(s)));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!(n.output ?? []).some((o) => o && reaches.has(o))) continue;
    if (NON_DIFFERENTIABLE.has(n.opType!)) continue;
    for (const inp of n.input ?? []) if (inp && depends.has(inp)) reaches.add(inp);
  }
  return reaches;
}

/** Nodes whose backward is needed (an input and an output need gradients). */
export function activeNodes(nodes: readonly onnx.INodeProto[], needs: Set<string>): onnx.INodeProto[] {
  return nodes.filter(
    (n) => (n.output ?? []).some((o) => o && needs.has(o)) && (n.input ?? []).some((i) => i && needs.has(i)),
  );
}

/** Longest refusal line: op types with counts and the first node names; the full list goes in `details`. */
const REFUSAL_CHARS = 300;

/**
 * The error for nodes without a gradient (or shape) rule: one short line of op types with counts and the first
 * few node names each, in graph order; every node in `details.missingGradientRules`.
 */
export function unsupportedError(file: string | undefined, nodes: readonly onnx.INodeProto[]): Error {
  const groups = new Map<string, string[]>();
  for (const n of new Set(nodes)) {
    const op = `${n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : ''}${n.opType}`;
    groups.set(op, [...(groups.get(op) ?? []), nodeLabel(n)]);
  }
  const parts = [...groups].map(([op, names]) => `${op} ×${names.length} (${names.slice(0, 2).join(', ')}${names.length > 2 ? ', …' : ''})`);
  let line = '';
  let shown = 0;
  for (const p of parts) {
    if (shown > 0 && line.length + p.length > REFUSAL_CHARS) break;
    line += `${shown > 0 ? '; ' : ''}${p}`;
    shown++;
  }
  if (shown < parts.length) line += `; and ${parts.length - shown} more op types`;
  const total = [...groups.values()].reduce((a, b) => a + b.length, 0);
  return inputError(file, `no gradient rule for ${total} node${total === 1 ? '' : 's'} on the training path: ${line} (--json lists every node)`, {
    missingGradientRules: [...groups].map(([op, names]) => ({ op, count: names.length, nodes: names })),
  });
}

/** Active nodes without a gradient rule. */
export function missingRules(nodes: readonly onnx.INodeProto[], needs: Set<string>): onnx.INodeProto[] {
  return activeNodes(nodes, needs).filter((n) => (n.domain && n.domain !== 'ai.onnx') || !Object.prototype.hasOwnProperty.call(gradRules, n.opType!));
}

export class GradAccumulator {
  private readonly parts = new Map<string, string[]>();
  private readonly done = new Map<string, string>();

  constructor(private readonly ctx: GradContext) {}

  add(tensor: string, grad: string): void {
    if (this.done.has(tensor)) throw new Error(`internal: gradient of ${tensor} read before all contributions arrived`);
    const l = this.parts.get(tensor);
    if (l) l.push(grad);
    else this.parts.set(tensor, [grad]);
  }

  has(tensor: string): boolean {
    return this.parts.has(tensor);
  }

  /** The total gradient of a tensor (Sum of the contributions), or undefined when none arrived. */
  total(tensor: string): string | undefined {
    const d = this.done.get(tensor);
    if (d) return d;
    const l = this.parts.get(tensor);
    if (!l) return undefined;
    const g = l.length === 1 ? l[0] : this.ctx.emit('Sum', l, {}, this.ctx.shape(tensor), `dsum_${tensor}`);
    this.done.set(tensor, g);
    return g;
  }

  /**
   * The total gradient under an exact output name: the node that produced a single contribution is renamed
   * when nothing else reads it; otherwise a Sum (or Identity) writes the name.
   */
  totalAs(tensor: string, outName: string): boolean {
    const l = this.parts.get(tensor);
    if (!l) return false;
    this.ctx.reserve(outName);
    if (l.length === 1) {
      const g = l[0];
      const producer = this.ctx.nodes.find((n) => (n.output ?? []).includes(g));
      const otherReaders = this.ctx.nodes.some((n) => (n.input ?? []).includes(g));
      if (producer && !otherReaders) {
        producer.output = producer.output!.map((o) => (o === g ? outName : o));
        this.ctx.setDims(outName, this.ctx.shape(tensor));
        this.done.set(tensor, outName);
        return true;
      }
      this.ctx.emitNamed('Identity', [g], [outName]);
    } else {
      this.ctx.emitNamed('Sum', l, [outName]);
    }
    this.ctx.setDims(outName, this.ctx.shape(tensor));
    this.done.set(tensor, outName);
    return true;
  }
}

/**
 * Emit the backward of `nodes` (forward, topological) into `ctx`, starting from `seeds` (forward tensor →
 * its gradient). Returns the accumulator holding the gradient contributions of every tensor that needs one.
 */
export function emitBackward(ctx: GradContext, nodes: readonly onnx.INodeProto[], needs: Set<string>, seeds: Map<string, string>): GradAccumulator {
  const acc = new GradAccumulator(ctx);
  for (const [t, g] of seeds) if (needs.has(t)) acc.add(t, g);
  const active = activeNodes(nodes, needs);
  for (let i = active.length - 1; i >= 0; i--) {
    const n = active[i];
    const dY = (n.output ?? []).map((o) => (o && needs.has(o) ? acc.total(o) : undefined));
    if (dY.every((d) => d === undefined)) continue;
    const rule = gradRules[n.opType!];
    const grads = rule(ctx, n, dY);
    (n.input ?? []).forEach((inp, k) => {
      const g = grads[k];
      if (inp && g && needs.has(inp)) acc.add(inp, g);
    });
  }
  return acc;
}

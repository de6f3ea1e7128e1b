/**
 * Elementwise backward: activations (from their output where it determines the derivative, so the input
 * activation need not stay alive), and the broadcasting arithmetic ops, whose operand gradients are reduced
 * over the broadcast axes (doc §3.8).
 */
import { GradRule } from './ruleTypes';
import { GradContext } from './context';
import { attrFloat, attrInt } from './onnxUtil';
import { broadcastShapes } from './shapes';
import { DataType } from '../../onnx/proto';

function boolMask(ctx: GradContext, op: string, inputs: string[], dims: number[]): string {
  const m = ctx.emit(op, inputs, {}, undefined, `mask_${op}`);
  ctx.setDims(m, dims, DataType.BOOL);
  return m;
}

/** dX = Where(mask, dY, 0). */
function gate(ctx: GradContext, mask: string, dy: string, dims: number[], x: string): string {
  return ctx.emit('Where', [mask, dy, ctx.scalar(0)], {}, dims, `dX_${x}`);
}

const relu: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const y = node.output![0];
  const d = ctx.shape(y);
  return [gate(ctx, boolMask(ctx, 'Greater', [y, ctx.scalar(0)], d), dy, d, x)];
};

const leakyRelu: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const alpha = attrFloat(node, 'alpha', 0.01);
  const d = ctx.shape(x);
  const mask = boolMask(ctx, 'Greater', [x, ctx.scalar(0)], d);
  const slope = ctx.emit('Where', [mask, ctx.scalar(1), ctx.scalar(alpha)], {}, d, 'lrelu_slope');
  return [ctx.emit('Mul', [dy, slope], {}, d, `dX_${x}`)];
};

/** Clip: gradient passes strictly inside (lo, hi), as PyTorch's hardtanh/ReLU6 backward. */
const clip: GradRule = (ctx, node, [dy]) => {
  const [x, lo, hi] = node.input!;
  if (!dy || !ctx.needsGrad(x)) return [];
  const d = ctx.shape(x);
  const parts: string[] = [];
  if (lo) parts.push(boolMask(ctx, 'Greater', [x, lo], d));
  if (hi) parts.push(boolMask(ctx, 'Less', [x, hi], d));
  if (parts.length === 0) return [dy];
  const mask = parts.length === 2 ? boolMask(ctx, 'And', parts, d) : parts[0];
  return [gate(ctx, mask, dy, d, x)];
};

/** dX = dY ⊙ y ⊙ (1 − y). */
const sigmoid: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const y = node.output![0];
  const d = ctx.shape(y);
  const om = ctx.emit('Sub', [ctx.scalar(1), y], {}, d, 'sig_1my');
  const dd = ctx.emit('Mul', [y, om], {}, d, 'sig_d');
  return [ctx.emit('Mul', [dy, dd], {}, d, `dX_${x}`)];
};

/** dX = dY ⊙ (1 − y²). */
const tanh: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const y = node.output![0];
  const d = ctx.shape(y);
  const y2 = ctx.emit('Mul', [y, y], {}, d, 'tanh_y2');
  const dd = ctx.emit('Sub', [ctx.scalar(1), y2], {}, d, 'tanh_d');
  return [ctx.emit('Mul', [dy, dd], {}, d, `dX_${x}`)];
};

/** y = max(0, min(1, αx + β)): dX = α·dY where 0 < y < 1. */
const hardSigmoid: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const alpha = attrFloat(node, 'alpha', 0.2);
  const y = node.output![0];
  const d = ctx.shape(y);
  const mask = boolMask(ctx, 'And', [boolMask(ctx, 'Greater', [y, ctx.scalar(0)], d), boolMask(ctx, 'Less', [y, ctx.scalar(1)], d)], d);
  const scaled = ctx.emit('Mul', [dy, ctx.scalar(alpha)], {}, d, 'hsig_a');
  return [gate(ctx, mask, scaled, d, x)];
};

/** y = x·hardsigmoid(x) (α = 1/6, β = 0.5): dy/dx = 0 for x < −3, 1 for x > 3, x/3 + 0.5 between (PyTorch). */
const hardSwish: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const d = ctx.shape(x);
  const lin = ctx.emit('Add', [ctx.emit('Mul', [x, ctx.scalar(1 / 3)], {}, d, 'hsw_x3'), ctx.scalar(0.5)], {}, d, 'hsw_lin');
  const hi = ctx.emit('Where', [boolMask(ctx, 'Greater', [x, ctx.scalar(3)], d), ctx.scalar(1), lin], {}, d, 'hsw_hi');
  const der = ctx.emit('Where', [boolMask(ctx, 'Less', [x, ctx.scalar(-3)], d), ctx.scalar(0), hi], {}, d, 'hsw_d');
  return [ctx.emit('Mul', [dy, der], {}, d, `dX_${x}`)];
};

const neg: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  return [ctx.emit('Neg', [dy], {}, ctx.shape(x), `dX_${x}`)];
};

const identity: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  return [dy];
};

function binaryDims(ctx: GradContext, a: string, b: string): { da: number[]; db: number[]; dy: number[] } {
  const da = ctx.shape(a);
  const db = ctx.shape(b);
  return { da, db, dy: broadcastShapes(da, db) };
}

const add: GradRule = (ctx, node, [dy]) => {
  const [a, b] = node.input!;
  if (!dy) return [];
  const s = binaryDims(ctx, a, b);
  return [ctx.needsGrad(a) ? ctx.reduceTo(dy, s.dy, s.da) : undefined, ctx.needsGrad(b) ? ctx.reduceTo(dy, s.dy, s.db) : undefined];
};

const sub: GradRule = (ctx, node, [dy]) => {
  const [a, b] = node.input!;
  if (!dy) return [];
  const s = binaryDims(ctx, a, b);
  let gb: string | undefined;
  if (ctx.needsGrad(b)) {
    const r = ctx.reduceTo(dy, s.dy, s.db);
    gb = ctx.emit('Neg', [r], {}, s.db, `dB_${b}`);
  }
  return [ctx.needsGrad(a) ? ctx.reduceTo(dy, s.dy, s.da) : undefined, gb];
};

const mul: GradRule = (ctx, node, [dy]) => {
  const [a, b] = node.input!;
  if (!dy) return [];
  const s = binaryDims(ctx, a, b);
  const ga = ctx.needsGrad(a) ? ctx.reduceTo(ctx.emit('Mul', [dy, b], {}, s.dy, `dA_${a}`), s.dy, s.da) : undefined;
  const gb = ctx.needsGrad(b) ? ctx.reduceTo(ctx.emit('Mul', [dy, a], {}, s.dy, `dB_${b}`), s.dy, s.db) : undefined;
  return [ga, gb];
};

/** y = a / b: da = dY / b, db = −dY ⊙ y / b. */
const div: GradRule = (ctx, node, [dy]) => {
  const [a, b] = node.input!;
  if (!dy) return [];
  const s = binaryDims(ctx, a, b);
  const q = ctx.needsGrad(a) || ctx.needsGrad(b) ? ctx.emit('Div', [dy, b], {}, s.dy, `dq_${a}`) : '';
  const ga = ctx.needsGrad(a) ? ctx.reduceTo(q, s.dy, s.da) : undefined;
  let gb: string | undefined;
  if (ctx.needsGrad(b)) {
    const m = ctx.emit('Mul', [q, node.output![0]], {}, s.dy, `dB_${b}`);
    gb = ctx.emit('Neg', [ctx.reduceTo(m, s.dy, s.db)], {}, s.db, `dBn_${b}`);
  }
  return [ga, gb];
};

function softmaxAxis(ctx: GradContext, node: Parameters<GradRule>[1]): number {
  const rank = ctx.shape(node.input![0]).length;
  const a = attrInt(node, 'axis', -1);
  return a < 0 ? a + rank : a;
}

/** dX = y ⊙ (dY − Σ_axis dY ⊙ y). */
const softmax: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const y = node.output![0];
  const d = ctx.shape(y);
  const axis = softmaxAxis(ctx, node);
  const p = ctx.emit('Mul', [dy, y], {}, d, 'sm_dyy');
  const s = ctx.reduceSum(p, [axis], true, d);
  const c = ctx.emit('Sub', [dy, s], {}, d, 'sm_c');
  return [ctx.emit('Mul', [y, c], {}, d, `dX_${x}`)];
};

/** dX = dY − softmax ⊙ Σ_axis dY. */
const logSoftmax: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const y = node.output![0];
  const d = ctx.shape(y);
  const axis = softmaxAxis(ctx, node);
  const sm = ctx.emit('Exp', [y], {}, d, 'lsm_p');
  const s = ctx.reduceSum(dy, [axis], true, d);
  const m = ctx.emit('Mul', [sm, s], {}, d, 'lsm_ps');
  return [ctx.emit('Sub', [dy, m], {}, d, `dX_${x}`)];
};

export const elementwiseRules: Record<string, GradRule> = {
  Relu: relu,
  LeakyRelu: leakyRelu,
  Clip: clip,
  Sigmoid: sigmoid,
  Tanh: tanh,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Neg: neg,
  Identity: identity,
  Dropout: identity,
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
};

/**
 * Gemm and MatMul backward (doc §3.8).
 * Gemm: Y = α·op(A)·op(B) + β·C, any transA/transB; each gradient is one Gemm with the matching transposes.
 * MatMul: 2-D operands use Gemm; batched operands use MatMul with the last two axes swapped, then reduce
 * the broadcast batch axes.
 */
import { AttrValue } from '../../onnx/builder';
import { GradRule } from './ruleTypes';
import { GradContext } from './context';
import { attrFloat, attrInt } from './onnxUtil';
import { broadcastShapes } from './shapes';

function scaled(ctx: GradContext, x: string, s: number, dims: number[]): string {
  return s === 1 ? x : ctx.emit('Mul', [x, ctx.scalar(s)], {}, dims, 'g_scale');
}

const gemm: GradRule = (ctx, node, [dy]) => {
  const [a, b, c] = node.input!;
  if (!dy) return [];
  const tA = attrInt(node, 'transA', 0) === 1;
  const tB = attrInt(node, 'transB', 0) === 1;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const ad = ctx.shape(a);
  const bd = ctx.shape(b);
  const yd = ctx.shape(node.output![0]);
  const out: (string | undefined)[] = [undefined, undefined, undefined];
  const at = (x: number): Record<string, AttrValue> => (alpha === 1 ? {} : { alpha: { float: x } });
  if (ctx.needsGrad(a)) {
    // transA = 0: dA = α·dY·op(B)ᵀ; transA = 1: dA = α·op(B)·dYᵀ.
    out[0] = tA
      ? ctx.emit('Gemm', [b, dy], { transA: tB ? 1 : 0, transB: 1, ...at(alpha) }, ad, `dA_${a}`)
      : ctx.emit('Gemm', [dy, b], { transB: tB ? 0 : 1, ...at(alpha) }, ad, `dA_${a}`);
  }
  if (ctx.needsGrad(b)) {
    // transB = 0: dB = α·op(A)ᵀ·dY; transB = 1: dB = α·dYᵀ·op(A).
    out[1] = tB
      ? ctx.emit('Gemm', [dy, a], { transA: 1, transB: tA ? 1 : 0, ...at(alpha) }, bd, `dB_${b}`)
      : ctx.emit('Gemm', [a, dy], { transA: tA ? 0 : 1, ...at(alpha) }, bd, `dB_${b}`);
  }
  if (c && ctx.needsGrad(c)) {
    const cd = ctx.shape(c);
    out[2] = scaled(ctx, ctx.reduceTo(dy, yd, cd), beta, cd);
  }
  return out;
};

const matmul: GradRule = (ctx, node, [dy]) => {
  const [a, b] = node.input!;
  if (!dy) return [];
  const ad = ctx.shape(a);
  const bd = ctx.shape(b);
  const yd = ctx.shape(node.output![0]);
  const out: (string | undefined)[] = [undefined, undefined];
  if (ad.length === 2 && bd.length === 2) {
    if (ctx.needsGrad(a)) out[0] = ctx.emit('Gemm', [dy, b], { transB: 1 }, ad, `dA_${a}`);
    if (ctx.needsGrad(b)) out[1] = ctx.emit('Gemm', [a, dy], { transA: 1 }, bd, `dB_${b}`);
    return out;
  }
  const swap = (x: string, d: number[]) => {
    const r = d.length;
    const perm = d.map((_, i) => i);
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    const td = perm.map((p) => d[p]);
    return ctx.emit('Transpose', [x], { perm }, td, `T_${x}`);
  };
  if (ctx.needsGrad(a)) {
    const full = [...broadcastShapes(ad.slice(0, -2), yd.slice(0, -2)), ad[ad.length - 2], ad[ad.length - 1]];
    const m = ctx.emit('MatMul', [dy, swap(b, bd)], {}, full, `dA_${a}`);
    out[0] = ctx.reduceTo(m, full, ad);
  }
  if (ctx.needsGrad(b)) {
    if (bd.length === 2) {
      // Batched A against a 2-D weight: one Gemm over the flattened batch.
      const k = ad[ad.length - 1];
      const n = yd[yd.length - 1];
      const rows = ad.slice(0, -1).reduce((p, q) => p * q, 1);
      const a2 = ctx.reshape(a, [rows, k]);
      const y2 = ctx.reshape(dy, [rows, n]);
      out[1] = ctx.emit('Gemm', [a2, y2], { transA: 1 }, bd, `dB_${b}`);
    } else {
      const full = [...broadcastShapes(bd.slice(0, -2), yd.slice(0, -2)), bd[bd.length - 2], bd[bd.length - 1]];
      const m = ctx.emit('MatMul', [swap(a, ad), dy], {}, full, `dB_${b}`);
      out[1] = ctx.reduceTo(m, full, bd);
    }
  }
  return out;
};

export const linearRules: Record<string, GradRule> = { Gemm: gemm, MatMul: matmul };

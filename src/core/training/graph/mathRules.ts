/**
 * Gradient rules of the transformer math ops: Erf, Gelu, Pow, Sqrt, Exp, Log, Reciprocal, Where, ReduceMax/Min
 * and LayerNormalization. Every emitted op is opset-17 ONNX; reductions use ReduceSum (axes as input since
 * opset 13), whose signature does not change in later opsets, unlike ReduceMax/ReduceMean (opset 18).
 */
import { DataType } from '../../onnx/proto';
import { inputError } from '../../errors';
import { GradRule } from './ruleTypes';
import { GradContext } from './context';
import { attrFloat, attrInt, attrString, nodeLabel } from './onnxUtil';
import { broadcastShapes, normAxis, reduceAxes } from './shapes';
import { isFloatType } from './prepare';

type Node = Parameters<GradRule>[1];

/** A rule for y = f(x) whose dX = dY ⊙ f'(x), with f' built by `der` (given x, y, dims). */
function pointwise(der: (ctx: GradContext, x: string, y: string, d: number[]) => string): GradRule {
  return (ctx, node, [dy]) => {
    const x = node.input![0];
    if (!dy || !ctx.needsGrad(x)) return [];
    const d = ctx.shape(x);
    return [ctx.emit('Mul', [dy, der(ctx, x, node.output![0], d)], {}, d, `dX_${x}`)];
  };
}

const mul = (ctx: GradContext, a: string, b: string, d: number[], base = 'g_mul') => ctx.emit('Mul', [a, b], {}, d, base);
const mulc = (ctx: GradContext, a: string, c: number, d: number[], base = 'g_mulc') => mul(ctx, a, ctx.scalar(c), d, base);
const addc = (ctx: GradContext, a: string, c: number, d: number[], base = 'g_addc') => ctx.emit('Add', [a, ctx.scalar(c)], {}, d, base);

/** exp(k·x²) */
function gauss(ctx: GradContext, x: string, k: number, d: number[]): string {
  return ctx.emit('Exp', [mulc(ctx, mul(ctx, x, x, d, 'x2'), k, d)], {}, d, 'gauss');
}

/** erf'(x) = 2/√π · exp(−x²). */
const erf = pointwise((ctx, x, _y, d) => mulc(ctx, gauss(ctx, x, -1, d), 2 / Math.sqrt(Math.PI), d, 'erf_d'));

/** exact: Φ(x) + x·φ(x); tanh: 0.5(1+t) + 0.5x(1−t²)·√(2/π)(1 + 3c·x²), t = tanh(√(2/π)(x + c·x³)). */
const gelu: GradRule = (ctx, node, dY) => {
  const approx = attrString(node, 'approximate', 'none');
  if (approx !== 'none' && approx !== 'tanh') throw inputError(undefined, `${nodeLabel(node)}: Gelu approximate '${approx}' is not supported`);
  return pointwise((c, x, _y, d) => {
    if (approx === 'none') {
      const cdf = addc(c, mulc(c, c.emit('Erf', [mulc(c, x, Math.SQRT1_2, d)], {}, d, 'gelu_erf'), 0.5, d), 0.5, d, 'gelu_cdf');
      const xpdf = mulc(c, mul(c, x, gauss(c, x, -0.5, d), d), 1 / Math.sqrt(2 * Math.PI), d, 'gelu_xpdf');
      return c.emit('Add', [cdf, xpdf], {}, d, 'gelu_d');
    }
    const k = Math.sqrt(2 / Math.PI);
    const cc = 0.044715;
    const x2 = mul(c, x, x, d, 'x2');
    const t = c.emit('Tanh', [mulc(c, mul(c, x, addc(c, mulc(c, x2, cc, d), 1, d), d), k, d)], {}, d, 'gelu_t');
    const half = mulc(c, addc(c, t, 1, d), 0.5, d, 'gelu_a');
    const sech2 = c.emit('Sub', [c.scalar(1), mul(c, t, t, d)], {}, d, 'gelu_sech2');
    const du = mulc(c, addc(c, mulc(c, x2, 3 * cc, d), 1, d), 0.5 * k, d, 'gelu_du');
    return c.emit('Add', [half, mul(c, mul(c, x, sech2, d), du, d)], {}, d, 'gelu_d');
  })(ctx, node, dY);
};

/** √x: 0.5/y. */
const sqrt = pointwise((ctx, _x, y, d) => ctx.emit('Div', [ctx.scalar(0.5), y], {}, d, 'sqrt_d'));
/** eˣ: y. */
const exp = pointwise((_ctx, _x, y) => y);
/** ln x: 1/x. */
const log = pointwise((ctx, x, _y, d) => ctx.emit('Reciprocal', [x], {}, d, 'log_d'));
/** 1/x: −y². */
const reciprocal = pointwise((ctx, _x, y, d) => mulc(ctx, mul(ctx, y, y, d), -1, d, 'recip_d'));

/** Y = X^E. dX = dY·E·X^(E−1) (E constant: folded; E = 2: 2X); dE = dY·Y·ln X (NaN for X < 0, as PyTorch). */
const pow: GradRule = (ctx, node, [dy]) => {
  const [x, e] = node.input!;
  if (!dy) return [];
  const xd = ctx.shape(x);
  const ed = ctx.shape(e);
  const yd = broadcastShapes(xd, ed);
  const out: (string | undefined)[] = [undefined, undefined];
  if (ctx.needsGrad(x)) {
    const ev = ctx.info(e)?.value;
    let der: string;
    if (ev && ev.every((v) => v === 2)) {
      der = mulc(ctx, x, 2, xd, 'pow_d');
    } else if (ev) {
      const p = ctx.emit('Pow', [x, ctx.f32(ev.map((v) => v - 1), ed)], {}, yd, 'pow_xm1');
      der = mul(ctx, p, ctx.f32(ev, ed), yd, 'pow_d');
    } else {
      const ef = isFloatType(ctx.info(e)?.dtype ?? DataType.FLOAT) ? e : ctx.emit('Cast', [e], { to: DataType.FLOAT }, ed, 'pow_ef');
      const p = ctx.emit('Pow', [x, ctx.emit('Sub', [ef, ctx.scalar(1)], {}, ed, 'pow_em1')], {}, yd, 'pow_xm1');
      der = mul(ctx, p, ef, yd, 'pow_d');
    }
    out[0] = ctx.reduceTo(ctx.emit('Mul', [dy, der], {}, yd, `dX_${x}`), yd, xd);
  }
  if (ctx.needsGrad(e)) {
    const ylx = mul(ctx, node.output![0], ctx.emit('Log', [x], {}, xd, 'pow_lnx'), yd, 'pow_ylnx');
    out[1] = ctx.reduceTo(ctx.emit('Mul', [dy, ylx], {}, yd, `dE_${e}`), yd, ed);
  }
  return out;
};

/** Where(C, A, B): dA = Where(C, dY, 0), dB = Where(C, 0, dY), each reduced over its broadcast axes. */
const where: GradRule = (ctx, node, [dy]) => {
  const [c, a, b] = node.input!;
  if (!dy) return [];
  const yd = ctx.shape(node.output![0]);
  const zero = ctx.scalar(0);
  const branch = (t: string, ins: string[]) => ctx.reduceTo(ctx.emit('Where', [c, ...ins], {}, yd, `dW_${t}`), yd, ctx.shape(t));
  return [undefined, ctx.needsGrad(a) ? branch(a, [dy, zero]) : undefined, ctx.needsGrad(b) ? branch(b, [zero, dy]) : undefined];
};

/** ReduceMax/Min: dY split evenly among the tied extrema (PyTorch's amax/amin convention). */
const reduceExtremum: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const xd = ctx.shape(x);
  const ins = (node.input ?? []).map((i) => (i ? ctx.info(i) : undefined));
  const axes = reduceAxes(node, ins, xd.length);
  if (axes.length === 0) return [dy];
  const kept = xd.map((d, i) => (axes.includes(i) ? 1 : d));
  const keep = attrInt(node, 'keepdims', 1) === 1;
  const y = keep ? node.output![0] : ctx.reshape(node.output![0], kept);
  const g = keep ? dy : ctx.reshape(dy, kept);
  const hit = ctx.emit('Equal', [x, y], {}, undefined, 'rmax_hit');
  ctx.setDims(hit, xd, DataType.BOOL);
  const mask = ctx.emit('Cast', [hit], { to: DataType.FLOAT }, xd, 'rmax_mask');
  const share = ctx.emit('Div', [g, ctx.reduceSum(mask, axes, true, xd)], {}, kept, 'rmax_share');
  return [mul(ctx, mask, share, xd, `dX_${x}`)];
};

/** X − μ and InvStdDev of a LayerNormalization: from its own outputs when the node has them, else recomputed. */
function lnStats(ctx: GradContext, node: Node, axes: number[], m: number, statDims: number[]): [string, string] {
  const [x] = node.input!;
  const [, mean, inv] = node.output!;
  const xd = ctx.shape(x);
  if (mean && inv) return [ctx.emit('Sub', [x, mean], {}, xd, 'ln_xc'), inv];
  const mu = mulc(ctx, ctx.reduceSum(x, axes, true, xd), 1 / m, statDims, 'ln_mean');
  const xc = ctx.emit('Sub', [x, mu], {}, xd, 'ln_xc');
  const v = mulc(ctx, ctx.reduceSum(mul(ctx, xc, xc, xd, 'ln_xc2'), axes, true, xd), 1 / m, statDims, 'ln_var');
  const std = ctx.emit('Sqrt', [addc(ctx, v, attrFloat(node, 'epsilon', 1e-5), statDims)], {}, statDims, 'ln_std');
  return [xc, ctx.emit('Reciprocal', [std], {}, statDims, 'ln_inv')];
}

/**
 * LayerNormalization over axes [axis, rank): x̂ = (X − μ)·inv, Y = x̂·S + B. With g = dY·S and means over the
 * normalized axes: dX = inv·(g − mean(g) − x̂·mean(g·x̂)), dS = Σ dY·x̂, dB = Σ dY (over the broadcast axes).
 */
const layerNorm: GradRule = (ctx, node, dY) => {
  const [x, scale, bias] = node.input!;
  const dy = dY[0];
  if (dY[1] || dY[2]) throw inputError(undefined, `${nodeLabel(node)}: gradients through LayerNormalization's Mean/InvStdDev outputs are not supported`);
  if (!dy) return [];
  const needX = ctx.needsGrad(x);
  const needS = ctx.needsGrad(scale);
  const needB = !!bias && ctx.needsGrad(bias);
  const xd = ctx.shape(x);
  const axis = normAxis(node, attrInt(node, 'axis', -1), xd.length);
  const axes = xd.map((_, i) => i).filter((i) => i >= axis);
  const m = axes.reduce((p, a) => p * xd[a], 1);
  const statDims = xd.map((d, i) => (i < axis ? d : 1));
  const out: (string | undefined)[] = [undefined, undefined, needB ? ctx.reduceTo(dy, xd, ctx.shape(bias)) : undefined];
  if (!needX && !needS) return out;
  const [xc, inv] = lnStats(ctx, node, axes, m, statDims);
  const xhat = mul(ctx, xc, inv, xd, 'ln_xhat');
  if (needS) out[1] = ctx.reduceTo(mul(ctx, dy, xhat, xd, 'ln_dyxh'), xd, ctx.shape(scale));
  if (needX) {
    const g = mul(ctx, dy, scale, xd, 'ln_g');
    const sg = ctx.reduceSum(g, axes, true, xd);
    const sgx = ctx.reduceSum(mul(ctx, g, xhat, xd, 'ln_gxh'), axes, true, xd);
    const u = ctx.emit('Add', [mul(ctx, xhat, sgx, xd, 'ln_xs'), sg], {}, xd, 'ln_u');
    const v = ctx.emit('Sub', [g, mulc(ctx, u, 1 / m, xd, 'ln_um')], {}, xd, 'ln_v');
    out[0] = mul(ctx, v, inv, xd, `dX_${x}`);
  }
  return out;
};

export const mathRules: Record<string, GradRule> = {
  Erf: erf,
  Gelu: gelu,
  Sqrt: sqrt,
  Exp: exp,
  Log: log,
  Reciprocal: reciprocal,
  Pow: pow,
  Where: where,
  ReduceMax: reduceExtremum,
  ReduceMin: reduceExtremum,
  LayerNormalization: layerNorm,
};

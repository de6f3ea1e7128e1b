/**
 * Backward of ReduceMean / ReduceSum (e.g. `x.mean([2, 3])` exported instead of GlobalAveragePool) and of
 * constant-mode Pad.
 * - Reduce: dX = Expand(Reshape(dY, keepdims shape) · (1/count for the mean), shape(X)).
 * - Pad: dX = Slice(dY) at the begin pads (non-negative pads only).
 */
import { inputError } from '../../errors';
import { GradRule } from './ruleTypes';
import { attrString, nodeLabel } from './onnxUtil';
import { padAmounts, reduceAxes } from './shapes';

function reduceGrad(mean: boolean): GradRule {
  return (ctx, node, [dy]) => {
    const x = node.input![0];
    if (!dy || !ctx.needsGrad(x)) return [];
    const xd = ctx.shape(x);
    const ins = (node.input ?? []).map((i) => (i ? ctx.info(i) : undefined));
    const axes = reduceAxes(node, ins, xd.length);
    const kept = xd.map((d, i) => (axes.includes(i) ? 1 : d));
    let g = ctx.reshape(dy, kept);
    if (mean) {
      const count = axes.reduce((p, a) => p * xd[a], 1);
      g = ctx.emit('Mul', [g, ctx.scalar(1 / count)], {}, kept, `dYm_${x}`);
    }
    return [ctx.emit('Expand', [g, ctx.i64(xd)], {}, xd, `dX_${x}`)];
  };
}

const padGrad: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const mode = attrString(node, 'mode', 'constant');
  const xd = ctx.shape(x);
  const ins = (node.input ?? []).map((i) => (i ? ctx.info(i) : undefined));
  const pads = padAmounts(node, ins, xd.length);
  if (mode !== 'constant' || pads.some((p) => p < 0)) {
    throw inputError(undefined, `${nodeLabel(node)}: only constant-mode Pad with non-negative pads is differentiable here`);
  }
  const axes = xd.map((_, i) => i);
  const starts = axes.map((a) => pads[a]);
  const ends = axes.map((a) => pads[a] + xd[a]);
  return [ctx.emit('Slice', [dy, ctx.i64(starts), ctx.i64(ends), ctx.i64(axes)], {}, xd, `dX_${x}`)];
};

export const reduceRules: Record<string, GradRule> = {
  ReduceMean: reduceGrad(true),
  ReduceSum: reduceGrad(false),
  Pad: padGrad,
};

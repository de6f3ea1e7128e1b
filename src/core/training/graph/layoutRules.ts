/**
 * Layout backward: Flatten/Reshape/Squeeze/Unsqueeze give dX = Reshape(dY, shape(X)); Transpose applies the
 * inverse permutation; Concat splits dY back along its axis (doc §3.7).
 */
import { GradRule } from './ruleTypes';
import { attrInt, attrInts } from './onnxUtil';

const reshapeBack: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  return [ctx.reshape(dy, ctx.shape(x))];
};

const transpose: GradRule = (ctx, node, [dy]) => {
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const xd = ctx.shape(x);
  const perm = attrInts(node, 'perm') ?? xd.map((_, i) => xd.length - 1 - i);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return [ctx.emit('Transpose', [dy], { perm: inv }, xd, `dX_${x}`)];
};

const concat: GradRule = (ctx, node, [dy]) => {
  if (!dy) return [];
  const inputs = node.input!;
  if (!inputs.some((i) => ctx.needsGrad(i))) return [];
  const rank = ctx.shape(inputs[0]).length;
  const a0 = attrInt(node, 'axis', 0);
  const axis = a0 < 0 ? a0 + rank : a0;
  const sizes = inputs.map((i) => ctx.shape(i)[axis]);
  const outs = ctx.emitN('Split', [dy, ctx.i64(sizes)], inputs.length, { axis }, `dcat_${inputs[0]}`);
  return inputs.map((inp, k) => {
    ctx.setDims(outs[k], ctx.shape(inp));
    return ctx.needsGrad(inp) ? outs[k] : undefined;
  });
};

export const layoutRules: Record<string, GradRule> = {
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
};

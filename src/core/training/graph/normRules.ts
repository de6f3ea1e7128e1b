/**
 * BatchNormalization backward in training mode (doc §3.5). The forward rewrite turned every BN into the native
 * `training_mode = 1`, `momentum = 0` form, whose 2nd and 3rd outputs are the batch mean m and the biased
 * batch variance v. With M = N·H·W, invstd = 1/√(v + ε), x̂ = (X − m)·invstd:
 *   dβ = Σ dY,   dγ = Σ dY ⊙ x̂,   dX = (γ·invstd) ⊙ (dY − dβ/M − x̂ ⊙ dγ/M)
 * The last one is emitted as dX = k1 ⊙ dY + a ⊙ x̂ + b with per-channel k1 = γ·invstd, a = −k1·dγ/M,
 * b = −k1·dβ/M: four full-size passes. Reductions over N·H·W run in two stages (spatial, then batch).
 */
import { GradRule } from './ruleTypes';
import { attrFloat, attrInt, nodeLabel } from './onnxUtil';

const batchNormTrainGrad: GradRule = (ctx, node, [dy]) => {
  const [x, scale, bias] = node.input!;
  if (!dy) return [];
  if (attrInt(node, 'training_mode', 0) !== 1 || (node.output ?? []).length < 3) {
    throw new Error(`internal: ${nodeLabel(node)} was not rewritten to training mode`);
  }
  const needX = ctx.needsGrad(x);
  const needG = ctx.needsGrad(scale);
  const needB = ctx.needsGrad(bias);
  if (!needX && !needG && !needB) return [];
  const xd = ctx.shape(x);
  const C = xd[1];
  const M = xd[0] * xd.slice(2).reduce((a, b) => a * b, 1);
  const bc = [1, C, ...xd.slice(2).map(() => 1)];
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const [, mean, varB] = node.output!;

  const dBeta = ctx.reduceSum(dy, xd.map((_, i) => i).filter((i) => i !== 1), false, xd);
  let dGamma: string | undefined;
  let xhat: string | undefined;
  let invstd: string | undefined;
  if (needX || needG) {
    invstd = ctx.emit('Reciprocal', [ctx.emit('Sqrt', [ctx.emit('Add', [varB, ctx.scalar(eps)], {}, [C], 'bn_ve')], {}, [C], 'bn_std')], {}, [C], 'bn_invstd');
    const xc = ctx.emit('Sub', [x, ctx.reshape(mean, bc)], {}, xd, 'bn_xc');
    xhat = ctx.emit('Mul', [xc, ctx.reshape(invstd, bc)], {}, xd, 'bn_xhat');
    const p = ctx.emit('Mul', [dy, xhat], {}, xd, 'bn_dyxh');
    dGamma = ctx.reduceSum(p, xd.map((_, i) => i).filter((i) => i !== 1), false, xd);
  }
  let dX: string | undefined;
  if (needX) {
    const k1 = ctx.emit('Mul', [scale, invstd!], {}, [C], 'bn_k1');
    const negK1M = ctx.emit('Mul', [k1, ctx.scalar(-1 / M)], {}, [C], 'bn_nk1m');
    const a = ctx.emit('Mul', [negK1M, dGamma!], {}, [C], 'bn_a');
    const b = ctx.emit('Mul', [negK1M, dBeta], {}, [C], 'bn_b');
    const t1 = ctx.emit('Mul', [dy, ctx.reshape(k1, bc)], {}, xd, 'bn_t1');
    const t2 = ctx.emit('Mul', [xhat!, ctx.reshape(a, bc)], {}, xd, 'bn_t2');
    const t3 = ctx.emit('Add', [t1, t2], {}, xd, 'bn_t3');
    dX = ctx.emit('Add', [t3, ctx.reshape(b, bc)], {}, xd, `dX_${x}`);
  }
  return [dX, needG ? dGamma : undefined, needB ? dBeta : undefined];
};

export const normRules: Record<string, GradRule> = { BatchNormalization: batchNormTrainGrad };

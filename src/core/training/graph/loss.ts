/**
 * Losses over logits Z [N, K] (doc §3.6), each emitting the scalar `loss` (mean over the batch) and the
 * seed gradient dZ:
 * - `ce`, no smoothing: SoftmaxCrossEntropyLoss (its log-prob output gives the softmax for
 *   dZ = (softmax(Z) − onehot) / N);
 * - `ce` with label smoothing ε: q = (1 − ε)·onehot + ε/K, loss = −Σ q ⊙ logsoftmax(Z) / N,
 *   dZ = (softmax(Z) − q) / N;
 * - `kl` (distillation against teacher logits T_z, temperature τ, Hinton et al.):
 *   p_t = softmax(T_z/τ), loss_kd = τ² · Σ p_t ⊙ (log p_t − logsoftmax(Z/τ)) / N,
 *   dZ_kd = τ · (softmax(Z/τ) − p_t) / N. With `kdAlpha` α < 1 the loss is α·loss_kd + (1 − α)·loss_ce.
 */
import { GradContext } from './context';

export interface LossSpec {
  kind: 'ce' | 'kl';
  labelSmoothing: number;
  temperature: number;
  kdAlpha: number;
}

interface Term {
  loss: string;
  dZ: string;
}

function oneHot(ctx: GradContext, labels: string, N: number, K: number): string {
  const values = ctx.f32([0, 1], [2], 'onehot_values');
  return ctx.emit('OneHot', [labels, ctx.i64([K], [1]), values], { axis: -1 }, [N, K], 'onehot');
}

function crossEntropy(ctx: GradContext, z: string, labels: string, N: number, K: number, eps: number): Term {
  if (eps === 0) {
    const [loss, logp] = ctx.emitN('SoftmaxCrossEntropyLoss', [z, labels], 2, { reduction: 'mean' }, 'ce');
    ctx.setDims(loss, []);
    ctx.setDims(logp, [N, K]);
    const p = ctx.emit('Exp', [logp], {}, [N, K], 'ce_p');
    const diff = ctx.emit('Sub', [p, oneHot(ctx, labels, N, K)], {}, [N, K], 'ce_diff');
    return { loss, dZ: ctx.emit('Mul', [diff, ctx.scalar(1 / N)], {}, [N, K], 'dZ_ce') };
  }
  const logp = ctx.emit('LogSoftmax', [z], { axis: 1 }, [N, K], 'ce_logp');
  const oh = oneHot(ctx, labels, N, K);
  const q = ctx.emit('Add', [ctx.emit('Mul', [oh, ctx.scalar(1 - eps)], {}, [N, K], 'ls_a'), ctx.scalar(eps / K)], {}, [N, K], 'ls_q');
  const ql = ctx.emit('Mul', [q, logp], {}, [N, K], 'ls_ql');
  const s = ctx.emit('ReduceSum', [ql], { keepdims: 0 }, [], 'ls_sum');
  const loss = ctx.emit('Mul', [s, ctx.scalar(-1 / N)], {}, [], 'ls_loss');
  const p = ctx.emit('Exp', [logp], {}, [N, K], 'ls_p');
  const diff = ctx.emit('Sub', [p, q], {}, [N, K], 'ls_diff');
  return { loss, dZ: ctx.emit('Mul', [diff, ctx.scalar(1 / N)], {}, [N, K], 'dZ_ls') };
}

function distillation(ctx: GradContext, z: string, teacher: string, N: number, K: number, tau: number): Term {
  const inv = ctx.scalar(1 / tau);
  const lps = ctx.emit('LogSoftmax', [ctx.emit('Mul', [z, inv], {}, [N, K], 'kd_zs')], { axis: 1 }, [N, K], 'kd_lps');
  const lpt = ctx.emit('LogSoftmax', [ctx.emit('Mul', [teacher, inv], {}, [N, K], 'kd_ts')], { axis: 1 }, [N, K], 'kd_lpt');
  const pt = ctx.emit('Exp', [lpt], {}, [N, K], 'kd_pt');
  const d = ctx.emit('Sub', [lpt, lps], {}, [N, K], 'kd_d');
  const s = ctx.emit('ReduceSum', [ctx.emit('Mul', [pt, d], {}, [N, K], 'kd_pd')], { keepdims: 0 }, [], 'kd_sum');
  const loss = ctx.emit('Mul', [s, ctx.scalar((tau * tau) / N)], {}, [], 'kd_loss');
  const ps = ctx.emit('Exp', [lps], {}, [N, K], 'kd_ps');
  const diff = ctx.emit('Sub', [ps, pt], {}, [N, K], 'kd_diff');
  return { loss, dZ: ctx.emit('Mul', [diff, ctx.scalar(tau / N)], {}, [N, K], 'dZ_kd') };
}

/**
 * Emit the loss into `ctx`; the scalar loss is written to `lossName`. Returns dZ.
 * `teacher` is required for `kl`.
 */
export function emitLoss(ctx: GradContext, spec: LossSpec, z: string, labels: string, teacher: string | undefined, lossName: string): string {
  const [N, K] = ctx.shape(z);
  let term: Term;
  if (spec.kind === 'ce') {
    term = crossEntropy(ctx, z, labels, N, K, spec.labelSmoothing);
  } else {
    if (!teacher) throw new Error('internal: kl loss without teacher logits');
    const kd = distillation(ctx, z, teacher, N, K, spec.temperature);
    if (spec.kdAlpha >= 1) {
      term = kd;
    } else {
      const ce = crossEntropy(ctx, z, labels, N, K, spec.labelSmoothing);
      const a = ctx.scalar(spec.kdAlpha);
      const b = ctx.scalar(1 - spec.kdAlpha);
      const mix = (x: string, y: string, dims: number[], base: string) =>
        ctx.emit('Add', [ctx.emit('Mul', [x, a], {}, dims, `${base}_a`), ctx.emit('Mul', [y, b], {}, dims, `${base}_b`)], {}, dims, base);
      term = { loss: mix(kd.loss, ce.loss, [], 'mix_loss'), dZ: mix(kd.dZ, ce.dZ, [N, K], 'dZ_mix') };
    }
  }
  // Write the loss under its public name.
  const producer = ctx.nodes.find((n) => (n.output ?? []).includes(term.loss));
  ctx.reserve(lossName);
  producer!.output = producer!.output!.map((o) => (o === term.loss ? lossName : o));
  ctx.setDims(lossName, []);
  return term.dZ;
}

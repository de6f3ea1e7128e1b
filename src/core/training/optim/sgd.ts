/**
 * SGD with momentum, in the reference order of spec §6 (PyTorch's torch.optim.SGD with dampening 0):
 *
 *   g = G + wd·W        (G already holds the SR-STE decay the caller added; wd only where param.decay)
 *   v = μ·v + g         (v = g on a parameter's first step)
 *   W = W − lr·v        or, Nesterov, W = W − lr·(g + μ·v)
 *
 * With μ = 0 there is no buffer and W = W − lr·g. The gradient array is read, never written.
 */
import { inputError, usageError } from '../../errors';
import { OptimParam, checkParam } from './param';
import { Optimizer, OptimizerState, checkBufferSize, checkStateKind } from './state';

export interface SgdOptions {
  /** μ, default 0.9 (the reference recipe). */
  momentum?: number;
  nesterov?: boolean;
  /** Applied to parameters with decay: true; default 0. */
  weightDecay?: number;
}

export class Sgd implements Optimizer {
  readonly kind = 'sgd' as const;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private buffers = new Map<string, Float32Array>();
  private steps = new Map<string, number>();

  constructor(options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0.9;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw usageError(`momentum must be in [0, 1), got ${this.momentum}`);
    if (!(this.weightDecay >= 0 && Number.isFinite(this.weightDecay))) throw usageError(`weight decay must be ≥ 0, got ${this.weightDecay}`);
    if (this.nesterov && this.momentum === 0) throw usageError('Nesterov momentum needs a momentum > 0');
  }

  step(params: readonly OptimParam[], lr: number): void {
    if (!(lr >= 0 && Number.isFinite(lr))) throw usageError(`learning rate must be a finite number ≥ 0, got ${lr}`);
    for (const p of params) {
      checkParam(p);
      this.update(p, lr);
      this.steps.set(p.name, (this.steps.get(p.name) ?? 0) + 1);
    }
  }

  /** One tight loop per tensor; branches are hoisted out of the loops. */
  private update(p: OptimParam, lr: number): void {
    const W = p.data;
    const G = p.grad;
    const n = W.length;
    const wd = p.decay ? this.weightDecay : 0;
    const mu = this.momentum;
    if (mu === 0) {
      for (let i = 0; i < n; i++) W[i] -= lr * (G[i] + wd * W[i]);
      return;
    }
    let v = this.buffers.get(p.name);
    if (v === undefined) {
      // First step: v = g, so W moves by lr·g (or lr·(1 + μ)·g with Nesterov).
      v = new Float32Array(n);
      this.buffers.set(p.name, v);
      for (let i = 0; i < n; i++) {
        const g = G[i] + wd * W[i];
        v[i] = g;
        W[i] -= this.nesterov ? lr * (g + mu * v[i]) : lr * v[i];
      }
      return;
    }
    checkBufferSize(v, p.name, n);
    if (this.nesterov) {
      for (let i = 0; i < n; i++) {
        const g = G[i] + wd * W[i];
        v[i] = mu * v[i] + g;
        W[i] -= lr * (g + mu * v[i]);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const vi = Math.fround(mu * v[i] + (G[i] + wd * W[i]));
        v[i] = vi;
        W[i] -= lr * vi;
      }
    }
  }

  state(): OptimizerState {
    const tensors: Record<string, Float32Array> = {};
    for (const [name, v] of this.buffers) tensors[`momentum/${name}`] = v;
    return {
      kind: 'sgd',
      hyper: { momentum: this.momentum, nesterov: this.nesterov, weightDecay: this.weightDecay },
      steps: Object.fromEntries(this.steps),
      tensors,
    };
  }

  loadState(state: OptimizerState): void {
    checkStateKind(state, 'sgd');
    this.buffers = new Map();
    for (const [key, v] of Object.entries(state.tensors)) {
      if (!key.startsWith('momentum/')) throw inputError(undefined, `unexpected SGD state tensor '${key}'`);
      this.buffers.set(key.slice('momentum/'.length), Float32Array.from(v));
    }
    this.steps = new Map(Object.entries(state.steps));
  }
}

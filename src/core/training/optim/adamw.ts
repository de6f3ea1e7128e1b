/**
 * AdamW (Loshchilov & Hutter), as torch.optim.AdamW computes it (amsgrad off):
 *
 *   W = W · (1 − lr·wd)                 decoupled decay, only where param.decay
 *   m = β1·m + (1 − β1)·g
 *   v = β2·v + (1 − β2)·g²
 *   W = W − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 *
 * t counts each parameter's own updates, so a parameter that joins later starts its bias correction afresh.
 */
import { inputError, usageError } from '../../errors';
import { OptimParam, checkParam } from './param';
import { Optimizer, OptimizerState, checkBufferSize, checkStateKind } from './state';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Default 0.01, PyTorch's. */
  weightDecay?: number;
}

export class AdamW implements Optimizer {
  readonly kind = 'adamw' as const;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private m = new Map<string, Float32Array>();
  private v = new Map<string, Float32Array>();
  private steps = new Map<string, number>();

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    for (const [name, b] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw usageError(`AdamW ${name} must be in [0, 1), got ${b}`);
    }
    if (!(this.eps > 0)) throw usageError(`AdamW eps must be > 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0 && Number.isFinite(this.weightDecay))) throw usageError(`weight decay must be ≥ 0, got ${this.weightDecay}`);
  }

  step(params: readonly OptimParam[], lr: number): void {
    if (!(lr >= 0 && Number.isFinite(lr))) throw usageError(`learning rate must be a finite number ≥ 0, got ${lr}`);
    for (const p of params) {
      checkParam(p);
      this.update(p, lr);
    }
  }

  private update(p: OptimParam, lr: number): void {
    const W = p.data;
    const G = p.grad;
    const n = W.length;
    let m = this.m.get(p.name);
    let v = this.v.get(p.name);
    if (m === undefined || v === undefined) {
      m = new Float32Array(n);
      v = new Float32Array(n);
      this.m.set(p.name, m);
      this.v.set(p.name, v);
    }
    checkBufferSize(m, p.name, n);
    checkBufferSize(v, p.name, n);
    const t = (this.steps.get(p.name) ?? 0) + 1;
    this.steps.set(p.name, t);
    const b1 = this.beta1;
    const b2 = this.beta2;
    const keep = p.decay ? 1 - lr * this.weightDecay : 1;
    const stepSize = lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    const eps = this.eps;
    for (let i = 0; i < n; i++) {
      const g = G[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      W[i] = W[i] * keep - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
    }
  }

  state(): OptimizerState {
    const tensors: Record<string, Float32Array> = {};
    for (const [name, m] of this.m) tensors[`exp_avg/${name}`] = m;
    for (const [name, v] of this.v) tensors[`exp_avg_sq/${name}`] = v;
    return {
      kind: 'adamw',
      hyper: { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay },
      steps: Object.fromEntries(this.steps),
      tensors,
    };
  }

  loadState(state: OptimizerState): void {
    checkStateKind(state, 'adamw');
    this.m = new Map();
    this.v = new Map();
    for (const [key, t] of Object.entries(state.tensors)) {
      const slash = key.indexOf('/');
      const kind = key.slice(0, slash);
      const name = key.slice(slash + 1);
      if (kind === 'exp_avg') this.m.set(name, Float32Array.from(t));
      else if (kind === 'exp_avg_sq') this.v.set(name, Float32Array.from(t));
      else throw inputError(undefined, `unexpected AdamW state tensor '${key}'`);
    }
    this.steps = new Map(Object.entries(state.steps));
  }
}

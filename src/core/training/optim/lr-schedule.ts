/**
 * Learning-rate schedules, as a pure function of (epoch, step within epoch) so a resumed run gets exactly the
 * rates an uninterrupted one would.
 *
 *   constant  lr = base
 *   cosine    lr = min + (base − min) · ½(1 + cos(π·τ)), τ = e/E per epoch (the reference recipe of spec §9:
 *             0.1 · ½(1 + cos(π·e/120))) or τ = global step / (E·S) per step
 *   step      lr = base · γ^⌊e / k⌋
 *
 * Optional linear warmup multiplies any of them by min(1, (global step + 1) / warmup steps) during the first
 * `warmupEpochs` (may be fractional): the underlying schedule keeps running on its own clock, so warmup never
 * shifts where the decay ends.
 */
import { usageError } from '../../errors';

export type LrScheduleKind = 'constant' | 'cosine' | 'step';

export interface LrScheduleConfig {
  kind: LrScheduleKind;
  baseLr: number;
  epochs: number;
  stepsPerEpoch: number;
  /** cosine: recompute per epoch (default, the reference) or per step. */
  per?: 'epoch' | 'step';
  /** cosine: the floor reached at the end; default 0. */
  minLr?: number;
  /** step: decay every k epochs. */
  stepEvery?: number;
  /** step: multiplier per decay; default 0.1. */
  gamma?: number;
  warmupEpochs?: number;
}

export class LrSchedule {
  readonly config: Readonly<LrScheduleConfig>;
  private readonly warmupSteps: number;

  constructor(config: LrScheduleConfig) {
    const c = config;
    if (!(c.baseLr >= 0 && Number.isFinite(c.baseLr))) throw usageError(`learning rate must be a finite number ≥ 0, got ${c.baseLr}`);
    if (!Number.isInteger(c.epochs) || c.epochs < 1) throw usageError(`epochs must be a positive integer, got ${c.epochs}`);
    if (!Number.isInteger(c.stepsPerEpoch) || c.stepsPerEpoch < 1) throw usageError(`steps per epoch must be a positive integer, got ${c.stepsPerEpoch}`);
    if (c.kind === 'cosine') {
      const min = c.minLr ?? 0;
      if (!(min >= 0 && min <= c.baseLr)) throw usageError(`minimum learning rate must be in [0, ${c.baseLr}], got ${min}`);
    } else if (c.kind === 'step') {
      if (!Number.isInteger(c.stepEvery) || (c.stepEvery as number) < 1) throw usageError(`step schedule needs a decay interval ≥ 1 epoch, got ${c.stepEvery}`);
      const g = c.gamma ?? 0.1;
      if (!(g > 0 && g <= 1)) throw usageError(`step schedule gamma must be in (0, 1], got ${g}`);
    } else if (c.kind !== 'constant') {
      throw usageError(`unknown learning-rate schedule '${String(c.kind)}' (constant, cosine or step)`);
    }
    const w = c.warmupEpochs ?? 0;
    if (!(w >= 0 && w <= c.epochs)) throw usageError(`warmup must be between 0 and ${c.epochs} epochs, got ${w}`);
    this.config = { ...c };
    this.warmupSteps = w > 0 ? Math.max(1, Math.round(w * c.stepsPerEpoch)) : 0;
  }

  /** The rate for step `step` (0-based) of epoch `epoch` (0-based). */
  at(epoch: number, step = 0): number {
    const c = this.config;
    const globalStep = epoch * c.stepsPerEpoch + step;
    let lr: number;
    switch (c.kind) {
      case 'constant':
        lr = c.baseLr;
        break;
      case 'cosine': {
        const tau = (c.per ?? 'epoch') === 'epoch' ? epoch / c.epochs : globalStep / (c.epochs * c.stepsPerEpoch);
        const min = c.minLr ?? 0;
        lr = min + (c.baseLr - min) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, tau)));
        break;
      }
      case 'step':
        lr = c.baseLr * (c.gamma ?? 0.1) ** Math.floor(epoch / (c.stepEvery as number));
        break;
    }
    if (globalStep < this.warmupSteps) lr *= (globalStep + 1) / this.warmupSteps;
    return lr;
  }
}

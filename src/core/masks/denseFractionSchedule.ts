/**
 * Incremental sparsity schedule, first half (spec §4.1): the dense-block fraction p as a function of the epoch.
 * p = 1 before decay_start (every block dense), decays to 0 at decay_end (every block N:M), and then stays 0.
 *
 * Epochs may be fractional. The product evaluates p every training step at e = step / steps_per_epoch (spec §8.2)
 * with the same formulas and a continuous x = (e − s)/(t − s); the reference's per-epoch stepping is
 * `atStep(..., 'epoch')` or `at(Math.floor(e))`. At integer epochs both agree with the table of §4.1.
 *
 * Edge rules (all continuous in the sense that they reduce to the spec at integer epochs):
 * - s = t = 0: no schedule, p = 0 at every epoch.
 * - s = t ≠ 0: a step, p = 1 for e < s and 0 from t.
 * - exp reaches 0 at e = t − 1 and stays 0 on [t − 1, t): numerator and denominator of the formula are the same
 *   expression there, so the value is exactly 0, and the formula would go negative after it.
 * - exp with t − s = 1: p = 1 on the whole window [s, t) and 0 from t (the spec's p(s) = 1, p(t) = 0; the
 *   reference divides 0 by 0 here).
 */
import { usageError } from '../errors';
import { ScheduleGranularity, ScheduleKind } from '../types';

export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['linear', 'cubic', 'cos', 'exp'];

export interface DenseFractionScheduleOptions {
  kind: ScheduleKind;
  /** s: first epoch of the decay (0-based). */
  decayStart: number;
  /** t: first epoch with p = 0. */
  decayEnd: number;
  /** E: total epochs of the run. */
  totalEpochs: number;
}

/** Rate of the exp schedule (spec §4.1). */
const EXP_RATE = 0.05;

export class DenseFractionSchedule {
  readonly kind: ScheduleKind;
  readonly decayStart: number;
  readonly decayEnd: number;
  readonly totalEpochs: number;

  constructor(opts: DenseFractionScheduleOptions) {
    const kind = DenseFractionSchedule.parseKind(opts.kind);
    const { decayStart: s, decayEnd: t, totalEpochs: E } = opts;
    if (!Number.isInteger(E) || E < 1) throw usageError(`total epochs must be an integer ≥ 1, got ${E}`);
    if (!Number.isInteger(s) || s < 0) throw usageError(`decay start must be an integer ≥ 0, got ${s}`);
    if (!Number.isInteger(t) || t < 0) throw usageError(`decay end must be an integer ≥ 0, got ${t}`);
    if (s > t) throw usageError(`decay start ${s} is after decay end ${t}`);
    if (t >= E) throw usageError(`decay end ${t} must be before the last epoch (0-based epochs < ${E})`);
    this.kind = kind;
    this.decayStart = s;
    this.decayEnd = t;
    this.totalEpochs = E;
  }

  /** Validates a schedule name from user input. */
  static parseKind(name: string): ScheduleKind {
    if (!(SCHEDULE_KINDS as readonly string[]).includes(name)) {
      throw usageError(`unknown schedule '${name}' (use ${SCHEDULE_KINDS.join(', ')})`);
    }
    return name as ScheduleKind;
  }

  /** No schedule: p = 0 throughout (the reference's default s = t = 0). */
  static none(totalEpochs: number, kind: ScheduleKind = 'linear'): DenseFractionSchedule {
    return new DenseFractionSchedule({ kind, decayStart: 0, decayEnd: 0, totalEpochs });
  }

  /**
   * The product default for a fine-tune of `epochs` epochs (spec §8.2): linear, s = 0, t = ceil(0.25·epochs).
   * When that t is not below E (E = 1) there is no room for a decay and the result is `none`.
   */
  static defaultForFineTune(epochs: number): DenseFractionSchedule {
    if (!Number.isInteger(epochs) || epochs < 1) throw usageError(`epochs must be an integer ≥ 1, got ${epochs}`);
    const t = Math.ceil(0.25 * epochs);
    if (t >= epochs) return DenseFractionSchedule.none(epochs);
    return new DenseFractionSchedule({ kind: 'linear', decayStart: 0, decayEnd: t, totalEpochs: epochs });
  }

  /**
   * A run's schedule from its options: nothing given → defaultForFineTune; otherwise the given values, with the
   * default window (0 → ⌈E/4⌉) fitted to a short run for whatever was not given. A given decay end at or past the
   * last epoch is refused (spec §4.1), never moved.
   */
  static forRun(o: { epochs: number; kind?: ScheduleKind; decayStart?: number; decayEnd?: number }): DenseFractionSchedule {
    if (o.kind === undefined && o.decayStart === undefined && o.decayEnd === undefined) return DenseFractionSchedule.defaultForFineTune(o.epochs);
    const start = o.decayStart ?? 0;
    const end = o.decayEnd ?? Math.max(start, Math.min(Math.ceil(0.25 * o.epochs), o.epochs - 1));
    return new DenseFractionSchedule({ kind: o.kind ?? 'linear', decayStart: start, decayEnd: end, totalEpochs: o.epochs });
  }

  /** True when p is 0 everywhere (s = t = 0). */
  get isNone(): boolean {
    return this.decayStart === 0 && this.decayEnd === 0;
  }

  /** p at epoch `e` (0 ≤ e < E, fractional allowed), in doubles. */
  at(e: number): number {
    if (typeof e !== 'number' || !Number.isFinite(e) || e < 0 || e >= this.totalEpochs) {
      throw usageError(`epoch ${e} is outside [0, ${this.totalEpochs})`);
    }
    const s = this.decayStart;
    const t = this.decayEnd;
    if (s === 0 && t === 0) return 0;
    if (e < s) return 1;
    if (e >= t) return 0;
    // Here s ≤ e < t, so t > s.
    const x = (e - s) / (t - s);
    switch (this.kind) {
      case 'linear':
        return 1 - x;
      case 'cubic':
        return Math.pow(1 - x, 3);
      case 'cos':
        return Math.cos((x * Math.PI) / 2);
      case 'exp': {
        if (t - s === 1) return 1;
        if (e >= t - 1) return 0;
        return 1 - expRamp(e - s) / expRamp(t - s - 1);
      }
    }
  }

  /**
   * p for optimizer step `globalStep` (0-based, counted over the whole run). 'step' evaluates at the fractional
   * epoch step / stepsPerEpoch (product default); 'epoch' holds p constant within an epoch (reference).
   */
  atStep(globalStep: number, stepsPerEpoch: number, granularity: ScheduleGranularity = 'step'): number {
    if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) throw usageError(`steps per epoch must be an integer ≥ 1, got ${stepsPerEpoch}`);
    if (!Number.isInteger(globalStep) || globalStep < 0) throw usageError(`step must be an integer ≥ 0, got ${globalStep}`);
    const e = granularity === 'epoch' ? Math.floor(globalStep / stepsPerEpoch) : globalStep / stepsPerEpoch;
    return this.at(e);
  }

  toJSON(): DenseFractionScheduleOptions {
    return { kind: this.kind, decayStart: this.decayStart, decayEnd: this.decayEnd, totalEpochs: this.totalEpochs };
  }
}

/** 1 − exp(−0.05·d): numerator and denominator of the exp schedule use this one expression (exact 0 at t − 1). */
function expRamp(d: number): number {
  return 1 - Math.exp(-EXP_RATE * d);
}

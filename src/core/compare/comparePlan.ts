/**
 * The list of sparsify runs a comparison makes, in the order they run and are shown. Per pattern and method:
 * one-shot without and with BN re-estimation (deterministic: run once, with the first seed), then — when the
 * budget has epochs — a fine-tune per seed: magnitude and SR-STE fully N:M from the first step (no schedule, the
 * usual baselines), MaxQ once per schedule variant. Each run carries the sparsify options that reproduce it.
 */
import { DenseFractionSchedule, DenseFractionScheduleOptions } from '../masks/denseFractionSchedule';
import { SparsifyOptions } from '../sparsify/options';
import { MaskMethod } from '../types';
import { CheckedCompareOptions, ScheduleVariant } from './compareOptions';

export type RunKind = 'one-shot' | 'one-shot-bn' | 'fine-tune';

/** The sparsify options that make a run what it is (model, output, data and the shared budget aside). */
export type RunRecipe = Pick<SparsifyOptions, 'pattern' | 'method' | 'epochs' | 'bnRecalibrate' | 'schedule' | 'decayStart' | 'decayEnd'>;

export interface PlannedRun {
  /** Identifies the table row the run belongs to (all seeds of one configuration share it). */
  key: string;
  pattern: string;
  method: MaskMethod;
  kind: RunKind;
  /** Fine-tunes only: which dense-fraction schedule (magnitude and SR-STE always 'none'). */
  scheduleVariant: ScheduleVariant | null;
  /** The schedule as it runs (fine-tunes only). */
  schedule: DenseFractionScheduleOptions | null;
  seed: number;
  /** One-shot runs give the same result for every seed, so they run once. */
  deterministic: boolean;
  /** Human-readable variant, e.g. "fine-tune, default schedule (linear 0→1)". */
  label: string;
  recipe: RunRecipe;
}

export function rowKey(pattern: string, method: MaskMethod, kind: RunKind, variant: ScheduleVariant | null): string {
  return [pattern, method, kind, variant].filter((s) => s !== null).join(' ');
}

/** The schedule a variant means for a fine-tune of `epochs` epochs. */
export function resolveSchedule(variant: ScheduleVariant, epochs: number): DenseFractionScheduleOptions {
  return (variant === 'default' ? DenseFractionSchedule.defaultForFineTune(epochs) : DenseFractionSchedule.none(epochs)).toJSON();
}

function fineTuneLabel(variant: ScheduleVariant, s: DenseFractionScheduleOptions): string {
  if (variant === 'none') return 'fine-tune, no schedule';
  if (s.decayStart === 0 && s.decayEnd === 0) return `fine-tune, default schedule (= none at ${s.totalEpochs} epoch${s.totalEpochs === 1 ? '' : 's'})`;
  return `fine-tune, default schedule (${s.kind} ${s.decayStart}→${s.decayEnd})`;
}

function oneShot(pattern: string, method: MaskMethod, withBn: boolean, seed: number, bnBatches: number): PlannedRun {
  const kind: RunKind = withBn ? 'one-shot-bn' : 'one-shot';
  return {
    key: rowKey(pattern, method, kind, null), pattern, method, kind, scheduleVariant: null, schedule: null, seed, deterministic: true,
    label: withBn ? 'one-shot + BN re-estimation' : 'one-shot',
    recipe: { pattern, method, epochs: 0, bnRecalibrate: withBn ? bnBatches : false },
  };
}

function fineTune(pattern: string, method: MaskMethod, variant: ScheduleVariant, seed: number, epochs: number): PlannedRun {
  const schedule = resolveSchedule(variant, epochs);
  return {
    key: rowKey(pattern, method, 'fine-tune', variant), pattern, method, kind: 'fine-tune', scheduleVariant: variant, schedule, seed,
    deterministic: false, label: fineTuneLabel(variant, schedule),
    recipe: { pattern, method, epochs, schedule: schedule.kind, decayStart: schedule.decayStart, decayEnd: schedule.decayEnd },
  };
}

export function planRuns(o: CheckedCompareOptions): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const { epochs, bnBatches } = o.budget;
  for (const pattern of o.patterns) {
    for (const method of o.methods) {
      runs.push(oneShot(pattern, method, false, o.seeds[0], bnBatches), oneShot(pattern, method, true, o.seeds[0], bnBatches));
    }
    if (epochs === 0) continue;
    for (const method of o.methods) {
      const variants: ScheduleVariant[] = method === 'maxq' ? o.scheduleVariants : ['none'];
      for (const variant of variants) for (const seed of o.seeds) runs.push(fineTune(pattern, method, variant, seed, epochs));
    }
  }
  return runs;
}

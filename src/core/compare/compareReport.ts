/**
 * The report of a method comparison (`maxq compare`, written as JSON and charted by the extension): the config
 * and the machine, every run's numbers, and one row per configuration with mean ± std over its seeds.
 * Accuracies are fractions in [0, 1]; deltas are fractions too (sparse − dense of the same run).
 */
import { DenseFractionScheduleOptions } from '../masks/denseFractionSchedule';
import { MaskMethod, RunSummary } from '../types';
import { CheckedCompareOptions, ScheduleVariant } from './compareOptions';
import { PlannedRun, RunKind, RunRecipe } from './comparePlan';
import { CompareEnvironment } from './environment';
import { CompareMetric, EvaluationSet } from './evaluationSet';
import { SeedStats, seedStats } from './stats';

/** The comparison as it ran: the checked options less the model (a field of its own) and the temp folder. */
export type CompareConfig = Omit<CheckedCompareOptions, 'model' | 'tempRoot'>;

/** One sparsify run of the comparison. */
export interface CompareRun {
  key: string;
  pattern: string;
  method: MaskMethod;
  kind: RunKind;
  scheduleVariant: ScheduleVariant | null;
  seed: number;
  denseAccuracy: number | null;
  /** Accuracy (or agreement with dense) of the sparse model. */
  accuracy: number | null;
  /** accuracy − denseAccuracy, measured on the same samples. */
  delta: number | null;
  /** Wall-clock seconds of the whole sparsify run (evaluations, write and validation included). */
  seconds: number;
  /** CPU seconds this process spent meanwhile, all threads: steadier than wall time on a busy machine. */
  cpuSeconds: number;
  sparsifiedLayers: number;
  validationPass: boolean;
}

/** One configuration (pattern × method × variant) over its seeds. */
export interface CompareRow {
  key: string;
  pattern: string;
  method: MaskMethod;
  kind: RunKind;
  scheduleVariant: ScheduleVariant | null;
  schedule: DenseFractionScheduleOptions | null;
  label: string;
  deterministic: boolean;
  seeds: number[];
  accuracy: SeedStats | null;
  delta: SeedStats | null;
  seconds: SeedStats;
  cpuSeconds: SeedStats;
  /** Every run's output passed `maxq validate` for the pattern. */
  validationPass: boolean;
  /** The sparsify options that reproduce this row (add model, data, the budget and a seed). */
  recipe: RunRecipe;
}

export interface CompareReport {
  version: 1;
  kind: 'maxq-compare';
  createdAt: string;
  model: string;
  config: CompareConfig;
  environment: CompareEnvironment;
  metric: CompareMetric;
  evaluation: EvaluationSet;
  /** The dense model on the one-shot runs' samples. */
  dense: { accuracy: number | null };
  rows: CompareRow[];
  runs: CompareRun[];
  /** Things a reader must know to read the numbers right. */
  notes: string[];
  totalSeconds: number;
  totalCpuSeconds: number;
}

export function runResult(planned: PlannedRun, summary: RunSummary, cpuSeconds: number): CompareRun {
  const { denseAccuracy, finalAccuracy } = summary;
  return {
    key: planned.key, pattern: planned.pattern, method: planned.method, kind: planned.kind, scheduleVariant: planned.scheduleVariant,
    seed: planned.seed, denseAccuracy, accuracy: finalAccuracy,
    delta: denseAccuracy !== null && finalAccuracy !== null ? finalAccuracy - denseAccuracy : null,
    seconds: summary.seconds, cpuSeconds, sparsifiedLayers: summary.sparsifiedLayers, validationPass: summary.validationPass,
  };
}

function numbers(values: (number | null)[]): number[] {
  return values.filter((v): v is number => v !== null);
}

/** One row per planned configuration, in plan order, from the runs that belong to it. */
export function summarizeRows(plan: readonly PlannedRun[], runs: readonly CompareRun[]): CompareRow[] {
  const rows: CompareRow[] = [];
  const seen = new Set<string>();
  for (const p of plan) {
    if (seen.has(p.key)) continue;
    seen.add(p.key);
    const mine = runs.filter((r) => r.key === p.key);
    if (mine.length === 0) continue;
    rows.push({
      key: p.key, pattern: p.pattern, method: p.method, kind: p.kind, scheduleVariant: p.scheduleVariant, schedule: p.schedule,
      label: p.label, deterministic: p.deterministic, seeds: mine.map((r) => r.seed),
      accuracy: seedStats(numbers(mine.map((r) => r.accuracy))),
      delta: seedStats(numbers(mine.map((r) => r.delta))),
      seconds: seedStats(mine.map((r) => r.seconds))!,
      cpuSeconds: seedStats(mine.map((r) => r.cpuSeconds))!,
      validationPass: mine.every((r) => r.validationPass),
      recipe: p.recipe,
    });
  }
  return rows;
}

/**
 * What a method comparison is asked to do, and its check: the patterns × methods to run, how many seeds, the one
 * fine-tune budget every method gets, and the data. Checking resolves every default (from RUN_DEFAULTS) so the
 * report states exactly the budget that ran.
 */
import * as path from 'path';
import { usageError } from '../errors';
import { NmPattern } from '../masks/nmPattern';
import { RUN_DEFAULTS } from '../sparsify/defaults';
import { DataSpec, SparsifyOptions } from '../sparsify/options';
import { MaskMethod, ScheduleGranularity } from '../types';

export const COMPARE_METHODS: readonly MaskMethod[] = ['magnitude', 'srste', 'maxq'];

/** MaxQ's fine-tune runs once per variant: `default` = linear 0→ceil(0.25·E), per step; `none` = s = t = 0. */
export type ScheduleVariant = 'default' | 'none';
export const SCHEDULE_VARIANTS: readonly ScheduleVariant[] = ['default', 'none'];

export const COMPARE_DEFAULTS = {
  seeds: 3,
  epochs: 3,
  scheduleVariants: SCHEDULE_VARIANTS,
} as const;

/** Options every run of the comparison shares (data aside): the fine-tune budget and the layer selection. */
export type SharedRunOptions = Pick<
  SparsifyOptions,
  'batchSize' | 'lr' | 'optimizer' | 'momentum' | 'weightDecay' | 'labelSmoothing' | 'scheduleGranularity' | 'include' | 'exclude' | 'threads'
>;

export interface CompareOptions {
  model: string;
  /** "N:M" texts. */
  patterns: string[];
  /** Default: magnitude, srste, maxq. */
  methods?: string[];
  /** Number of fine-tune seeds (≥ 1); default 3. */
  seeds?: number;
  /** First seed; the fine-tunes use firstSeed … firstSeed + seeds − 1, the one-shot runs firstSeed. */
  firstSeed?: number;
  /** Fine-tune epochs (0: one-shot rows only); default 3. */
  epochs?: number;
  /** MaxQ fine-tune schedule variants; default both. */
  scheduleVariants?: string[];
  data: DataSpec;
  shared?: SharedRunOptions;
  /** BN re-estimation batches of the "one-shot + BN re-estimation" runs; default RUN_DEFAULTS.bnBatches. */
  bnBatches?: number;
  /** Where the temp folder of intermediate models is made; default the OS temp folder. */
  tempRoot?: string;
}

/** The budget after defaults: what every fine-tune of the comparison runs with. */
export interface ResolvedBudget {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: 'sgd' | 'adamw';
  momentum: number;
  weightDecay: number;
  labelSmoothing: number;
  scheduleGranularity: ScheduleGranularity;
  bnBatches: number;
}

export interface CheckedCompareOptions {
  model: string;
  /** Normalised ("2:4"), duplicates removed, in the given order. */
  patterns: string[];
  methods: MaskMethod[];
  seeds: number[];
  scheduleVariants: ScheduleVariant[];
  budget: ResolvedBudget;
  data: DataSpec;
  include?: string[];
  exclude?: string[];
  threads?: number;
  tempRoot?: string;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function checkWhole(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw usageError(`${name} must be a whole number ≥ ${min}, got ${value}`);
  return value;
}

function checkMethods(methods: readonly string[] | undefined): MaskMethod[] {
  const list = unique(methods ?? COMPARE_METHODS);
  if (list.length === 0) throw usageError(`give at least one method (${COMPARE_METHODS.join(', ')})`);
  for (const m of list) {
    if (!(COMPARE_METHODS as readonly string[]).includes(m)) throw usageError(`unknown method '${m}' (use ${COMPARE_METHODS.join(', ')})`);
  }
  return list as MaskMethod[];
}

function checkVariants(variants: readonly string[] | undefined): ScheduleVariant[] {
  const list = unique(variants ?? COMPARE_DEFAULTS.scheduleVariants);
  if (list.length === 0) throw usageError(`give at least one schedule variant (${SCHEDULE_VARIANTS.join(', ')})`);
  for (const v of list) {
    if (!(SCHEDULE_VARIANTS as readonly string[]).includes(v)) throw usageError(`unknown schedule variant '${v}' (use ${SCHEDULE_VARIANTS.join(', ')})`);
  }
  return list as ScheduleVariant[];
}

function resolveBudget(epochs: number, shared: SharedRunOptions, bnBatches: number | undefined): ResolvedBudget {
  const optimizer = shared.optimizer ?? 'sgd';
  if (optimizer !== 'sgd' && optimizer !== 'adamw') throw usageError(`optimizer must be sgd or adamw, got '${optimizer}'`);
  const granularity = shared.scheduleGranularity ?? 'step';
  if (granularity !== 'step' && granularity !== 'epoch') throw usageError(`schedule granularity must be step or epoch, got '${granularity}'`);
  return {
    epochs,
    batchSize: checkWhole('batch size', shared.batchSize ?? RUN_DEFAULTS.batchSize, 1),
    lr: shared.lr ?? (optimizer === 'adamw' ? RUN_DEFAULTS.adamwLr : RUN_DEFAULTS.sgdLr),
    optimizer,
    momentum: shared.momentum ?? RUN_DEFAULTS.momentum,
    weightDecay: shared.weightDecay ?? RUN_DEFAULTS.weightDecay,
    labelSmoothing: shared.labelSmoothing ?? 0,
    scheduleGranularity: granularity,
    bnBatches: checkWhole('BN re-estimation batches', bnBatches ?? RUN_DEFAULTS.bnBatches, 1),
  };
}

export function checkCompareOptions(opts: CompareOptions): CheckedCompareOptions {
  if (!opts.model) throw usageError('give the model to compare methods on');
  const patterns = unique((opts.patterns ?? []).map((p) => NmPattern.parse(p).toString()));
  if (patterns.length === 0) throw usageError('give at least one N:M pattern, e.g. --patterns 2:4,1:4');
  const methods = checkMethods(opts.methods);
  const count = checkWhole('--seeds', opts.seeds ?? COMPARE_DEFAULTS.seeds, 1);
  const firstSeed = checkWhole('--seed', opts.firstSeed ?? RUN_DEFAULTS.seed, 0);
  const epochs = checkWhole('--epochs', opts.epochs ?? COMPARE_DEFAULTS.epochs, 0);
  const scheduleVariants = checkVariants(opts.scheduleVariants);
  if (!opts.data || opts.data.kind === 'none') {
    throw usageError('compare measures accuracy, so it needs data: give --inputs (with or without --labels), --images or --mnist-demo');
  }
  const shared = opts.shared ?? {};
  return {
    // Absolute paths: the report is read later from wherever it was saved.
    model: path.resolve(opts.model),
    patterns,
    methods,
    seeds: Array.from({ length: count }, (_, i) => firstSeed + i),
    scheduleVariants,
    budget: resolveBudget(epochs, shared, opts.bnBatches),
    data: absoluteData(opts.data),
    include: shared.include,
    exclude: shared.exclude,
    threads: shared.threads,
    tempRoot: opts.tempRoot,
  };
}

function absoluteData(d: DataSpec): DataSpec {
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(p));
  switch (d.kind) {
    case 'npy':
      return { ...d, inputs: path.resolve(d.inputs), labels: abs(d.labels), valInputs: abs(d.valInputs), valLabels: abs(d.valLabels) };
    case 'images':
      return { ...d, dir: path.resolve(d.dir), valDir: abs(d.valDir) };
    default:
      return d;
  }
}

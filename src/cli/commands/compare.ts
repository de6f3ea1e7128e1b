/**
 * maxq compare: one-shot (with and without BN re-estimation) and fine-tuned magnitude, SR-STE and MaxQ on the same
 * data and budget, for each N:M pattern; a table of mean ± std over seeds on stdout, a JSON report on disk,
 * progress on stderr. Data and budget flags mean exactly what they mean for `maxq sparsify` (parsed by its
 * optionsFromArgs).
 */
import * as fs from 'fs';
import * as path from 'path';
import { usageError } from '../../core/errors';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { compareMethods, CompareProgress } from '../../core/compare/compareMethods';
import { CompareOptions, SharedRunOptions } from '../../core/compare/compareOptions';
import { CompareReport } from '../../core/compare/compareReport';
import { compareTable, metricName } from '../../core/compare/compareTable';
import { list, num, onePositional, parse, Parsed, str } from '../args';
import { formatTable, ProgressLine } from '../format';
import { optionsFromArgs } from './sparsify';

export const usage = [
  'maxq compare <model.onnx> --patterns N:M[,N:M…] [--methods magnitude,srste,maxq] [--seeds 3] [--seed FIRST] [--epochs 3]',
  '    [--schedule-variants default,none] [--out <name>.compare.json] [--json]',
  '    [--inputs x.npy [--labels y.npy] [--val-inputs x.npy --val-labels y.npy] | --images DIR [--val-images DIR] | --mnist-demo]',
  '    [--normalize SCALE,MEAN,STD] [--batch B] [--lr LR] [--optimizer sgd|adamw] [--momentum M] [--weight-decay WD]',
  '    [--label-smoothing LS] [--schedule-granularity step|epoch] [--bn-recalibrate BATCHES] [--include NAMES] [--exclude NAMES] [--threads T]',
].join('\n');

/** Flags compare shares with sparsify: handed to sparsify's own parser. */
const SHARED_FLAGS = {
  inputs: { type: 'string' }, labels: { type: 'string' }, 'val-inputs': { type: 'string' }, 'val-labels': { type: 'string' },
  images: { type: 'string' }, 'val-images': { type: 'string' }, 'mnist-demo': { type: 'boolean' }, normalize: { type: 'string' },
  batch: { type: 'string' }, lr: { type: 'string' }, optimizer: { type: 'string' }, momentum: { type: 'string' },
  'weight-decay': { type: 'string' }, 'label-smoothing': { type: 'string' }, 'schedule-granularity': { type: 'string' },
  'bn-recalibrate': { type: 'string' }, include: { type: 'string' }, exclude: { type: 'string' }, threads: { type: 'string' },
  seed: { type: 'string' },
} as const;

const OPTIONS = {
  ...SHARED_FLAGS,
  patterns: { type: 'string' }, methods: { type: 'string' }, seeds: { type: 'string' }, epochs: { type: 'string' },
  'schedule-variants': { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
} as const;

export function compareOptionsFromArgs(p: Parsed): CompareOptions & { reportPath: string } {
  const model = onePositional(p, 'model file', usage);
  const patterns = list(p, 'patterns') ?? [];
  if (patterns.length === 0) throw usageError(`--patterns is required (e.g. --patterns 2:4,1:4)\nusage: ${usage}`);
  // sparsify's parser requires --pattern; the first pattern stands in (it only names sparsify's default output).
  const shared: Parsed = { positionals: [], values: { pattern: patterns[0] } };
  for (const k of Object.keys(SHARED_FLAGS)) if (p.values[k] !== undefined) shared.values[k] = p.values[k];
  const s = optionsFromArgs(shared, model);
  const sharedRun: SharedRunOptions = {
    batchSize: s.batchSize, lr: s.lr, optimizer: s.optimizer, momentum: s.momentum, weightDecay: s.weightDecay, labelSmoothing: s.labelSmoothing,
    scheduleGranularity: s.scheduleGranularity, include: s.include, exclude: s.exclude, threads: s.threads,
  };
  return {
    model,
    patterns,
    methods: list(p, 'methods'),
    seeds: num(p, 'seeds', { integer: true, min: 1 }),
    firstSeed: s.seed,
    epochs: num(p, 'epochs', { integer: true, min: 0 }),
    scheduleVariants: list(p, 'schedule-variants'),
    data: s.data ?? { kind: 'none' },
    shared: sharedRun,
    bnBatches: typeof s.bnRecalibrate === 'number' ? s.bnRecalibrate : undefined,
    // Beside the model by default, where the extension looks for it.
    reportPath: str(p, 'out') ?? model.replace(/(\.onnx)?$/i, '.compare.json'),
  };
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);

/** Progress on stderr: a line per run, a step bar on a terminal. */
function progressPrinter(): (p: CompareProgress) => void {
  const bar = new ProgressLine();
  let stepsPerEpoch = 0, epochs = 0;
  return (p) => {
    if (p.type === 'log') {
      process.stderr.write(`${p.level === 'warn' ? 'warning: ' : ''}${p.message}\n`);
    } else if (p.type === 'plan') {
      process.stderr.write(`compare: ${p.runs.length} runs\n`);
    } else if (p.type === 'run-start') {
      const r = p.run;
      process.stderr.write(`[${p.index + 1}/${p.total}] ${r.pattern} ${r.method}, ${r.label}${r.deterministic ? '' : `, seed ${r.seed}`}\n`);
    } else if (p.type === 'run-event') {
      const e = p.event;
      if (e.type === 'start') {
        stepsPerEpoch = e.stepsPerEpoch;
        epochs = e.epochs;
      } else if (e.type === 'step' && stepsPerEpoch > 0) {
        bar.update((e.epoch * stepsPerEpoch + e.step + 1) / (epochs * stepsPerEpoch), `epoch ${e.epoch + 1}/${epochs} loss ${e.loss.toFixed(4)}`);
      } else if (e.type === 'log' && e.level === 'warn') {
        bar.done();
        process.stderr.write(`  warning: ${e.message}\n`);
      }
    } else if (p.type === 'run-done') {
      bar.done();
      const r = p.result;
      process.stderr.write(`  → ${pct(r.accuracy)} (dense ${pct(r.denseAccuracy)}), ${r.seconds.toFixed(1)} s (${r.cpuSeconds.toFixed(1)} s CPU)${r.validationPass ? '' : ', VALIDATION FAILED'}\n`);
    }
  };
}

function printReport(report: CompareReport, reportPath: string): void {
  const dense = report.dense.accuracy;
  const table = compareTable(report);
  const out = [
    `dense ${metricName(report)}: ${dense === null ? 'n/a' : (dense * 100).toFixed(2)} (${report.evaluation.oneShot})`,
    '',
    formatTable(table.header, table.rows),
    '',
    ...report.notes.map((n) => `note: ${n}`),
    `report: ${reportPath} (${report.runs.length} runs, ${(report.totalSeconds / 60).toFixed(1)} min, ${(report.totalCpuSeconds / 60).toFixed(1)} CPU min)`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}

export async function compareCommand(argv: string[]): Promise<number> {
  const p = parse(argv, OPTIONS, usage);
  const { reportPath, ...options } = compareOptionsFromArgs(p);
  const dir = path.dirname(path.resolve(reportPath));
  if (!fs.existsSync(dir)) throw usageError(`the report's folder ${dir} does not exist`);
  const controller = new AbortController();
  // First Ctrl-C cancels cleanly (temp models removed); a second one exits at once (the exit hook still removes them).
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\ncancelling…\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const report = await compareMethods(options, progressPrinter(), controller.signal);
    await writeFileAtomic(reportPath, JSON.stringify(report, null, 1) + '\n');
    if (p.values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else printReport(report, reportPath);
    return report.runs.every((r) => r.validationPass) ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

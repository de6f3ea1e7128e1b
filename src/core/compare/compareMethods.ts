/**
 * `maxq compare` in the core: runs sparsify for every planned configuration (see comparePlan) on the same data
 * and budget, writing the intermediate models to a private temp folder that is always removed (success, error
 * or cancellation), and returns the report with every run and the mean ± std rows.
 */
import { batchNormCount } from '../bn/bnRecalibration';
import { NmPattern } from '../masks/nmPattern';
import { OnnxModel } from '../onnx/onnxModel';
import { throwIfCancelled } from '../sparsify/cancellation';
import { selectedLayers } from '../sparsify/layerMasks';
import { SparsifyOptions } from '../sparsify/options';
import { sparsify } from '../sparsify/sparsify';
import { RunEvent } from '../types';
import { CheckedCompareOptions, checkCompareOptions, CompareOptions } from './compareOptions';
import { PlannedRun, planRuns } from './comparePlan';
import { CompareReport, CompareRun, runResult, summarizeRows } from './compareReport';
import { describeEnvironment } from './environment';
import { describeEvaluation } from './evaluationSet';
import { reportNotes } from './reportNotes';
import { TempWorkspace } from './tempWorkspace';
import { resolveModelPreprocessing } from '../sparsify/modelPreprocessing';

export type CompareProgress =
  | { type: 'plan'; runs: PlannedRun[] }
  /** Said once for the whole comparison: where the data's preprocessing came from (see modelPreprocessing). */
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'run-start'; index: number; total: number; run: PlannedRun }
  /** An event of the sparsify run in progress (steps, epochs, phases). */
  | { type: 'run-event'; index: number; total: number; event: RunEvent }
  | { type: 'run-done'; index: number; total: number; run: PlannedRun; result: CompareRun };

export type CompareProgressSink = (p: CompareProgress) => void;

function sparsifyOptionsFor(o: CheckedCompareOptions, run: PlannedRun, out: string): SparsifyOptions {
  const b = o.budget;
  return {
    ...run.recipe,
    model: o.model, out, overwrite: true, data: o.data, seed: run.seed, threads: o.threads, include: o.include, exclude: o.exclude,
    batchSize: b.batchSize, lr: b.lr, optimizer: b.optimizer, momentum: b.momentum, weightDecay: b.weightDecay,
    labelSmoothing: b.labelSmoothing, scheduleGranularity: b.scheduleGranularity,
    // Reconciled with the model's metadata once, in compareMethods: no run repeats the notes.
    preprocessingResolved: true,
  };
}

/** CPU time of this process (user + system, every thread) since `from`. */
function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

/** Fails fast, before any run, on a pattern no layer of the model can take. */
function checkPatternsFit(model: OnnxModel, o: CheckedCompareOptions): void {
  for (const p of o.patterns) selectedLayers(model, { pattern: NmPattern.parse(p), include: o.include, exclude: o.exclude });
}

export async function compareMethods(options: CompareOptions, onProgress: CompareProgressSink = () => undefined, signal?: AbortSignal): Promise<CompareReport> {
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const environment = describeEnvironment();
  const checked = checkCompareOptions(options);
  const model = await OnnxModel.load(checked.model);
  // npy/image data without a normalisation takes the one the model records (a model a run wrote).
  const pre = resolveModelPreprocessing(model, checked.data);
  const o: CheckedCompareOptions = { ...checked, data: pre.data ?? checked.data };
  for (const note of pre.notes) onProgress({ type: 'log', level: note.level, message: note.message });
  checkPatternsFit(model, o);
  const evaluation = describeEvaluation(model, o.data, o.budget.epochs, o.seeds[0], o.budget.batchSize);
  const plan = planRuns(o);
  onProgress({ type: 'plan', runs: plan });
  const total = plan.length;
  const runs: CompareRun[] = [];
  const workspace = await TempWorkspace.create(o.tempRoot);
  try {
    for (let index = 0; index < total; index++) {
      throwIfCancelled(signal);
      const run = plan[index];
      onProgress({ type: 'run-start', index, total, run });
      const out = workspace.file(`run-${String(index + 1).padStart(4, '0')}.onnx`);
      const cpu = process.cpuUsage();
      const summary = await sparsify(sparsifyOptionsFor(o, run, out), (event) => onProgress({ type: 'run-event', index, total, event }), signal);
      const cpuSeconds = cpuSecondsSince(cpu);
      await workspace.removeFilesOf(out);
      const result = runResult(run, summary, cpuSeconds);
      runs.push(result);
      onProgress({ type: 'run-done', index, total, run, result });
    }
  } finally {
    await workspace.dispose();
  }
  return {
    version: 1,
    kind: 'maxq-compare',
    createdAt: new Date(started).toISOString(),
    model: o.model,
    config: {
      patterns: o.patterns, methods: o.methods, seeds: o.seeds, scheduleVariants: o.scheduleVariants, budget: o.budget, data: o.data,
      // Only what was given, so the report reads the same as its JSON.
      ...(o.include ? { include: o.include } : {}), ...(o.exclude ? { exclude: o.exclude } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}),
    },
    environment,
    metric: evaluation.metric,
    evaluation,
    dense: { accuracy: runs.find((r) => r.kind !== 'fine-tune')?.denseAccuracy ?? null },
    rows: summarizeRows(plan, runs),
    runs,
    notes: [...reportNotes(o, evaluation, batchNormCount(model)), ...pre.notes.map((n) => n.message)],
    totalSeconds: (Date.now() - started) / 1000,
    totalCpuSeconds: cpuSecondsSince(cpuAtStart),
  };
}

/** maxq sparsify: one-shot (epochs 0) or fine-tuned N:M sparsification, written beside the original. */
import { usageError } from '../../core/errors';
import { DataSpec, defaultOutputPath, SparsifyOptions } from '../../core/sparsify/options';
import { optionsFromRecipe, readRecipe } from '../../core/recipe/torchRecipe';
import { RunLogWriter } from '../../core/runlog/runLogWriter';
import { isCancelled } from '../../core/sparsify/cancellation';
import { sparsify } from '../../core/sparsify/sparsify';
import { failsNumericCheck } from '../../core/sparsify/runVerdict';
import { MaskMethod, RunEvent, ScheduleGranularity, ScheduleKind } from '../../core/types';
import { list, num, onePositional, parse, Parsed, requireStr, str } from '../args';
import { ProgressLine } from '../format';

export const usage = [
  'maxq sparsify <model.onnx> --pattern N:M [--method maxq|magnitude|srste] [--out <sparse.onnx>] [--force]',
  '    [--epochs K] [--batch B] [--lr LR] [--optimizer sgd|adamw] [--momentum M] [--nesterov] [--weight-decay WD]',
  '    [--lr-schedule cosine|step|constant] [--label-smoothing E] [--seed S] [--threads T]',
  '    [--schedule linear|cubic|cos|exp] [--decay-start S] [--decay-end E] [--schedule-granularity step|epoch]',
  '    [--inputs x.npy [--labels y.npy] [--val-inputs x.npy --val-labels y.npy] | --images DIR [--val-images DIR] | --mnist-demo]',
  '    [--normalize SCALE,MEAN,STD|none|unit|symmetric|imagenet|mnist] [--no-sanity-check]',
  '    [--bn-recalibrate BATCHES | --no-bn-recalibrate] [--no-run-norm]',
  '    [--include NAMES] [--exclude NAMES]',
  '    [--run-dir DIR] [--resume DIR] [--events run.jsonl] [--json]',
  'maxq sparsify --recipe maxq-recipe.json [--out <sparse.onnx>] [--force] [--threads T] [--events run.jsonl] [--json]',
  '    (the settings of a PyTorch recipe, run on this engine: the same fine-tune as maxq_torch.train --recipe)',
].join('\n');

export const SPARSIFY_OPTIONS = {
  pattern: { type: 'string' }, method: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' },
  epochs: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, optimizer: { type: 'string' },
  seed: { type: 'string' }, threads: { type: 'string' }, schedule: { type: 'string' }, 'decay-start': { type: 'string' },
  'decay-end': { type: 'string' }, 'schedule-granularity': { type: 'string' }, inputs: { type: 'string' }, labels: { type: 'string' },
  'val-inputs': { type: 'string' }, 'val-labels': { type: 'string' }, images: { type: 'string' }, 'val-images': { type: 'string' },
  'mnist-demo': { type: 'boolean' }, normalize: { type: 'string' }, 'bn-recalibrate': { type: 'string' }, 'no-bn-recalibrate': { type: 'boolean' },
  'no-run-norm': { type: 'boolean' }, 'no-sanity-check': { type: 'boolean' },
  include: { type: 'string' }, exclude: { type: 'string' }, 'run-dir': { type: 'string' }, resume: { type: 'string' }, json: { type: 'boolean' },
  'label-smoothing': { type: 'string' }, 'weight-decay': { type: 'string' }, momentum: { type: 'string' },
  nesterov: { type: 'boolean' }, 'lr-schedule': { type: 'string' }, recipe: { type: 'string' }, events: { type: 'string' },
} as const;

/** With --recipe, the recipe holds every run setting; only these may be given beside it. */
const WITH_RECIPE = new Set(['recipe', 'out', 'force', 'threads', 'events', 'json', 'run-dir', 'resume']);

function optionsFromRecipeArgs(p: Parsed, recipeFile: string): SparsifyOptions {
  const extra = Object.keys(p.values).filter((k) => p.values[k] !== undefined && !WITH_RECIPE.has(k));
  if (extra.length) throw usageError(`--recipe holds the run's settings; ${extra.map((k) => `--${k}`).join(', ')} cannot be given with it (edit the recipe instead)`);
  if (p.positionals.length) throw usageError(`--recipe names the model; drop ${p.positionals.join(' ')}`);
  const opts = optionsFromRecipe(readRecipe(recipeFile), recipeFile);
  return {
    ...opts,
    out: str(p, 'out') ?? opts.out,
    overwrite: Boolean(p.values.force),
    threads: num(p, 'threads', { integer: true, min: 0 }),
    runDir: str(p, 'run-dir'),
    resume: str(p, 'resume'),
  };
}

export function dataFromArgs(p: Parsed): DataSpec {
  const sources = [str(p, 'inputs'), str(p, 'images'), p.values['mnist-demo'] ? 'mnist' : undefined].filter(Boolean);
  if (sources.length > 1) throw usageError('give one data source: --inputs, --images or --mnist-demo');
  const normalize = str(p, 'normalize');
  if (str(p, 'inputs')) {
    return { kind: 'npy', inputs: str(p, 'inputs') as string, labels: str(p, 'labels'), valInputs: str(p, 'val-inputs'), valLabels: str(p, 'val-labels'), normalize };
  }
  if (str(p, 'labels')) throw usageError('--labels needs --inputs');
  if (str(p, 'images')) return { kind: 'images', dir: str(p, 'images') as string, valDir: str(p, 'val-images'), normalize };
  if (p.values['mnist-demo']) return { kind: 'mnist-demo' };
  return { kind: 'none' };
}

export function optionsFromArgs(p: Parsed, model: string): SparsifyOptions {
  const pattern = requireStr(p, 'pattern', usage);
  const bn = p.values['no-bn-recalibrate'] ? false : str(p, 'bn-recalibrate') !== undefined ? (num(p, 'bn-recalibrate', { integer: true, min: 1 }) as number) : undefined;
  const granularity = str(p, 'schedule-granularity');
  if (granularity !== undefined && granularity !== 'step' && granularity !== 'epoch') throw usageError(`--schedule-granularity must be step or epoch, got '${granularity}'`);
  const lrSchedule = str(p, 'lr-schedule');
  if (lrSchedule !== undefined && !['cosine', 'step', 'constant'].includes(lrSchedule)) throw usageError(`--lr-schedule must be cosine, step or constant, got '${lrSchedule}'`);
  const optimizer = str(p, 'optimizer');
  if (optimizer !== undefined && optimizer !== 'sgd' && optimizer !== 'adamw') throw usageError(`--optimizer must be sgd or adamw, got '${optimizer}'`);
  return {
    model,
    out: str(p, 'out') ?? defaultOutputPath(model, pattern),
    overwrite: Boolean(p.values.force),
    pattern,
    method: (str(p, 'method') ?? 'maxq') as MaskMethod,
    epochs: num(p, 'epochs', { integer: true, min: 0 }) ?? 0,
    batchSize: num(p, 'batch', { integer: true, min: 1 }),
    lr: num(p, 'lr', { min: 0 }),
    optimizer: optimizer as SparsifyOptions['optimizer'],
    momentum: num(p, 'momentum', { min: 0 }),
    nesterov: p.values.nesterov ? true : undefined,
    lrSchedule: lrSchedule as SparsifyOptions['lrSchedule'],
    weightDecay: num(p, 'weight-decay', { min: 0 }),
    labelSmoothing: num(p, 'label-smoothing', { min: 0 }),
    seed: num(p, 'seed', { integer: true, min: 0 }),
    threads: num(p, 'threads', { integer: true, min: 0 }),
    schedule: str(p, 'schedule') as ScheduleKind | undefined,
    decayStart: num(p, 'decay-start', { integer: true, min: 0 }),
    decayEnd: num(p, 'decay-end', { integer: true, min: 0 }),
    scheduleGranularity: granularity as ScheduleGranularity | undefined,
    include: list(p, 'include'),
    exclude: list(p, 'exclude'),
    data: dataFromArgs(p),
    bnRecalibrate: bn,
    normalise: p.values['no-run-norm'] ? false : undefined,
    sanityCheck: p.values['no-sanity-check'] ? false : undefined,
    runDir: str(p, 'run-dir'),
    resume: str(p, 'resume'),
  };
}

function progressPrinter(json: boolean): (e: RunEvent) => void {
  const bar = new ProgressLine();
  let stepsPerEpoch = 0, epochs = 0;
  return (e) => {
    if (e.type === 'start') {
      stepsPerEpoch = e.stepsPerEpoch;
      epochs = e.epochs;
    } else if (e.type === 'step' && stepsPerEpoch > 0) {
      const done = (e.epoch * stepsPerEpoch + e.step + 1) / (epochs * stepsPerEpoch);
      bar.update(done, `epoch ${e.epoch + 1}/${epochs} loss ${e.loss.toFixed(4)} p=${e.denseFraction.toFixed(3)}`);
    } else if (e.type === 'epoch') {
      bar.done();
      if (!json && epochs > 0) {
        // Without labels (no train accuracy) the validation number is top-1 agreement with the dense model.
        const what = e.trainAccuracy === null ? 'agreement' : 'val acc';
        const acc = e.valAccuracy !== null ? ` ${what} ${(e.valAccuracy * 100).toFixed(2)}%` : '';
        process.stderr.write(`epoch ${e.epoch + 1}: train loss ${e.trainLoss.toFixed(4)}${acc}, N:M coverage ${(e.coverage * 100).toFixed(1)}%\n`);
      }
    } else if (e.type === 'phase' && !json) {
      bar.done();
      process.stderr.write(`${e.phase}${e.detail ? `: ${e.detail}` : ''}\n`);
    } else if (e.type === 'log' && e.level === 'warn') {
      bar.done();
      process.stderr.write(`warning: ${e.message}\n`);
    } else if (e.type === 'log' && e.topic === 'preprocessing') {
      // Where the data's preprocessing came from is worth a line even at level info.
      bar.done();
      process.stderr.write(`${e.message}\n`);
    } else if (e.type === 'error' || e.type === 'cancelled' || e.type === 'done') {
      // Whatever is printed next (the error, the summary) starts on a clean line.
      bar.done();
    }
  };
}

export async function sparsifyCommand(argv: string[]): Promise<number> {
  const p = parse(argv, SPARSIFY_OPTIONS, usage);
  const recipe = str(p, 'recipe');
  const opts = recipe !== undefined ? optionsFromRecipeArgs(p, recipe) : optionsFromArgs(p, onePositional(p, 'model file', usage));
  const events = str(p, 'events');
  const log = events !== undefined ? new RunLogWriter(events) : null;
  const print = progressPrinter(Boolean(p.values.json));
  const sink = (e: RunEvent) => {
    log?.write(e);
    print(e);
  };
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const summary = await sparsify(opts, sink, controller.signal).catch((e) => {
      // The log ends with what ended the run, so a follower stops following.
      log?.write(isCancelled(e) ? { type: 'cancelled' } : { type: 'error', message: e instanceof Error ? e.message : String(e) });
      throw e;
    });
    // Like `maxq validate --reference`: a written model that no longer computes the dense function fails (exit 1).
    const numericFail = failsNumericCheck(summary.numeric?.verdict, summary);
    if (p.values.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else {
      const what = summary.metric === 'agreement' ? 'top-1 agreement with the dense model' : 'accuracy';
      const dense = summary.denseAccuracy !== null && summary.metric === 'accuracy' ? ` (dense ${(summary.denseAccuracy * 100).toFixed(2)}%)` : '';
      const acc = summary.finalAccuracy !== null ? `; ${what} ${(summary.finalAccuracy * 100).toFixed(2)}%${dense}` : '';
      process.stdout.write(`wrote ${summary.output}: ${summary.sparsifiedLayers} layers ${summary.pattern} (${summary.method}), validation ${summary.validationPass ? 'PASS' : 'FAIL'}${numericFail ? ', numeric check FAIL (blown up)' : ''}${acc}, ${summary.seconds.toFixed(1)} s\n`);
      if (summary.normalisation) process.stdout.write(`${summary.normalisation.message}\n`);
      if (summary.numeric) process.stdout.write(`numeric check against the dense model on ${summary.numeric.inputsFrom}: ${summary.numeric.verdict.message}\n`);
    }
    return summary.validationPass && !numericFail ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
    log?.close();
  }
}

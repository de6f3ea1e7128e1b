/**
 * The sparsify run: select layers, compute masks, fine-tune when asked (or one-shot with BN re-estimation),
 * fold W·S, write the sparse model beside the original, validate it, and write the run record.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../onnx/onnxModel';
import { writeModel } from '../onnx/modelWriter';
import { usageError } from '../errors';
import { canonicalToSource } from '../layers/layerWeights';
import { foldWeights } from '../masks/fold';
import { NmPattern } from '../masks/nmPattern';
import { DenseFractionSchedule } from '../masks/denseFractionSchedule';
import { checkNm } from '../validate/nmCheck';
import { validateLoadedModel } from '../validate/validateModel';
import { batchNormCount, MIN_BN_TRAINING_OPSET, recalibrateBatchNorm } from '../bn/bnRecalibration';
import { evaluateClassifier, EvalResult, predictLogits } from '../runtime/classifierRun';
import { createSession } from '../runtime/ortSession';
import { derivedModelProto, derivedSession } from '../runtime/derivedModel';
import { Dataset } from '../data/dataset';
import { fineTune } from '../training/fineTune';
import { RunEvent, RunSummary } from '../types';
import { computeModelMasks, selectedLayers } from './layerMasks';
import { SparsifyOptions } from './options';
import { RunRecorder, runRecordPath } from './runRecord';
import { throwIfCancelled } from './cancellation';
import { openRunData } from './runData';
import { RUN_DEFAULTS } from './defaults';

export type EventSink = (e: RunEvent) => void;

export function checkSparsifyOptions(opts: SparsifyOptions): NmPattern {
  const pattern = NmPattern.parse(opts.pattern);
  if (!['maxq', 'magnitude', 'srste'].includes(opts.method)) throw usageError(`unknown method '${opts.method}' (use maxq, magnitude or srste)`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 0) throw usageError(`--epochs must be a whole number ≥ 0, got ${opts.epochs}`);
  if (path.resolve(opts.out) === path.resolve(opts.model)) throw usageError(`the output ${opts.out} is the input model; the original is never overwritten`);
  if (!opts.overwrite && fs.existsSync(opts.out)) throw usageError(`${opts.out} already exists (pass --force to overwrite it)`);
  // Checked up front: the writer would only find out after the whole (possibly long) run.
  const outDir = path.dirname(path.resolve(opts.out));
  if (!fs.statSync(outDir, { throwIfNoEntry: false })?.isDirectory()) throw usageError(`output folder ${outDir} does not exist`);
  if (opts.schedule !== undefined) DenseFractionSchedule.parseKind(opts.schedule);
  return pattern;
}

/** One-shot: mask every selected layer with p = 0 and fold. Returns the edit map. */
export async function foldedEdits(model: OnnxModel, opts: SparsifyOptions, pattern: NmPattern, emit: EventSink, signal?: AbortSignal): Promise<Map<string, Float32Array>> {
  const edits = new Map<string, Float32Array>();
  for await (const { layer, weight, mask } of computeModelMasks(model, { pattern, method: opts.method, include: opts.include, exclude: opts.exclude })) {
    throwIfCancelled(signal);
    const folded = foldWeights(weight.data, mask.soft);
    // The spec's check before writing: every group has at most N non-zeros.
    const check = checkNm({ ...weight, data: folded }, pattern, 1);
    if (!check.pass) throw new Error(`internal: folded weight of ${layer.name} breaks ${pattern} (${check.violatingGroups} groups)`);
    edits.set(layer.name, canonicalToSource(model, layer, folded));
    emit({ type: 'log', level: 'info', message: `${layer.name}: ${pattern} ${opts.method}, ${mask.numBlocks} blocks` });
  }
  return edits;
}

function scheduleFor(opts: SparsifyOptions): DenseFractionSchedule {
  if (opts.schedule === undefined && opts.decayStart === undefined && opts.decayEnd === undefined) return DenseFractionSchedule.defaultForFineTune(opts.epochs);
  const s = opts.decayStart ?? 0;
  const t = opts.decayEnd ?? Math.ceil(0.25 * opts.epochs);
  return new DenseFractionSchedule({ kind: opts.schedule ?? 'linear', decayStart: s, decayEnd: t >= opts.epochs ? opts.epochs - 1 : t, totalEpochs: opts.epochs });
}

async function evaluateModel(model: OnnxModel, edits: Map<string, Float32Array> | null, data: Dataset, batch: number, threads: number | undefined, reference?: { logits: Float32Array; k: number }, signal?: AbortSignal): Promise<EvalResult> {
  const session = edits ? await derivedSession(model, await derivedModelProto(model, edits), { threads }) : await createSession(model.path, model.path, { threads });
  try {
    return await evaluateClassifier(session, data, batch, reference, signal);
  } finally {
    await session.release();
  }
}

export async function sparsify(opts: SparsifyOptions, emit: EventSink = () => undefined, signal?: AbortSignal): Promise<RunSummary> {
  const started = Date.now();
  const pattern = checkSparsifyOptions(opts);
  const model = await OnnxModel.load(opts.model);
  const layers = selectedLayers(model, { pattern, include: opts.include, exclude: opts.exclude });
  const seed = opts.seed ?? RUN_DEFAULTS.seed;
  const batch = opts.batchSize ?? RUN_DEFAULTS.batchSize;
  const runId = `${path.basename(opts.out)}-${new Date(started).toISOString()}`;
  const recorder = new RunRecorder(runId, opts.model, opts.out, { ...opts });
  const sink: EventSink = (e) => {
    recorder.add(e);
    emit(e);
  };
  const fineTuning = opts.epochs > 0;
  const data = openRunData(model, opts.data, fineTuning ? RUN_DEFAULTS.valFraction : 0, seed);
  if (fineTuning && !data) throw usageError('fine-tuning needs data: give --inputs (with or without --labels), --images or --mnist-demo');
  try {
    const evalData = data ? data.val ?? data.train : null;
    // Without labels, accuracy means agreement with the dense model's predictions.
    let reference: { logits: Float32Array; k: number } | undefined;
    let denseAccuracy: number | null = null;
    if (evalData) {
      sink({ type: 'phase', phase: 'dense evaluation', detail: evalData.source });
      const dense = await createSession(model.path, model.path, { threads: opts.threads });
      try {
        if (!evalData.hasLabels) reference = await predictLogits(dense, evalData, batch, signal);
        denseAccuracy = (await evaluateClassifier(dense, evalData, batch, reference, signal)).accuracy;
      } finally {
        await dense.release();
      }
    }
    const schedule = fineTuning ? scheduleFor(opts) : null;
    sink({
      type: 'start', runId, model: opts.model, pattern: pattern.toString(), method: opts.method, epochs: opts.epochs,
      stepsPerEpoch: data && fineTuning ? Math.floor(data.train.count / batch) : 0, layers: layers.map((l) => l.name),
    });
    let edits: Map<string, Float32Array>;
    let finalAccuracy: number | null = null;
    if (fineTuning && data) {
      let teacher: { logits: Float32Array; k: number } | undefined;
      if (!data.train.hasLabels) {
        sink({ type: 'phase', phase: 'teacher logits', detail: 'no labels: distilling from the dense model' });
        const dense = await createSession(model.path, model.path, { threads: opts.threads });
        try {
          teacher = await predictLogits(dense, data.train, batch, signal);
        } finally {
          await dense.release();
        }
      }
      sink({ type: 'phase', phase: 'fine-tune', detail: `${opts.epochs} epochs, dense-fraction schedule ${schedule!.kind} ${schedule!.decayStart}→${schedule!.decayEnd}, per ${opts.scheduleGranularity ?? 'step'}` });
      const result = await fineTune({
        model, layers, pattern, method: opts.method, epochs: opts.epochs, batchSize: batch,
        lr: opts.lr ?? (opts.optimizer === 'adamw' ? RUN_DEFAULTS.adamwLr : RUN_DEFAULTS.sgdLr), optimizer: opts.optimizer ?? 'sgd',
        momentum: opts.momentum ?? RUN_DEFAULTS.momentum, nesterov: opts.nesterov, lrSchedule: opts.lrSchedule, weightDecay: opts.weightDecay ?? RUN_DEFAULTS.weightDecay,
        labelSmoothing: opts.labelSmoothing ?? 0, schedule: schedule!, granularity: opts.scheduleGranularity ?? 'step',
        train: data.train, val: evalData === data.train ? null : data.val, teacher, valTeacher: reference, seed, threads: opts.threads,
        checkpointDir: opts.resume ?? (opts.runDir ? path.join(opts.runDir, 'checkpoint') : undefined), resume: Boolean(opts.resume),
        emit: sink, signal,
      });
      edits = result.edits;
      finalAccuracy = result.lastEval?.accuracy ?? null;
    } else {
      sink({ type: 'phase', phase: 'masks', detail: `${pattern} ${opts.method}` });
      edits = await foldedEdits(model, opts, pattern, sink, signal);
      const bn = opts.bnRecalibrate ?? true;
      const oldOpset = model.opset('') < MIN_BN_TRAINING_OPSET;
      if (data && bn === true && oldOpset && batchNormCount(model) > 0) {
        // On by default, so a model it cannot run on (BN training mode is opset 14) keeps its statistics.
        sink({ type: 'log', level: 'warn', message: `BN statistics kept from the dense model: re-estimation needs opset ≥ ${MIN_BN_TRAINING_OPSET} (this model has opset ${model.opset('')})` });
      } else if (data && bn !== false && batchNormCount(model) > 0) {
        const batches = typeof bn === 'number' ? bn : RUN_DEFAULTS.bnBatches;
        sink({ type: 'phase', phase: 'BN re-estimation', detail: `${batches} batches of ${batch} from ${data.train.source}` });
        const recal = await recalibrateBatchNorm(model, edits, data.train, { batches, batchSize: batch, seed, threads: opts.threads, signal });
        for (const [k, v] of recal.edits) edits.set(k, v);
        sink({ type: 'log', level: 'info', message: `re-estimated ${recal.layers} BN layers on ${recal.samples} samples` });
      } else if (!data && bn !== false && batchNormCount(model) > 0) {
        sink({ type: 'log', level: 'warn', message: 'BN statistics kept from the dense model (no data given); one-shot accuracy usually recovers with --inputs, --images or --mnist-demo' });
      }
      if (evalData) {
        sink({ type: 'phase', phase: 'sparse evaluation' });
        finalAccuracy = (await evaluateModel(model, edits, evalData, batch, opts.threads, reference, signal)).accuracy;
      }
      if (opts.epochs === 0 && layers.length > 0) {
        sink({ type: 'epoch', epoch: 0, denseFraction: 0, trainLoss: 0, trainAccuracy: null, valLoss: null, valAccuracy: finalAccuracy, coverage: 1, layerCoverage: Object.fromEntries(layers.map((l) => [l.name, 1])) });
      }
    }
    throwIfCancelled(signal);
    sink({ type: 'phase', phase: 'write', detail: opts.out });
    await writeModel(model, edits, opts.out, { canonicalZeros: true, overwrite: opts.overwrite });
    const report = await validateLoadedModel(await OnnxModel.load(opts.out), { pattern: opts.pattern, include: opts.include, exclude: opts.exclude });
    const summary: RunSummary = {
      output: opts.out, pattern: pattern.toString(), method: opts.method, epochs: opts.epochs, sparsifiedLayers: layers.length,
      denseAccuracy, finalAccuracy, metric: reference ? 'agreement' : 'accuracy', validationPass: report.pass, seconds: (Date.now() - started) / 1000,
    };
    // The done event goes into the record too: a replayed run shows its summary from it.
    const done: RunEvent = { type: 'done', output: opts.out, record: runRecordPath(opts.out), summary };
    recorder.add(done);
    await recorder.save(summary);
    emit(done);
    return summary;
  } finally {
    data?.close();
  }
}

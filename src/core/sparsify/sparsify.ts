/**
 * The sparsify run: select layers, compute masks, fine-tune when asked (or one-shot with BN re-estimation),
 * fold W·S, write the sparse model beside the original, validate it, and write the run record.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../onnx/onnxModel';
import { writeModel } from '../onnx/modelWriter';
import { inputError, usageError } from '../errors';
import { canonicalToSource } from '../layers/layerWeights';
import { foldWeights } from '../masks/fold';
import { NmPattern } from '../masks/nmPattern';
import { DenseFractionSchedule } from '../masks/denseFractionSchedule';
import { checkNm } from '../validate/nmCheck';
import { validateLoadedModel } from '../validate/validateModel';
import { numericCheck } from '../validate/numericCheck';
import { batchNormCount, MIN_BN_TRAINING_OPSET, recalibrateBatchNorm } from '../bn/bnRecalibration';
import { evaluateClassifier, EvalResult, predictLogits } from '../runtime/classifierRun';
import { classifierOutputOf, notClassScores, settleClassifierOutput } from '../runtime/classifierOutput';
import { createSession } from '../runtime/ortSession';
import { derivedModelProto, derivedSession } from '../runtime/derivedModel';
import { Dataset } from '../data/dataset';
import { fineTune } from '../training/fineTune';
import { resolveCheckpointDir } from '../training/checkpoint';
import { RunEvent, RunSummary } from '../types';
import { computeModelMasks, selectedLayers } from './layerMasks';
import { verdictForRun } from './runVerdict';
import { SparsifyOptions } from './options';
import { RunRecorder, runRecordPath } from './runRecord';
import { throwIfCancelled } from './cancellation';
import { evaluationSource, openRunData } from './runData';
import { dataSanityCheck, datasetNormalization } from './dataSanity';
import { canonicalNormalize } from '../data/normalize';
import { resolveModelPreprocessing } from './modelPreprocessing';
import { bnBatchCount, RUN_DEFAULTS } from './defaults';
import { SlotKind, untieShared } from '../onnx/untie';
import { linearFallbackNote } from '../layers/layerDiscovery';
import { keepFilterScale } from '../masks/filterScale';
import { describeNormPlan, NormSite, planRunNormalisation, prepareRunNormalisation } from '../norm/normSites';
import { NormValues } from '../norm/insertNormalisation';
import { denseIdentityNormalisation, foldIntoEdits, withStatistics } from '../norm/runNormalisation';

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

/**
 * One-shot: mask every selected layer with p = 0 and fold. Layers for which `keepScale` is true (MaxQ layers
 * whose scale nothing will re-estimate) get each filter rescaled to its dense L2 norm. Returns the edit map.
 */
export async function foldedEdits(model: OnnxModel, opts: SparsifyOptions, pattern: NmPattern, emit: EventSink, signal?: AbortSignal, keepScale: (layer: string) => boolean = () => false): Promise<Map<string, Float32Array>> {
  const edits = new Map<string, Float32Array>();
  for await (const { layer, weight, mask } of computeModelMasks(model, { pattern, method: opts.method, include: opts.include, exclude: opts.exclude })) {
    throwIfCancelled(signal);
    const folded = foldWeights(weight.data, mask.soft);
    const kept = keepScale(layer.name);
    if (kept) keepFilterScale(weight, folded);
    // The spec's check before writing: every group has at most N non-zeros.
    const check = checkNm({ ...weight, data: folded }, pattern, 1);
    if (!check.pass) throw new Error(`internal: folded weight of ${layer.name} breaks ${pattern} (${check.violatingGroups} groups)`);
    edits.set(layer.name, canonicalToSource(model, layer, folded));
    emit({ type: 'log', level: 'info', message: `${layer.name}: ${pattern} ${opts.method}, ${mask.numBlocks} blocks${kept ? ', filter scale kept' : ''}` });
  }
  return edits;
}

/** Inputs of the numeric check after a run: the first samples of the run's evaluation data, as preprocessed. */
export const NUMERIC_SAMPLES = 64;

function numericSample(data: Dataset): { data: Float32Array; dims: number[]; from: string } {
  const n = Math.min(NUMERIC_SAMPLES, data.count);
  const batch = data.getBatch(Array.from({ length: n }, (_, i) => i));
  return { data: batch.inputs, dims: [n, ...data.inputShape], from: `${n} samples of ${data.source}` };
}

function scheduleFor(opts: SparsifyOptions): DenseFractionSchedule {
  return DenseFractionSchedule.forRun({ epochs: opts.epochs, kind: opts.schedule, decayStart: opts.decayStart, decayEnd: opts.decayEnd });
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
  const withData = opts.data !== undefined && opts.data.kind !== 'none';
  // Exporters deduplicate equal tensors (zero biases, fresh BN statistics, tied weights). Whatever this run
  // changes gets a copy per node, so a change for one layer never changes another.
  const kinds = new Set<SlotKind>(['weight']);
  if (withData && opts.bnRecalibrate !== false) kinds.add('bn-stat');
  if (opts.epochs > 0) for (const k of ['bias', 'bn-param', 'bn-stat'] as const) kinds.add(k);
  const source = await OnnxModel.load(opts.model);
  // npy/image data without a normalisation takes the one the model records (a model an earlier run wrote).
  const pre = opts.preprocessingResolved ? null : resolveModelPreprocessing(source, opts.data);
  if (pre) opts = { ...opts, data: pre.data };
  const { model: loaded, untied } = untieShared(source, kinds);
  const layers = selectedLayers(loaded, { pattern, include: opts.include, exclude: opts.exclude });
  // BN-free layers are normalised for the run when data is given (a one-shot run also needs BN re-estimation
  // on); shared biases are untied first so each folds into its own.
  const wantsNorm = withData && opts.normalise !== false && (opts.epochs > 0 || opts.bnRecalibrate !== false);
  const prepared = wantsNorm ? prepareRunNormalisation(loaded, layers) : { model: loaded, plan: planRunNormalisation(loaded, layers), untied: 0 };
  const model = prepared.model;
  const norm = prepared.plan;
  const normMessage = (active: boolean) => describeNormPlan(norm, active);
  const seed = opts.seed ?? RUN_DEFAULTS.seed;
  const batch = opts.batchSize ?? RUN_DEFAULTS.batchSize;
  const runId = `${path.basename(opts.out)}-${new Date(started).toISOString()}`;
  const recorder = new RunRecorder(runId, opts.model, opts.out, { ...opts });
  const sink: EventSink = (e) => {
    recorder.add(e);
    emit(e);
  };
  for (const note of pre?.notes ?? []) sink({ type: 'log', level: note.level, message: note.message, topic: 'preprocessing' });
  if (pre?.from === 'model metadata') recorder.record.options.preprocessingFrom = 'model metadata';
  const fallback = linearFallbackNote(layers);
  if (fallback) sink({ type: 'log', level: 'info', message: fallback });
  const copies = untied + prepared.untied;
  if (copies > 0) sink({ type: 'log', level: 'info', message: `${copies} shared tensor use${copies === 1 ? '' : 's'} untied: each node this run changes gets its own copy, so a change for one layer never changes another` });
  const fineTuning = opts.epochs > 0;
  const valFraction = fineTuning ? opts.valFraction ?? RUN_DEFAULTS.valFraction : 0;
  const data = openRunData(model, opts.data, valFraction, seed);
  if (fineTuning && !data) throw usageError('fine-tuning needs data: give --inputs (with or without --labels), --images or --mnist-demo');
  try {
    // Accuracy, agreement, the sanity check and the fine-tune's losses read class scores [N, K].
    let output = classifierOutputOf(model);
    if (data) output = await settleClassifierOutput(output, model.path, data.train, opts.threads);
    if (fineTuning && output.classifier === false) {
      throw inputError(opts.model, `${notClassScores(output.name, output.dims)}: fine-tuning trains on class scores (cross-entropy with labels, or distillation from the dense model); sparsify it one-shot (--epochs 0) with data, which normalises its BN-free layers, re-estimates its BatchNorm statistics and checks its outputs against the dense model's`);
    }
    const scoresClasses = output.classifier !== false;
    // What the numeric check runs on, and (for class scores) what accuracy is measured on.
    const checkData = data ? data.val ?? data.train : null;
    const evalData = scoresClasses ? checkData : null;
    if (data && !scoresClasses) sink({ type: 'log', level: 'warn', message: `accuracy is not measured and the data sanity check is skipped: ${notClassScores(output.name, output.dims)}; the numeric check compares the outputs themselves` });
    // The preprocessing the run's data actually gets, recorded in the written model and the run record.
    const chosenNorm = data ? datasetNormalization(data.train) : null;
    const preprocessing = chosenNorm ? canonicalNormalize(chosenNorm) : undefined;
    if (preprocessing) recorder.record.options.preprocessing = preprocessing;
    if (data && opts.sanityCheck !== false && scoresClasses) {
      sink({ type: 'phase', phase: 'data sanity check', detail: data.train.source });
      const sanity = await dataSanityCheck(model.path, data.train, { batchSize: batch, threads: opts.threads, signal });
      if (sanity?.warning) sink({ type: 'log', level: 'warn', message: sanity.warning });
      else if (sanity) sink({ type: 'log', level: 'info', message: `data sanity check: dense ${sanity.metric === 'accuracy' ? `accuracy ${(sanity.value * 100).toFixed(1)} %` : `mean normalised entropy ${sanity.value.toFixed(2)}`} under ${sanity.label} on ${sanity.samples} samples` });
    }
    // Without labels, accuracy means agreement with the dense model's predictions.
    let reference: { logits: Float32Array; k: number } | undefined;
    let denseAccuracy: number | null = null;
    if (evalData) {
      sink({ type: 'phase', phase: 'dense evaluation', detail: evaluationSource(data!, valFraction) });
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
    let normalised = false;
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
      let normalisation: { sites: NormSite[]; values: Map<string, NormValues> } | undefined;
      if (norm.sites.length > 0 && opts.normalise !== false) {
        sink({ type: 'phase', phase: 'normalisation', detail: `${norm.sites.length} layers without BatchNorm: measuring their dense output statistics` });
        const values = await denseIdentityNormalisation(model, norm.sites, data.train, { batches: RUN_DEFAULTS.bnBatches, batchSize: batch, seed, threads: opts.threads, signal });
        normalisation = { sites: norm.sites, values };
        sink({ type: 'log', level: 'info', message: normMessage(true) as string });
      }
      normalised = Boolean(normalisation);
      sink({ type: 'phase', phase: 'fine-tune', detail: `${opts.epochs} epoch${opts.epochs === 1 ? '' : 's'}, dense-fraction schedule ${schedule!.kind} ${schedule!.decayStart}→${schedule!.decayEnd}, per ${opts.scheduleGranularity ?? 'step'}` });
      const result = await fineTune({
        model, layers, pattern, method: opts.method, epochs: opts.epochs, batchSize: batch,
        lr: opts.lr ?? (opts.optimizer === 'adamw' ? RUN_DEFAULTS.adamwLr : RUN_DEFAULTS.sgdLr), optimizer: opts.optimizer ?? 'sgd',
        momentum: opts.momentum ?? RUN_DEFAULTS.momentum, nesterov: opts.nesterov, lrSchedule: opts.lrSchedule, weightDecay: opts.weightDecay ?? RUN_DEFAULTS.weightDecay,
        labelSmoothing: opts.labelSmoothing ?? 0, schedule: schedule!, granularity: opts.scheduleGranularity ?? 'step',
        train: data.train, val: evalData === data.train ? null : data.val, teacher, valTeacher: reference, seed, threads: opts.threads,
        checkpointDir: opts.resume ? resolveCheckpointDir(opts.resume) : opts.runDir ? path.join(opts.runDir, 'checkpoint') : undefined, resume: Boolean(opts.resume),
        normalisation, emit: sink, signal,
        // Statistics measured again on the final model, as after one-shot pruning (needs BN training mode, opset 14).
        reestimateBatches: bnBatchCount(opts.bnRecalibrate) === 0 || model.opset('') < MIN_BN_TRAINING_OPSET ? undefined : bnBatchCount(opts.bnRecalibrate),
        unnormalisedLayers: [...norm.skipped.map((x) => x.layer), ...(normalisation ? [] : norm.sites.map((x) => x.layer)), ...norm.untie.map((u) => u.node.input?.[1] ?? '')],
      });
      edits = result.edits;
      finalAccuracy = result.lastEval?.accuracy ?? null;
    } else {
      const bn = opts.bnRecalibrate ?? true;
      const oldOpset = model.opset('') < MIN_BN_TRAINING_OPSET;
      const hasBn = batchNormCount(model) > 0;
      // An explicit request on an old opset goes through, and fails with the reason.
      const reestimate = Boolean(data) && bn !== false && (!oldOpset || typeof bn === 'number');
      const normalise = reestimate && norm.sites.length > 0 && opts.normalise !== false;
      const reestimated = new Set([...norm.followedByBn, ...(normalise ? norm.sites.map((x) => x.layer) : [])]);
      let normValues: Map<string, NormValues> | null = null;
      const batches = bnBatchCount(bn);
      if (normalise && data) {
        sink({ type: 'phase', phase: 'normalisation', detail: `${norm.sites.length} layers without BatchNorm: measuring their dense output statistics` });
        normValues = await denseIdentityNormalisation(model, norm.sites, data.train, { batches, batchSize: batch, seed, threads: opts.threads, signal });
      }
      sink({ type: 'phase', phase: 'masks', detail: `${pattern} ${opts.method}` });
      // A MaxQ layer whose scale nothing re-estimates keeps each filter's scale (S = H·(1+F+P) is ×1…3).
      edits = await foldedEdits(model, opts, pattern, sink, signal, (layer) => opts.method === 'maxq' && !(reestimate && reestimated.has(layer)));
      if (data && bn === true && oldOpset && (hasBn || norm.sites.length > 0)) {
        // On by default, so a model it cannot run on (BN training mode is opset 14) keeps its statistics.
        sink({ type: 'log', level: 'warn', message: `BN statistics kept from the dense model: re-estimation needs opset ≥ ${MIN_BN_TRAINING_OPSET} (this model has opset ${model.opset('')})` });
      } else if (reestimate && data && (hasBn || normalise)) {
        sink({ type: 'phase', phase: 'BN re-estimation', detail: `${batches} batches of ${batch} from ${data.train.source}` });
        const recal = await recalibrateBatchNorm(model, edits, data.train, {
          batches, batchSize: batch, seed, threads: opts.threads, signal, insert: normValues ? { sites: norm.sites, values: normValues } : undefined,
        });
        for (const [k, v] of recal.edits) edits.set(k, v);
        if (hasBn) sink({ type: 'log', level: recal.layers > 0 ? 'info' : 'warn', message: `re-estimated ${recal.layers} BN layers on ${recal.samples} samples${recal.tied.length ? ` (${recal.tied.length} left as they are: their statistics are shared with another BN)` : ''}` });
        if (normValues) {
          const folded = new Map(norm.sites.map((x) => [x.layer, withStatistics(normValues!.get(x.layer)!, recal.inserted.get(x.layer)!)]));
          await foldIntoEdits(model, norm.sites, edits, folded);
        }
      } else if (!data && (hasBn || norm.sites.length > 0 || norm.skipped.length > 0)) {
        const what = opts.method === 'maxq' ? 'each filter’s scale was kept (MaxQ’s soft mask normalised per filter)' : 'activation statistics were not re-estimated';
        sink({ type: 'log', level: 'warn', message: `one-shot without data: ${what}; data (--inputs, --images or --mnist-demo) would recover more accuracy (BN re-estimation${norm.sites.length ? ', normalisation of BN-free layers' : ''})` });
      }
      normalised = normalise;
      if (normalise) sink({ type: 'log', level: 'info', message: normMessage(true) as string });
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
    // The written model carries how it was made: validating or re-running it later picks its preprocessing up.
    const metadata: Record<string, string> = { 'maxq.pattern': pattern.toString(), 'maxq.method': opts.method, 'maxq.source': path.basename(opts.model) };
    if (preprocessing) metadata['maxq.preprocessing'] = preprocessing;
    await writeModel(model, edits, opts.out, { canonicalZeros: true, overwrite: opts.overwrite, metadata });
    const report = await validateLoadedModel(await OnnxModel.load(opts.out), { pattern: opts.pattern, include: opts.include, exclude: opts.exclude });
    // The pattern passing is not enough: does the written model still compute the dense model's function?
    sink({ type: 'phase', phase: 'numeric check', detail: `${opts.out} against ${opts.model}` });
    const numeric = await numericCheck(opts.out, opts.model, { threads: opts.threads, batch: checkData ? numericSample(checkData) : undefined });
    numeric.verdict = verdictForRun(numeric.verdict, { epochs: opts.epochs, metric: reference ? 'agreement' : 'accuracy', denseAccuracy, finalAccuracy });
    if (numeric.verdict.kind === 'blown-up' || numeric.verdict.kind === 'changed-predictions') sink({ type: 'log', level: 'warn', message: `numeric check: ${numeric.verdict.message}` });
    const summary: RunSummary = {
      output: opts.out, pattern: pattern.toString(), method: opts.method, epochs: opts.epochs, sparsifiedLayers: layers.length,
      denseAccuracy, finalAccuracy, metric: reference ? 'agreement' : 'accuracy', validationPass: report.pass, seconds: (Date.now() - started) / 1000,
      numeric,
    };
    const message = normMessage(normalised);
    if (message) {
      summary.normalisation = {
        normalised: normalised ? norm.sites.map((x) => x.layer) : [], followedByBn: norm.followedByBn.length,
        skipped: [...norm.skipped, ...(normalised ? [] : norm.sites.map((x) => ({ layer: x.layer, reason: data ? 'run normalisation was turned off' : 'no data to measure its statistics' })))],
        message,
      };
    }
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

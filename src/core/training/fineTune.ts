/**
 * The MaxQ fine-tuning loop (spec §6) over a generated training graph run by onnxruntime-node: every step
 * recomputes each sparse layer's mask from its dense weight at the schedule's dense fraction, feeds W·S,
 * takes the straight-through gradient, adds the SR-STE decay and steps the optimizer on the dense weights.
 * BN running statistics follow the graph's batch statistics. Each epoch ends with an evaluation of the
 * model as it would be exported (p = 0, folded) and a checkpoint.
 */
import { Dataset } from '../data/dataset';
import { epochBatches } from '../data/batches';
import { OnnxModel } from '../onnx/onnxModel';
import { DenseFractionSchedule } from '../masks/denseFractionSchedule';
import { NmPattern } from '../masks/nmPattern';
import { derivedModelProto, derivedSession } from '../runtime/derivedModel';
import { evaluateClassifier, EvalResult } from '../runtime/classifierRun';
import { throwIfCancelled } from '../sparsify/cancellation';
import { LayerInfo, MaskMethod, RunEvent, ScheduleGranularity } from '../types';
import { usageError } from '../errors';
import { AdamW, LrSchedule, Optimizer, Sgd } from './optim';
import { loadCheckpoint, restoreTensor, saveCheckpoint } from './checkpoint';
import { setUpTraining, TrainingSetup } from './trainingSetup';
import { TrainStepper } from './trainStep';
import { divergenceMessage, extremeWeight, maxAbs } from './divergence';
import { MAX_STEP } from './stepGuard';
import { NormSite } from '../norm/normSites';
import { NormValues } from '../norm/insertNormalisation';
import { foldNormalisation } from '../norm/foldNormalisation';
import { foldIntoEdits, withStatistics } from '../norm/runNormalisation';
import { batchNormCount, recalibrateBatchNorm } from '../bn/bnRecalibration';

export interface FineTuneOptions {
  model: OnnxModel;
  layers: LayerInfo[];
  pattern: NmPattern;
  method: MaskMethod;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: 'sgd' | 'adamw';
  momentum: number;
  nesterov?: boolean;
  weightDecay: number;
  /** Learning-rate schedule over the run: cosine per step (default), step (×0.1 every third of the run) or constant. */
  lrSchedule?: 'cosine' | 'step' | 'constant';
  labelSmoothing: number;
  schedule: DenseFractionSchedule;
  granularity: ScheduleGranularity;
  train: Dataset;
  val: Dataset | null;
  /** Distillation targets (dense model logits) for every train sample, when the data has no labels. */
  teacher?: { logits: Float32Array; k: number };
  valTeacher?: { logits: Float32Array; k: number };
  seed: number;
  threads?: number;
  checkpointDir?: string;
  resume?: boolean;
  /** Sparsified layers with no BatchNorm after them and no run normalisation (for the divergence advice). */
  unnormalisedLayers?: readonly string[];
  /** Normalisations for BN-free sparsified layers (identity on the dense model), trained and folded back. */
  normalisation?: { sites: readonly NormSite[]; values: ReadonlyMap<string, NormValues> };
  /**
   * Measure the BN and normalisation statistics again on the final model over this many training batches
   * before they are written (`reestimatedEdits`); absent: the running statistics of training are written.
   */
  reestimateBatches?: number;
  emit: (e: RunEvent) => void;
  signal?: AbortSignal;
}

export interface FineTuneResult {
  /** What to write: folded weights (p = 0) and the other trained parameters by source tensor, plus BN statistics. */
  edits: Map<string, Float32Array>;
  /** Evaluation of exactly those edits after the last epoch (null without validation data). */
  lastEval: EvalResult | null;
}

function fingerprint(o: FineTuneOptions): string {
  const norm = (o.normalisation?.sites ?? []).map((s) => s.layer).join('+');
  return [o.model.path, o.pattern.toString(), o.method, o.batchSize, o.epochs, o.layers.map((l) => l.name).join('+'), ...(norm ? [`norm:${norm}`] : [])].join('|');
}

/**
 * The folded, exportable weights (p = 0) plus BN statistics: what evaluation and the final write use. Inserted
 * normalisations are folded into their layers' weight and bias, so every edit names a tensor of the model.
 */
export function exportEdits(setup: TrainingSetup, opts: { foldNormalisation?: boolean } = {}): Map<string, Float32Array> {
  const edits = new Map<string, Float32Array>();
  for (const p of setup.graph.params) {
    const sparse = setup.sparse.get(p.name);
    const source = p.sourceInitializer;
    if (sparse) {
      sparse.prepare(0);
      edits.set(source, Float32Array.from(sparse.effective));
    } else if (!edits.has(source)) {
      edits.set(source, (setup.params.find((q) => q.name === p.name) as { data: Float32Array }).data);
    }
  }
  for (const [name, v] of setup.running) edits.set(name, v);
  if (opts.foldNormalisation === false) return edits;
  for (const site of setup.norm) {
    const weight = edits.get(site.layer), bias = edits.get(site.bias);
    if (!weight || !bias) throw new Error(`internal: ${site.layer} has no trained weight or bias to fold its normalisation into`);
    const folded = foldNormalisation(site, weight, bias, takeNormValues(edits, site));
    edits.set(site.layer, folded.weight);
    edits.set(site.bias, folded.bias);
  }
  return edits;
}

/** Removes an inserted normalisation's four trained tensors from unfolded `exportEdits` and returns them. */
function takeNormValues(edits: Map<string, Float32Array>, site: NormSite): NormValues {
  const take = (name: string): Float32Array => {
    const v = edits.get(name);
    if (!v) throw new Error(`internal: ${name} is not a trained tensor`);
    edits.delete(name);
    return v;
  };
  return { scale: take(site.scaleName), shift: take(site.shiftName), mean: take(site.meanName), variance: take(site.varName) };
}

/**
 * The exported edits with every BN's statistics, and those of the run's normalisations, measured again on the
 * final sparse model over `batches` training batches before the normalisations are folded (as a one-shot run
 * does after pruning). The running statistics a short run leaves are mostly the dense model's: on a BN-folded
 * torchvision ResNet-18, 1 epoch of 5 steps, folding them gave outputs at ×15.6 the dense model's scale.
 */
async function reestimatedEdits(o: FineTuneOptions, setup: TrainingSetup, batches: number): Promise<Map<string, Float32Array>> {
  const edits = exportEdits(setup, { foldNormalisation: false });
  const trained = new Map(setup.norm.map((site) => [site.layer, takeNormValues(edits, site)]));
  const recal = await recalibrateBatchNorm(o.model, edits, o.train, {
    batches, batchSize: o.batchSize, seed: o.seed, threads: o.threads, signal: o.signal,
    insert: setup.norm.length > 0 ? { sites: setup.norm, values: trained } : undefined,
  });
  for (const [k, v] of recal.edits) edits.set(k, v);
  const measured = new Map(setup.norm.map((site) => {
    const stats = recal.inserted.get(site.layer);
    if (!stats) throw new Error(`internal: no statistics measured for ${site.layer}`);
    return [site.layer, withStatistics(trained.get(site.layer) as NormValues, stats)];
  }));
  await foldIntoEdits(o.model, setup.norm, edits, measured);
  return edits;
}

async function evaluateEdits(o: FineTuneOptions, edits: Map<string, Float32Array>): Promise<EvalResult | null> {
  const data = o.val ?? null;
  if (!data) return null;
  const session = await derivedSession(o.model, await derivedModelProto(o.model, edits), { threads: o.threads });
  try {
    return await evaluateClassifier(session, data, o.batchSize, o.valTeacher, o.signal);
  } finally {
    await session.release();
  }
}

function makeOptimizer(o: FineTuneOptions): Optimizer {
  return o.optimizer === 'adamw'
    ? new AdamW({ weightDecay: o.weightDecay })
    : new Sgd({ momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay });
}

export async function fineTune(o: FineTuneOptions): Promise<FineTuneResult> {
  const stepsPerEpoch = Math.floor(o.train.count / o.batchSize);
  if (stepsPerEpoch < 1) throw usageError(`${o.train.source} has ${o.train.count} samples, fewer than one batch of ${o.batchSize}; lower --batch`);
  const hasLabels = o.train.hasLabels && !o.teacher;
  const setup = await setUpTraining(o.model, o.layers, {
    batchSize: o.batchSize, loss: hasLabels ? 'ce' : 'kl', labelSmoothing: o.labelSmoothing, threads: o.threads, pattern: o.pattern, method: o.method,
    normalisation: o.normalisation,
  });
  const { graph, session, params, running, sparse } = setup;
  const optimizer = makeOptimizer(o);
  const kind = o.lrSchedule ?? 'cosine';
  const lrs = new LrSchedule({ kind, baseLr: o.lr, epochs: o.epochs, stepsPerEpoch, per: 'step', ...(kind === 'step' ? { stepEvery: Math.max(1, Math.ceil(o.epochs / 3)) } : {}) });
  let startEpoch = 0, globalStep = 0;

  if (o.resume && o.checkpointDir) {
    const cp = loadCheckpoint(o.checkpointDir, fingerprint(o));
    for (const p of params) restoreTensor(cp, `param/${p.name}`, p.data);
    for (const [name, v] of running) restoreTensor(cp, `running/${name}`, v);
    optimizer.loadState(cp.optimizer);
    startEpoch = cp.state.epoch;
    globalStep = cp.state.globalStep;
    o.emit({ type: 'log', level: 'info', message: `resumed from ${o.checkpointDir} after epoch ${startEpoch}` });
  }

  const [c, h, w] = o.train.inputShape;
  const N = o.batchSize;
  let lastEval: EvalResult | null = null;
  let firstLogitScale = -1, lastLogitScale = 0;
  // The weights this run starts from, for the advice if the loss stops being finite (one pass; corrupt files).
  const sourceOf = new Map(graph.params.map((q) => [q.name, q.sourceInitializer]));
  const extreme = extremeWeight(params.map((q) => ({ name: sourceOf.get(q.name) ?? q.name, data: q.data })));
  // The masks use as many threads as the graph (o.threads; 0 or unset: the available cores).
  const stepper = new TrainStepper(setup, optimizer, { maskThreads: o.threads });
  try {
    for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
      const plan = epochBatches(o.train.count, { batchSize: N, seed: o.seed, epoch, dropLast: true });
      let lossSum = 0, correct = 0, seen = 0, p = 0, clipped = 0;
      for (let step = 0; step < plan.length; step++) {
        throwIfCancelled(o.signal);
        const started = Date.now();
        p = o.schedule.at(o.granularity === 'step' ? epoch + step / stepsPerEpoch : epoch);
        const batch = o.train.getBatch(plan[step]);
        let teacher: Float32Array | undefined;
        if (graph.teacherName && o.teacher) {
          const k = o.teacher.k;
          teacher = new Float32Array(N * k);
          plan[step].forEach((idx, r) => teacher!.set(o.teacher!.logits.subarray(idx * k, idx * k + k), r * k));
        }
        const lr = lrs.at(epoch, step);
        const { loss, out, guard } = await stepper.step({ inputs: batch.inputs, inputDims: [N, c, h, w], labels: batch.labels, teacher }, p, lr);
        if (!Number.isFinite(loss)) {
          throw usageError(divergenceMessage({ epoch, step, lr, loss, firstLogitScale, lastLogitScale, unnormalised: o.unnormalisedLayers ?? [], extreme }));
        }
        if (guard === 'clipped') clipped++;
        lastLogitScale = maxAbs(out[graph.logitsName].data as Float32Array);
        if (firstLogitScale < 0) firstLogitScale = lastLogitScale;
        lossSum += loss;
        if (batch.labels) {
          const logits = out[graph.logitsName].data as Float32Array, k = graph.numClasses;
          for (let r = 0; r < N; r++) {
            let best = 0;
            for (let j = 1; j < k; j++) if (logits[r * k + j] > logits[r * k + best]) best = j;
            if (BigInt(best) === batch.labels[r]) correct++;
          }
        }
        seen += N;
        o.emit({ type: 'step', epoch, step, globalStep, loss, lr, stepMs: Date.now() - started, denseFraction: p });
        globalStep++;
      }
      if (clipped > 0) {
        o.emit({ type: 'log', level: 'warn', message: `epoch ${epoch + 1}: ${clipped} of ${plan.length} steps would have moved the weights by more than ${MAX_STEP * 100} % of their norm and were scaled down (very large gradients: check the data's preprocessing and the dense model's outputs)` });
      }
      // Coverage and importance at the dense fraction this epoch ended with.
      const layerCoverage: Record<string, number> = {};
      const importance: Record<string, { keptMeanAbs: number; prunedMeanAbs: number; softMean: number }> = {};
      let blocks = 0, nm = 0;
      for (const s of sparse.values()) {
        s.prepare(p);
        layerCoverage[s.layer.name] = s.coverage();
        importance[s.layer.name] = s.importance();
        blocks += s.last!.numBlocks;
        nm += s.last!.numBlocks - s.last!.numDenseBlocks;
      }
      lastEval = await evaluateEdits(o, exportEdits(setup));
      o.emit({
        type: 'epoch', epoch, denseFraction: p, trainLoss: lossSum / plan.length, trainAccuracy: o.train.hasLabels ? correct / seen : null,
        valLoss: lastEval?.loss ?? null, valAccuracy: lastEval?.accuracy ?? null, coverage: blocks ? nm / blocks : 1, layerCoverage, importance,
      });
      if (o.checkpointDir) {
        const tensors = new Map<string, Float32Array>();
        for (const prm of params) tensors.set(`param/${prm.name}`, prm.data);
        for (const [name, v] of running) tensors.set(`running/${name}`, v);
        await saveCheckpoint(o.checkpointDir, { epoch: epoch + 1, globalStep, fingerprint: fingerprint(o), history: [] }, tensors, optimizer.state());
      }
    }
  } finally {
    await stepper.close();
    await session.release();
  }
  const asTrained = exportEdits(setup);
  if (o.reestimateBatches === undefined || (batchNormCount(o.model) === 0 && setup.norm.length === 0)) return { edits: asTrained, lastEval };
  throwIfCancelled(o.signal);
  o.emit({ type: 'phase', phase: 'BN re-estimation', detail: `statistics of the fine-tuned model: ${o.reestimateBatches} batches of ${o.batchSize} from ${o.train.source}` });
  const reestimated = await reestimatedEdits(o, setup, o.reestimateBatches);
  if (!o.val) return { edits: reestimated, lastEval };
  // Both sets of statistics are candidates; the validation data picks (the re-estimated ones on a tie).
  const withRunning = lastEval ?? (await evaluateEdits(o, asTrained));
  const withMeasured = await evaluateEdits(o, reestimated);
  const keep = validatesAtLeastAsWell(withMeasured, withRunning);
  const metric = o.valTeacher ? 'agreement' : 'accuracy';
  const pct = (e: EvalResult | null) => (e?.accuracy == null ? 'n/a' : `${(100 * e.accuracy).toFixed(2)} %`);
  o.emit({
    type: 'log', level: 'info',
    message: `BN statistics: validation ${metric} ${pct(withMeasured)} re-estimated on the fine-tuned model, ${pct(withRunning)} with training's running statistics; writing the ${keep ? 're-estimated' : 'running'} ones`,
  });
  return keep ? { edits: reestimated, lastEval: withMeasured } : { edits: asTrained, lastEval: withRunning };
}

/** `a` validates at least as well as `b`: higher accuracy (or agreement), then lower loss where both have one. */
function validatesAtLeastAsWell(a: EvalResult | null, b: EvalResult | null): boolean {
  if (a?.accuracy == null || b?.accuracy == null) return true;
  if (a.accuracy !== b.accuracy) return a.accuracy > b.accuracy;
  return a.loss == null || b.loss == null || a.loss <= b.loss;
}

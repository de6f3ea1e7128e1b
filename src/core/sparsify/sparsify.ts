/**
 * The sparsify run: select layers, compute masks, (fine-tune,) fold W·S, write the sparse model beside the
 * original, validate it and write the run record. One-shot when epochs = 0.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../onnx/onnxModel';
import { writeModel } from '../onnx/modelWriter';
import { usageError } from '../errors';
import { canonicalToSource } from '../layers/layerWeights';
import { foldWeights } from '../masks/fold';
import { NmPattern } from '../masks/nmPattern';
import { checkNm } from '../validate/nmCheck';
import { validateLoadedModel } from '../validate/validateModel';
import { RunEvent, RunSummary } from '../types';
import { computeModelMasks } from './layerMasks';
import { SparsifyOptions } from './options';
import { RunRecorder } from './runRecord';
import { throwIfCancelled } from './cancellation';

export type EventSink = (e: RunEvent) => void;

export function checkSparsifyOptions(opts: SparsifyOptions): NmPattern {
  const pattern = NmPattern.parse(opts.pattern);
  if (!['maxq', 'magnitude', 'srste'].includes(opts.method)) throw usageError(`unknown method '${opts.method}' (use maxq, magnitude or srste)`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 0) throw usageError(`--epochs must be a whole number ≥ 0, got ${opts.epochs}`);
  if (path.resolve(opts.out) === path.resolve(opts.model)) throw usageError(`the output ${opts.out} is the input model; the original is never overwritten`);
  if (!opts.overwrite && fs.existsSync(opts.out)) throw usageError(`${opts.out} already exists (pass --force to overwrite it)`);
  return pattern;
}

/** One-shot: mask every selected layer of the given weights with p = 0 and fold. Returns the edit map. */
export async function foldedEdits(
  model: OnnxModel,
  opts: SparsifyOptions,
  pattern: NmPattern,
  emit: EventSink,
  signal?: AbortSignal,
): Promise<Map<string, Float32Array>> {
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

export async function sparsify(opts: SparsifyOptions, emit: EventSink = () => undefined, signal?: AbortSignal): Promise<RunSummary> {
  const started = Date.now();
  const pattern = checkSparsifyOptions(opts);
  const model = await OnnxModel.load(opts.model);
  const runId = `${path.basename(opts.out)}-${new Date(started).toISOString()}`;
  const recorder = new RunRecorder(runId, opts.model, opts.out, { ...opts });
  const sink: EventSink = (e) => {
    recorder.add(e);
    emit(e);
  };
  sink({ type: 'phase', phase: 'masks', detail: `${pattern} ${opts.method}` });
  const edits = await foldedEdits(model, opts, pattern, sink, signal);
  sink({ type: 'start', runId, model: opts.model, pattern: pattern.toString(), method: opts.method, epochs: 0, stepsPerEpoch: 0, layers: [...edits.keys()] });
  throwIfCancelled(signal);
  sink({ type: 'phase', phase: 'write', detail: opts.out });
  await writeModel(model, edits, opts.out, { canonicalZeros: true, overwrite: opts.overwrite });
  const report = await validateLoadedModel(await OnnxModel.load(opts.out), { pattern: opts.pattern, include: opts.include, exclude: opts.exclude });
  const summary: RunSummary = {
    output: opts.out, pattern: pattern.toString(), method: opts.method, epochs: 0, sparsifiedLayers: edits.size,
    denseAccuracy: null, finalAccuracy: null, validationPass: report.pass, seconds: (Date.now() - started) / 1000,
  };
  const record = await recorder.save(summary);
  sink({ type: 'done', output: opts.out, record, summary });
  return summary;
}

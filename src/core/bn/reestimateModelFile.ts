/**
 * BN re-estimation of an existing model file (the validation view's "re-estimate BN and re-check", and
 * `maxq bn-recalibrate`): measure the statistics with the model's own weights and write a copy with new
 * running mean/var. Weights are untouched.
 */
import { OnnxModel } from '../onnx/onnxModel';
import { untieShared } from '../onnx/untie';
import { writeModel } from '../onnx/modelWriter';
import { inputError } from '../errors';
import { DataSpec } from '../sparsify/options';
import { openRunData } from '../sparsify/runData';
import { RUN_DEFAULTS } from '../sparsify/defaults';
import { derivedModelProto, derivedSession } from '../runtime/derivedModel';
import { createSession } from '../runtime/ortSession';
import { evaluateClassifier, predictLogits } from '../runtime/classifierRun';
import { classifierOutputOf, notClassScores, settleClassifierOutput } from '../runtime/classifierOutput';
import { batchNormCount, recalibrateBatchNorm } from './bnRecalibration';
import { PreprocessingNote, resolveModelPreprocessing } from '../sparsify/modelPreprocessing';
import { resolveNormalize } from '../data/normalize';

export interface ReestimateOptions {
  data: DataSpec;
  out: string;
  batches?: number;
  batchSize?: number;
  seed?: number;
  threads?: number;
  overwrite?: boolean;
  /** Dense model whose predictions define "agreement" when the data has no labels. */
  reference?: string;
  signal?: AbortSignal;
  /** Where the data's preprocessing came from (the model's metadata, or an option overriding it). */
  onNote?: (note: PreprocessingNote) => void;
}

export interface ReestimateResult {
  out: string;
  layers: number;
  samples: number;
  /** Accuracy (or agreement with the reference) before and after, on the validation data when present. */
  accuracyBefore: number | null;
  accuracyAfter: number | null;
  /** The preprocessing the npy/image data got (`SCALE,MEAN,STD`) and where it came from; absent for the MNIST demo. */
  preprocessing?: { normalize: string; from: 'option' | 'model metadata' };
}

export async function reestimateModelFile(modelPath: string, o: ReestimateOptions): Promise<ReestimateResult> {
  // Statistics one tensor holds for several BNs get a copy each: every BN is re-estimated on its own.
  const source = await OnnxModel.load(modelPath);
  // npy/image data without a normalisation takes the one the model records (a model a run wrote).
  const pre = resolveModelPreprocessing(source, o.data);
  const { model } = untieShared(source, new Set(['bn-stat']));
  if (batchNormCount(model) === 0) throw inputError(modelPath, 'has no BatchNormalization layer to re-estimate');
  const batchSize = o.batchSize ?? RUN_DEFAULTS.batchSize;
  for (const note of pre.notes) o.onNote?.(note);
  const spec = pre.data;
  const data = openRunData(model, spec, 0, o.seed ?? 0);
  if (!data) throw inputError(modelPath, 'BN re-estimation needs data (npy inputs, an image folder or the MNIST demo)');
  try {
    const recal = await recalibrateBatchNorm(model, new Map(), data.train, {
      batches: o.batches ?? RUN_DEFAULTS.bnBatches, batchSize, seed: o.seed, threads: o.threads, signal: o.signal,
    });
    if (recal.layers === 0) {
      // Never a silent no-op: say why nothing could be re-estimated.
      throw inputError(modelPath, `no BatchNormalization statistics could be re-estimated: ${recal.tied.length > 0 ? `${recal.tied.length} BN layers share their statistics tensors with another BN (${recal.tied.slice(0, 3).join(', ')})` : 'no BN layer has constant running statistics'}`);
    }
    const evalData = data.val ?? data.train;
    // Accuracy (or agreement) needs class scores; a dense-prediction model is re-estimated without it.
    const output = await settleClassifierOutput(classifierOutputOf(model), model.path, evalData, o.threads);
    const scores = output.classifier !== false;
    if (!scores) o.onNote?.({ level: 'warn', message: `accuracy is not measured: ${notClassScores(output.name, output.dims)}` });
    let reference: { logits: Float32Array; k: number } | undefined;
    if (scores && !evalData.hasLabels && o.reference) {
      const ref = await createSession(o.reference, o.reference, { threads: o.threads });
      try {
        reference = await predictLogits(ref, evalData, batchSize, o.signal);
      } finally {
        await ref.release();
      }
    }
    const score = async (edits: Map<string, Float32Array>) => {
      if (!scores) return null;
      const session = await derivedSession(model, await derivedModelProto(model, edits), { threads: o.threads });
      try {
        return (await evaluateClassifier(session, evalData, batchSize, reference, o.signal)).accuracy;
      } finally {
        await session.release();
      }
    };
    const accuracyBefore = await score(new Map());
    const accuracyAfter = await score(recal.edits);
    await writeModel(model, recal.edits, o.out, { overwrite: o.overwrite });
    const normalize = spec && (spec.kind === 'npy' || spec.kind === 'images') && spec.normalize ? resolveNormalize(spec.normalize) : undefined;
    return {
      out: o.out, layers: recal.layers, samples: recal.samples, accuracyBefore, accuracyAfter,
      ...(normalize && pre.from ? { preprocessing: { normalize, from: pre.from } } : {}),
    };
  } finally {
    data.close();
  }
}

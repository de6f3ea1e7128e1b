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
import { batchNormCount, recalibrateBatchNorm } from './bnRecalibration';

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
}

export interface ReestimateResult {
  out: string;
  layers: number;
  samples: number;
  /** Accuracy (or agreement with the reference) before and after, on the validation data when present. */
  accuracyBefore: number | null;
  accuracyAfter: number | null;
}

export async function reestimateModelFile(modelPath: string, o: ReestimateOptions): Promise<ReestimateResult> {
  // Statistics one tensor holds for several BNs get a copy each: every BN is re-estimated on its own.
  const { model } = untieShared(await OnnxModel.load(modelPath), new Set(['bn-stat']));
  if (batchNormCount(model) === 0) throw inputError(modelPath, 'has no BatchNormalization layer to re-estimate');
  const batchSize = o.batchSize ?? RUN_DEFAULTS.batchSize;
  const data = openRunData(model, o.data, 0, o.seed ?? 0);
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
    let reference: { logits: Float32Array; k: number } | undefined;
    if (!evalData.hasLabels && o.reference) {
      const ref = await createSession(o.reference, o.reference, { threads: o.threads });
      try {
        reference = await predictLogits(ref, evalData, batchSize, o.signal);
      } finally {
        await ref.release();
      }
    }
    const score = async (edits: Map<string, Float32Array>) => {
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
    return { out: o.out, layers: recal.layers, samples: recal.samples, accuracyBefore, accuracyAfter };
  } finally {
    data.close();
  }
}

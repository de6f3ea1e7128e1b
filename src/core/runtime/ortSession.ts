/**
 * The one place that creates onnxruntime-node sessions, so thread settings and error wrapping are the same
 * for validation, teacher logits, evaluation and training.
 */
import * as ort from 'onnxruntime-node';
import { inputError } from '../errors';

export interface SessionOptions {
  threads?: number;
  /**
   * Let idle intra-op threads spin between operators (onnxruntime's default). The training graph turns it off.
   * Measured on the ResNet-18 step (bench/trainStep.bench.ts, 2 threads on 2 cores): spinning costs 10–40 %
   * more CPU; on a quiet machine it saves 4–12 % wall time, but once other processes want the cores it makes
   * the step up to 45 % slower. A fine-tune shares the machine with the editor and anything else, so the
   * robust choice wins.
   */
  allowSpinning?: boolean;
  /**
   * onnxruntime's memory pattern (default on): one block planned for all intermediate tensors. The training
   * graph turns it off: the planned block is far larger than what the arena reuses on its own (ResNet-18,
   * batch 64: peak RSS 1.59 → 0.95 GB) and the step is no slower.
   */
  memoryPattern?: boolean;
}

export async function createSession(pathOrBytes: string | Uint8Array, label: string, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(opts.memoryPattern === false ? { enableMemPattern: false } : {}),
    ...(opts.allowSpinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  };
  try {
    return typeof pathOrBytes === 'string'
      ? await ort.InferenceSession.create(pathOrBytes, options)
      : await ort.InferenceSession.create(pathOrBytes, options);
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw inputError(label, `onnxruntime could not load the model: ${msg}`);
  }
}

export { ort };

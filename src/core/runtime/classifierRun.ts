/**
 * Runs a classifier over a data set with onnxruntime: logits for distillation targets, accuracy and
 * cross-entropy for evaluation. Batches follow the model's fixed batch size when it has one.
 */
import { Dataset } from '../data/dataset';
import { throwIfCancelled } from '../sparsify/cancellation';
import { ort } from './ortSession';
import { runtimeClassCount } from './classifierOutput';

export interface EvalResult {
  samples: number;
  /** Top-1 accuracy against the labels, or agreement with `reference` logits when there are no labels. */
  accuracy: number | null;
  /** Mean cross-entropy against the labels (null without labels). */
  loss: number | null;
}

function batchSizeFor(session: ort.InferenceSession, wanted: number): number {
  const meta = session.inputMetadata[0];
  const first = meta && meta.isTensor ? meta.shape[0] : undefined;
  return typeof first === 'number' && first > 0 ? first : wanted;
}

/** Calls `fn` with the logits of each batch, in data-set order. */
export async function forEachLogitsBatch(
  session: ort.InferenceSession,
  data: Dataset,
  batchSize: number,
  fn: (logits: Float32Array, k: number, start: number, labels: BigInt64Array | null) => void,
  signal?: AbortSignal,
): Promise<void> {
  const bs = batchSizeFor(session, batchSize);
  const fixed = bs !== batchSize || typeof session.inputMetadata[0]?.isTensor === 'boolean' && false;
  const [c, h, w] = data.inputShape;
  for (let start = 0; start < data.count; start += bs) {
    throwIfCancelled(signal);
    const n = Math.min(bs, data.count - start);
    if (fixed && n < bs) break; // a fixed-batch model cannot take the partial tail
    const indices = Array.from({ length: n }, (_, i) => start + i);
    const batch = data.getBatch(indices);
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', batch.inputs, [n, c, h, w]) });
    const logits = out[session.outputNames[0]];
    const k = runtimeClassCount(logits.dims, session.outputNames[0]);
    fn(logits.data as Float32Array, k, start, batch.labels);
  }
}

export async function predictLogits(session: ort.InferenceSession, data: Dataset, batchSize: number, signal?: AbortSignal): Promise<{ logits: Float32Array; k: number }> {
  let all: Float32Array | null = null;
  let k = 0;
  await forEachLogitsBatch(session, data, batchSize, (logits, kk, start) => {
    k = kk;
    all ??= new Float32Array(data.count * kk);
    all.set(logits.subarray(0, logits.length), start * kk);
  }, signal);
  return { logits: all ?? new Float32Array(0), k };
}

function argmax(a: Float32Array, off: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (a[off + j] > a[off + best]) best = j;
  return best;
}

export async function evaluateClassifier(
  session: ort.InferenceSession,
  data: Dataset,
  batchSize: number,
  reference?: { logits: Float32Array; k: number },
  signal?: AbortSignal,
): Promise<EvalResult> {
  let samples = 0, correct = 0, lossSum = 0;
  let labelled = data.hasLabels;
  await forEachLogitsBatch(session, data, batchSize, (logits, k, start, labels) => {
    const n = logits.length / k;
    for (let r = 0; r < n; r++) {
      const off = r * k;
      const pred = argmax(logits, off, k);
      if (labels) {
        const y = Number(labels[r]);
        if (pred === y) correct++;
        let max = -Infinity;
        for (let j = 0; j < k; j++) max = Math.max(max, logits[off + j]);
        let sum = 0;
        for (let j = 0; j < k; j++) sum += Math.exp(logits[off + j] - max);
        lossSum += Math.log(sum) + max - logits[off + y];
      } else if (reference) {
        if (pred === argmax(reference.logits, (start + r) * reference.k, reference.k)) correct++;
      }
    }
    samples += n;
    labelled = labelled && labels !== null;
  }, signal);
  const scored = labelled || reference !== undefined;
  return { samples, accuracy: scored && samples > 0 ? correct / samples : null, loss: labelled && samples > 0 ? lossSum / samples : null };
}

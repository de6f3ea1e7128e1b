/**
 * Whether a model's first output is class scores, [N, K] (or [N, K, 1, 1], a classifier that ends in a 1×1 conv):
 * what accuracy, agreement, the data sanity check and the fine-tune's losses read. Dense-prediction models
 * (segmentation: [N, K, H, W]) are sparsified one-shot, and checked by comparing their outputs numerically, but
 * they have no per-sample top-1 to score; reading their outputs as [N, K] would index out of range or, worse,
 * score nonsense.
 */
import { Dataset } from '../data/dataset';
import { formatShape } from '../data/validate';
import { inputError } from '../errors';
import { OnnxModel } from '../onnx/onnxModel';
import { onnx } from '../onnx/proto';
import { createSession, ort } from './ortSession';

export type Dim = number | string | null;

/** K when `dims` (batch first) is class scores: [N, K] or [N, K, 1, …, 1]; otherwise null. */
export function classCount(dims: readonly Dim[]): number | null {
  if (dims.length < 2) return null;
  const k = dims[1];
  if (typeof k !== 'number' || k < 1) return null;
  for (let i = 2; i < dims.length; i++) if (dims[i] !== 1) return null;
  return k;
}

export interface ClassifierOutput {
  name: string;
  /** As declared by the graph (batch first); empty when the graph does not declare the shape. */
  dims: Dim[];
  /** true: class scores; false: declared as something else; null: not declared (known when it runs). */
  classifier: boolean | null;
}

/** What the declared dims say: [N, K] (K may be symbolic) is scores; symbolic trailing dims leave it open. */
function declaredKind(dims: readonly Dim[]): boolean | null {
  if (dims.length === 0) return null;
  if (dims.length < 2) return false;
  if (dims.length === 2) return true;
  const trailing = dims.slice(2);
  if (trailing.some((d) => typeof d === 'number' && d !== 1)) return false;
  return trailing.every((d) => d === 1) ? true : null;
}

/** A value's dims as the graph declares them: numbers, symbolic names, null where unknown; [] when undeclared. */
export function declaredDims(v: onnx.IValueInfoProto | undefined): Dim[] {
  return (v?.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? Number(d.dimValue) : null));
}

export function classifierOutputOf(model: OnnxModel): ClassifierOutput {
  const out = model.graph.output?.[0];
  const dims = declaredDims(out);
  return { name: out?.name ?? '', dims, classifier: declaredKind(dims) };
}

/**
 * Settles an output the graph leaves open (symbolic spatial dims, as exporters write for dynamic inputs) by
 * running the model on the first sample(s) of `data`; left open if that run fails (the runs that need scores
 * then fail with `runtimeClassCount`'s error).
 */
export async function settleClassifierOutput(o: ClassifierOutput, modelPath: string, data: Dataset, threads?: number): Promise<ClassifierOutput> {
  if (o.classifier !== null || data.count === 0) return o;
  const session = await createSession(modelPath, modelPath, { threads });
  try {
    const meta = session.inputMetadata[0];
    const fixed = meta && meta.isTensor && typeof meta.shape[0] === 'number' && meta.shape[0] > 0 ? meta.shape[0] : 1;
    if (fixed > data.count) return o;
    const b = data.getBatch(Array.from({ length: fixed }, (_, i) => i));
    const [c, h, w] = data.inputShape;
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', b.inputs, [fixed, c, h, w]) });
    const dims = [...out[session.outputNames[0]].dims];
    return { name: o.name, dims, classifier: classCount(dims) !== null };
  } catch {
    return o;
  } finally {
    await session.release();
  }
}

/** Why scores cannot be read from an output, for the error of a run that needs them. */
export function notClassScores(name: string, dims: readonly Dim[]): string {
  return `the model's output '${name}' is ${formatShape(dims)}, not class scores [N, K] (a dense prediction such as segmentation?)`;
}

/**
 * K of one batch's output as run, or an input error naming `file` and the output: the safety net under the
 * checks made from the declared shape (a graph may declare nothing, or declare wrongly).
 */
export function runtimeClassCount(dims: readonly number[], outputName: string, file?: string): number {
  const k = classCount(dims);
  if (k === null) throw inputError(file, `${notClassScores(outputName, dims)}: accuracy, agreement and fine-tuning need class scores`);
  return k;
}

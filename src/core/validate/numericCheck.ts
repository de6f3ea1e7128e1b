/**
 * Runs a sparse model and its dense reference on the same inputs through onnxruntime-node and compares
 * the outputs: does the folded model still compute what it should?
 */
import { inputError } from '../errors';
import { readNpy } from '../io/npy';
import { createSession, ort } from '../runtime/ortSession';
import { NumericCheck } from '../types';
import { mulberry32 } from '../data/random';
import { gaussianFill } from '../data/gaussian';
import { judgeNumericCheck } from './numericVerdict';
import { channelAffine, describeNormalize, parseNormalization, resolveNormalize } from '../data/normalize';
import { noPreprocessingError } from '../data/open';

export interface NumericCheckOptions {
  /** .npy file with inputs for the model's first input; random inputs when absent. */
  inputs?: string;
  samples?: number;
  seed?: number;
  threads?: number;
  /** In-memory inputs for the model's first input (a run's own preprocessed data), instead of a file. */
  batch?: { data: Float32Array; dims: number[]; from: string };
  /**
   * Preprocessing for `inputs` (`SCALE,MEAN,STD` or a preset name), applied along axis 1 as the run data code
   * applies it; `from` says where it came from, for the report.
   */
  normalize?: { spec: string; from: 'option' | 'model metadata' };
  /** How many of the `inputs` rows to run: the first N (default NUMERIC_INPUT_SAMPLES) or 'all'. */
  limit?: number | 'all';
}

/** The numeric check's bounded sample of `--inputs`: seconds, not minutes, on any data set. */
export const NUMERIC_INPUT_SAMPLES = 256;

const ORT_TYPES: Record<string, 'float32' | 'int64' | 'int32' | 'uint8' | 'int8' | 'float64'> = {
  float32: 'float32', float: 'float32', int64: 'int64', int32: 'int32', uint8: 'uint8', int8: 'int8', float64: 'float64', double: 'float64',
};

function randomTensor(type: string, dims: number[], rand: () => number): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const t = ORT_TYPES[type] ?? 'float32';
  if (t === 'float32' || t === 'float64') {
    const data = gaussianFill(n, 1, rand);
    return new ort.Tensor(t, t === 'float32' ? data : Float64Array.from(data), dims);
  }
  if (t === 'int64') return new ort.Tensor(t, new BigInt64Array(n), dims);
  if (t === 'int32') return new ort.Tensor(t, new Int32Array(n), dims);
  if (t === 'int8') return new ort.Tensor(t, new Int8Array(n), dims);
  const u = new Uint8Array(n);
  for (let i = 0; i < n; i++) u[i] = Math.floor(rand() * 256);
  return new ort.Tensor('uint8', u, dims);
}

function inputDims(meta: ort.InferenceSession.ValueMetadata | undefined, batch: number): number[] {
  const shape = meta && meta.isTensor ? meta.shape : [];
  return shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? batch : 1));
}

/** The numbers of one output against the reference's (exported for tests). */
export function compareOutputs(a: Float32Array | Float64Array, b: Float32Array | Float64Array, dims: readonly number[]) {
  let maxAbs = 0, dot = 0, na = 0, nb = 0, lo = Infinity, hi = -Infinity, finite = true, referenceFinite = true;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (!Number.isFinite(x)) finite = false;
    if (!Number.isFinite(y)) referenceFinite = false;
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
    dot += x * y;
    na += x * x;
    nb += y * y;
    if (y < lo) lo = y;
    if (y > hi) hi = y;
  }
  if (!finite) maxAbs = Infinity;
  const cosine = na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb || Number.MIN_VALUE);
  const scaleRatio = nb === 0 ? (na === 0 ? 1 : Infinity) : Math.sqrt(na / nb);
  const referenceRange = a.length > 0 ? hi - lo : 0;
  // Top-1 along the class axis: per sample for [N, K], at every position for a map [N, K, H, W] (segmentation).
  let top1: number | null = null;
  const plane = dims.length === 2 ? 1 : dims.length === 4 ? dims[2] * dims[3] : 0;
  if (plane > 0 && dims[1] > 1) {
    const [n, k] = dims;
    let agree = 0;
    for (let s = 0; s < n; s++) {
      const base = s * k * plane;
      for (let q = 0; q < plane; q++) {
        let ia = 0, ib = 0;
        for (let j = 1; j < k; j++) {
          const at = base + j * plane + q;
          if (a[at] > a[base + ia * plane + q]) ia = j;
          if (b[at] > b[base + ib * plane + q]) ib = j;
        }
        if (ia === ib) agree++;
      }
    }
    top1 = n > 0 ? agree / (n * plane) : null;
  }
  return { maxAbsDiff: maxAbs, cosine: Number.isFinite(cosine) ? cosine : 0, top1Agreement: top1, scaleRatio: Number.isFinite(scaleRatio) ? scaleRatio : Number.MAX_VALUE, referenceRange, finite, referenceFinite };
}

export async function numericCheck(modelPath: string, referencePath: string, opts: NumericCheckOptions = {}): Promise<NumericCheck> {
  const [model, reference] = await Promise.all([
    createSession(modelPath, modelPath, { threads: opts.threads }),
    createSession(referencePath, referencePath, { threads: opts.threads }),
  ]);
  try {
    const samples = opts.samples ?? 8;
    const seed = opts.seed ?? 0;
    const rand = mulberry32(seed);
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of model.inputNames) {
      const meta = model.inputMetadata.find((m) => m.name === name);
      const type = meta && meta.isTensor ? meta.type : 'float32';
      feeds[name] = randomTensor(type, inputDims(meta, samples), rand);
    }
    // The batch actually run: a model with a fixed batch dimension gets that, not `samples`.
    let preprocessingUsed: NumericCheck['preprocessing'];
    let inputsFrom = `random normal (seed ${seed}, batch ${feeds[model.inputNames[0]]?.dims[0] ?? samples})`;
    if (opts.inputs) {
      const npy = await readNpy(opts.inputs);
      const first = model.inputNames[0];
      const meta = model.inputMetadata.find((m) => m.name === first);
      const expected = inputDims(meta, npy.shape[0] ?? 1);
      if (npy.shape.length !== expected.length || npy.shape.some((d, i) => i > 0 && d !== expected[i])) {
        throw inputError(opts.inputs, `inputs have shape [${npy.shape.join(', ')}] but the model's input '${first}' expects [N, ${expected.slice(1).join(', ')}]`);
      }
      // Bytes are never fed silently, scaled or not: the preprocessing is chosen or recorded.
      if (npy.dtype === 'uint8' && !opts.normalize) throw noPreprocessingError(opts.inputs, 'the inputs (uint8)');
      const total = npy.shape[0] ?? 1;
      const limit = opts.limit ?? NUMERIC_INPUT_SAMPLES;
      const rows = limit === 'all' ? total : Math.max(1, Math.min(total, limit));
      const rowSize = npy.shape.slice(1).reduce((a, b) => a * b, 1);
      const stored = (npy.data as ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }).subarray(0, rows * rowSize);
      const data = stored instanceof Float32Array && !opts.normalize ? stored : Float32Array.from(stored);
      let preprocessing: NumericCheck['preprocessing'];
      if (opts.normalize) {
        const normalize = resolveNormalize(opts.normalize.spec);
        const channels = npy.shape.length >= 2 ? npy.shape[1] : 1;
        const plane = npy.shape.slice(2).reduce((a, b) => a * b, 1);
        const { mul, add } = channelAffine(parseNormalization(normalize), channels);
        for (let i = 0; i < data.length; i++) {
          const c = Math.floor(i / plane) % channels;
          data[i] = data[i] * mul[c] + add[c];
        }
        preprocessing = { normalize, label: describeNormalize(normalize), from: opts.normalize.from };
      }
      feeds[first] = new ort.Tensor('float32', data, [rows, ...npy.shape.slice(1)]);
      inputsFrom = rows < total ? `the first ${rows} of ${total} samples of ${opts.inputs}` : opts.inputs;
      if (preprocessing) preprocessingUsed = preprocessing;
    } else if (opts.batch) {
      feeds[model.inputNames[0]] = new ort.Tensor('float32', opts.batch.data, opts.batch.dims);
      inputsFrom = opts.batch.from;
    }
    const [outA, outB] = [await model.run(feeds), await reference.run(feeds)];
    const outputs = model.outputNames.filter((n) => n in outB).map((name) => {
      const a = outA[name], b = outB[name];
      if (a.type !== b.type || a.data.length !== b.data.length) {
        throw inputError(modelPath, `output '${name}' has shape [${a.dims.join(', ')}] but the reference gives [${b.dims.join(', ')}]`);
      }
      return { name, ...compareOutputs(a.data as Float32Array, b.data as Float32Array, a.dims) };
    });
    if (outputs.length === 0) throw inputError(modelPath, `shares no output name with the reference ${referencePath}`);
    return {
      reference: referencePath, inputsFrom, samples: feeds[model.inputNames[0]].dims[0] ?? samples,
      ...(preprocessingUsed ? { preprocessing: preprocessingUsed } : {}), outputs, verdict: judgeNumericCheck({ outputs }),
    };
  } finally {
    await Promise.all([model.release(), reference.release()]);
  }
}

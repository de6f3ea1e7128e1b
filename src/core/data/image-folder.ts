/**
 * A folder of images with one sub-folder per class (torchvision's ImageFolder layout):
 *
 *   DIR/cat/001.png, DIR/cat/002.jpg, DIR/dog/a.jpeg, ...
 *
 * Class ids are the sub-folder names in sorted (code point) order, as torchvision assigns them, so a model
 * trained there sees the same ids. Images are found recursively inside each class folder; files that are not
 * .png/.jpg/.jpeg are ignored, and so are names starting with '.' (.DS_Store, .ipynb_checkpoints).
 *
 * Each image is decoded when a batch first needs it, converted to the model's channel count (RGB, or luma for
 * 1-channel models), resized to the model's H×W with PIL-style bilinear filtering (`fit: 'stretch'`, the
 * default, ignores the aspect ratio; `'crop'` takes the largest centred region with the model's aspect ratio,
 * i.e. resize-shorter-side + centre-crop), and normalised (default bytes → [0, 1]). A small LRU cache of
 * finished samples (64 MiB by default) saves re-decoding across batches and epochs of small data sets.
 */
import * as fs from 'fs';
import * as path from 'path';
import { inputError, usageError } from '../errors';
import { Batch, Dataset, checkIndices } from './dataset';
import { decodeImage, toPlanar } from './image-decode';
import { Normalization, UNIT_NORMALIZATION, channelAffine, parseNormalization } from './normalize';
import { centerCropBox, resizeBilinear } from './resize';

export interface ImageFolderOptions {
  dir: string;
  /** The model's [C, H, W]; C must be 1 or 3. */
  inputShape: readonly [number, number, number];
  normalization?: Normalization | string;
  fit?: 'stretch' | 'crop';
  /** Memory for finished samples kept between batches; default 64 MiB (0 disables the cache). */
  cacheBytes?: number;
}

export interface ImageSample {
  file: string;
  label: number;
}

const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
const IMAGE_EXT = /\.(png|jpe?g)$/i;

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory(); // follows symlinks, like torchvision's os.walk(followlinks=True)
  } catch {
    return false;
  }
}

/** Image files under `dir`, recursively, in sorted order. */
function listImages(dir: string): string[] {
  const out: string[] = [];
  const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort(byCodePoint);
  for (const name of names) {
    const p = path.join(dir, name);
    if (isDirectory(p)) out.push(...listImages(p));
    else if (IMAGE_EXT.test(name)) out.push(p);
  }
  return out;
}

/** Scans DIR into class names and (file, label) samples; errors on a missing folder or an empty class. */
export function scanImageFolder(dir: string): { classNames: string[]; samples: ImageSample[] } {
  if (!isDirectory(dir)) throw inputError(dir, 'image folder not found (expected DIR/<class>/<image>.png|jpg)');
  const classNames = fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.') && isDirectory(path.join(dir, n)))
    .sort(byCodePoint);
  if (classNames.length === 0) throw inputError(dir, 'no class sub-folders; expected DIR/<class>/<image>.png|jpg');
  const samples: ImageSample[] = [];
  classNames.forEach((name, label) => {
    const files = listImages(path.join(dir, name));
    if (files.length === 0) throw inputError(path.join(dir, name), 'class folder has no PNG or JPEG images');
    for (const file of files) samples.push({ file, label });
  });
  return { classNames, samples };
}

export class ImageFolderDataset implements Dataset {
  readonly source: string;
  readonly count: number;
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  readonly hasLabels = true;
  readonly classNames: string[];
  readonly samples: readonly ImageSample[];
  readonly normalization: Normalization;

  private readonly fit: 'stretch' | 'crop';
  private readonly mul: Float64Array;
  private readonly add: Float64Array;
  private readonly cacheSize: number;
  /** LRU: Map iteration order is insertion order, so re-inserting on hit keeps the oldest first. */
  private readonly cache = new Map<number, Float32Array>();

  constructor(options: ImageFolderOptions) {
    const [c, h, w] = options.inputShape;
    if (c !== 1 && c !== 3) throw usageError(`image folders can feed 1- or 3-channel models; this model takes ${c} channels`);
    if (![h, w].every((d) => Number.isInteger(d) && d > 0)) {
      throw usageError(`image folders need the model's height and width; got [${options.inputShape.join(', ')}]`);
    }
    const { classNames, samples } = scanImageFolder(options.dir);
    this.source = options.dir;
    this.classNames = classNames;
    this.samples = samples;
    this.count = samples.length;
    this.numClasses = classNames.length;
    this.inputShape = [c, h, w];
    this.fit = options.fit ?? 'stretch';
    const n = options.normalization ?? UNIT_NORMALIZATION;
    this.normalization = typeof n === 'string' ? parseNormalization(n) : n;
    ({ mul: this.mul, add: this.add } = channelAffine(this.normalization, c));
    // Bounded in bytes, not samples: 64 MiB is ~20k MNIST-sized samples but only ~110 at 3×224×224.
    this.cacheSize = Math.floor(Math.max(0, options.cacheBytes ?? DEFAULT_CACHE_BYTES) / (c * h * w * 4));
  }

  getBatch(indices: readonly number[]): Batch {
    checkIndices(indices, this.count, this.source);
    const per = this.inputShape[0] * this.inputShape[1] * this.inputShape[2];
    const inputs = new Float32Array(indices.length * per);
    const labels = new BigInt64Array(indices.length);
    indices.forEach((idx, b) => {
      inputs.set(this.sample(idx), b * per);
      labels[b] = BigInt(this.samples[idx].label);
    });
    return { inputs, labels };
  }

  /** One finished (decoded, converted, resized, normalised) sample, from the cache when possible. */
  private sample(idx: number): Float32Array {
    const hit = this.cache.get(idx);
    if (hit) {
      this.cache.delete(idx);
      this.cache.set(idx, hit);
      return hit;
    }
    const x = this.load(this.samples[idx].file);
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as number);
      this.cache.set(idx, x);
    }
    return x;
  }

  private load(file: string): Float32Array {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      throw inputError(file, `cannot read image: ${(e as Error).message}`);
    }
    const img = decodeImage(bytes, file);
    if (img.width === 0 || img.height === 0) throw inputError(file, 'image has no pixels');
    const [C, H, W] = this.inputShape;
    const planar = toPlanar(img, C as 1 | 3);
    const box = this.fit === 'crop' ? centerCropBox(img.height, img.width, H, W) : undefined;
    const x = resizeBilinear(planar, C, img.height, img.width, H, W, box);
    const plane = H * W;
    for (let c = 0; c < C; c++) {
      const m = this.mul[c];
      const a = this.add[c];
      for (let p = c * plane; p < (c + 1) * plane; p++) x[p] = x[p] * m + a;
    }
    return x;
  }
}

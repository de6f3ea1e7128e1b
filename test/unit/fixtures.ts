/**
 * Model and data builders shared by the layer, CLI, sparsify, training-loop, BN, validate and worker tests.
 * Every model is tiny (a few hundred weights) so a whole test file runs in seconds; every value comes from a
 * seeded PRNG so failures reproduce.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { after } from 'node:test';
import { buildModel, floatTensor, node, tensor, valueInfo } from '../../src/core/onnx/builder';
import { DataType, onnx } from '../../src/core/onnx/proto';
import { mulberry32 } from '../../src/core/data/random';
import { gaussianFill } from '../../src/core/data/gaussian';
import { writeNpy } from '../../src/core/io/npy';

/** Repository root (tests run from out/test/unit/**). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const DEMO_MODEL = path.join(REPO_ROOT, 'media', 'demo', 'mnist-cnn.onnx');
export const MAXQ_BIN = path.join(REPO_ROOT, 'bin', 'maxq.js');

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp folder, removed when the test file finishes. */
export function tempDir(prefix = 'maxq-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Files in `dir` (names only, sorted), hidden ones included: temp files are dot-files. */
export function listDir(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

export function writeModelFile(dir: string, name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

export function randn(n: number, seed: number, std = 1): Float32Array {
  return gaussianFill(n, std, mulberry32(seed));
}

function conv(
  nodes: onnx.INodeProto[], inits: onnx.ITensorProto[], name: string, x: string, cin: number, cout: number, k: number,
  rand: () => number, opts: { bias?: boolean; group?: number } = {},
): string {
  const group = opts.group ?? 1;
  const w = gaussianFill(cout * (cin / group) * k * k, Math.sqrt(2 / ((cin / group) * k * k)), rand);
  inits.push(floatTensor(`${name}.weight`, [cout, cin / group, k, k], w));
  const inputs = [x, `${name}.weight`];
  if (opts.bias) {
    inits.push(floatTensor(`${name}.bias`, [cout], gaussianFill(cout, 0.1, rand)));
    inputs.push(`${name}.bias`);
  }
  const pad = (k - 1) / 2;
  nodes.push(node('Conv', inputs, [`${name}.out`], { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [1, 1], group }, name));
  return `${name}.out`;
}

function bn(nodes: onnx.INodeProto[], inits: onnx.ITensorProto[], name: string, x: string, c: number, rand: () => number): string {
  inits.push(floatTensor(`${name}.weight`, [c], Array.from({ length: c }, () => 0.8 + 0.4 * rand())));
  inits.push(floatTensor(`${name}.bias`, [c], Array.from({ length: c }, () => 0.2 * (rand() - 0.5))));
  inits.push(floatTensor(`${name}.running_mean`, [c], Array.from({ length: c }, () => 0.1 * (rand() - 0.5))));
  inits.push(floatTensor(`${name}.running_var`, [c], Array.from({ length: c }, () => 0.9 + 0.2 * rand())));
  nodes.push(node('BatchNormalization', [x, `${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`], [`${name}.out`], { epsilon: { float: 1e-5 }, momentum: { float: 0.9 } }, name));
  return `${name}.out`;
}

export interface TinyCnnOptions {
  seed?: number;
  /** Input channels, height = width, classes. Defaults 4, 8, 3. */
  channels?: number;
  size?: number;
  classes?: number;
  /** An extra op (no gradient rule) between the first ReLU and the second conv. */
  extraOp?: 'Erf' | 'LRN' | 'Softplus';
  /** Put a MatMul `mm.weight` [8 in, 12 out] + ReLU between Flatten and fc (then fc is [K, 12]). */
  matmulHead?: boolean;
  /** Output features of that MatMul (default 12). */
  mmOut?: number;
  /**
   * A dense-prediction head instead of GAP · Flatten · fc: a 1×1 conv 8→K giving [N, K, S, S] (a segmentation
   * map), declared with its sizes or, as exporters write for dynamic inputs, with symbolic ones.
   */
  denseHead?: 'declared' | 'symbolic';
}

/**
 * input [N, 4, 8, 8] → stem.conv 4→8 3×3 · stem.bn · ReLU · conv2 8→8 3×3 (+bias) · ReLU · GAP · Flatten ·
 * fc Gemm 8→3 (transB = 1) → logits [N, 3].
 * Policy at 2:4: stem.conv.weight is the first conv (dense), conv2.weight is sparsified, fc.weight is the final
 * classifier (dense unless named exactly).
 */
export function tinyCnn(o: TinyCnnOptions = {}): Uint8Array {
  const rand = mulberry32(o.seed ?? 1);
  const C = o.channels ?? 4, S = o.size ?? 8, K = o.classes ?? 3;
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let x = conv(nodes, inits, 'stem.conv', 'input', C, 8, 3, rand);
  x = bn(nodes, inits, 'stem.bn', x, 8, rand);
  nodes.push(node('Relu', [x], ['relu1.out'], {}, 'relu1'));
  x = 'relu1.out';
  if (o.extraOp === 'Erf') {
    nodes.push(node('Erf', [x], ['extra.out'], {}, 'extra_erf'));
    x = 'extra.out';
  } else if (o.extraOp === 'Softplus') {
    nodes.push(node('Softplus', [x], ['extra.out'], {}, 'extra_softplus'));
    x = 'extra.out';
  } else if (o.extraOp === 'LRN') {
    nodes.push(node('LRN', [x], ['extra.out'], { size: 3 }, 'extra_lrn'));
    x = 'extra.out';
  }
  x = conv(nodes, inits, 'conv2', x, 8, 8, 3, rand, { bias: true });
  nodes.push(node('Relu', [x], ['relu2.out'], {}, 'relu2'));
  if (o.denseHead) {
    const y = conv(nodes, inits, 'head', 'relu2.out', 8, K, 1, rand, { bias: true });
    nodes.push(node('Identity', [y], ['scores'], {}, 'scores'));
    return buildModel({
      name: 'tiny-seg',
      nodes,
      inputs: [valueInfo('input', DataType.FLOAT, ['N', C, S, S])],
      outputs: [valueInfo('scores', DataType.FLOAT, o.denseHead === 'declared' ? ['N', K, S, S] : ['N', 'K', 'H', 'W'])],
      initializers: inits,
    });
  }
  nodes.push(node('GlobalAveragePool', ['relu2.out'], ['gap.out'], {}, 'gap'));
  nodes.push(node('Flatten', ['gap.out'], ['flat.out'], {}, 'flatten'));
  let feat = 'flat.out', F = 8;
  if (o.matmulHead) {
    const out = o.mmOut ?? 12;
    inits.push(floatTensor('mm.weight', [8, out], gaussianFill(8 * out, Math.sqrt(2 / 8), rand)));
    nodes.push(node('MatMul', [feat, 'mm.weight'], ['mm.out'], {}, 'mm'));
    nodes.push(node('Relu', ['mm.out'], ['mm.relu'], {}, 'mm_relu'));
    feat = 'mm.relu';
    F = out;
  }
  inits.push(floatTensor('fc.weight', [K, F], gaussianFill(K * F, Math.sqrt(1 / F), rand)));
  inits.push(floatTensor('fc.bias', [K], new Float32Array(K)));
  nodes.push(node('Gemm', [feat, 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'));
  return buildModel({
    name: 'tiny-cnn',
    nodes,
    inputs: [valueInfo('input', DataType.FLOAT, ['N', C, S, S])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['N', K])],
    initializers: inits,
  });
}

/**
 * input [N, 4, 4, 4] → c1 1×1 4→8 · bn1 · ReLU · c2 1×1 8→8 · bn2 · ReLU · GAP · Flatten · fc 8→3.
 * 1×1 convs so a JS reference forward is a few lines. c1 is the stem (select it with include ['c1.weight']).
 */
export function convBnModel(seed = 3, opset = 17): Uint8Array {
  const rand = mulberry32(seed);
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let x = conv(nodes, inits, 'c1', 'input', 4, 8, 1, rand);
  x = bn(nodes, inits, 'bn1', x, 8, rand);
  nodes.push(node('Relu', [x], ['r1.out'], {}, 'r1'));
  x = conv(nodes, inits, 'c2', 'r1.out', 8, 8, 1, rand);
  x = bn(nodes, inits, 'bn2', x, 8, rand);
  nodes.push(node('Relu', [x], ['r2.out'], {}, 'r2'));
  nodes.push(node('GlobalAveragePool', ['r2.out'], ['gap.out'], {}, 'gap'));
  nodes.push(node('Flatten', ['gap.out'], ['flat.out'], {}, 'flatten'));
  inits.push(floatTensor('fc.weight', [3, 8], gaussianFill(24, 0.3, rand)));
  nodes.push(node('Gemm', ['flat.out', 'fc.weight'], ['logits'], { transB: 1 }, 'fc'));
  return buildModel({
    nodes,
    inputs: [valueInfo('input', DataType.FLOAT, ['N', 4, 4, 4])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['N', 3])],
    initializers: inits,
  }, opset);
}

/**
 * Every case of layer discovery in one graph (shapes consistent, runnable by onnxruntime):
 *   stem      Conv 4→8 3×3 on the graph input                 → first conv
 *   dw        Conv group 8 (depthwise)                         → depthwise conv
 *   grp       Conv group 2                                     → grouped conv (group=2)
 *   to6       Conv 8→6 1×1                                     → selected
 *   cin6      Conv 6→8 1×1                                     → Cin 6 is not a multiple of M=4
 *   dyn       Conv whose weight is the graph input `dyn.w`     → weight is not a constant initializer
 *   idconv    Conv, weight through Identity                    → selected, via [Identity]
 *   qconv     Conv, int8 weight through DequantizeLinear       → selected, via [DequantizeLinear]
 *   fc1       Gemm transB=1, W [16, 8]                         → linear (opt-in)
 *   fc2       Gemm transB=0, W [16, 12] ([in, out])           → linear, canonical [12, 16], transposed
 *   mm        MatMul, B [12, 8] ([in, out])                    → linear, canonical [8, 12], transposed
 *   mmt       MatMul, B = Transpose(mmt.w [4, 8])              → linear, via [Transpose], canonical [4, 8]
 *   cls       Gemm transB=1 [4, 4] feeding the graph output    → final classifier
 */
export function layerZoo(seed = 5): Uint8Array {
  const rand = mulberry32(seed);
  const g = (n: number, std = 0.5) => gaussianFill(n, std, rand);
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  const convNode = (name: string, x: string, w: string, k: number, group = 1) =>
    nodes.push(node('Conv', [x, w], [`${name}.out`], { kernel_shape: [k, k], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0], group }, name));

  inits.push(floatTensor('stem.w', [8, 4, 3, 3], g(288)));
  convNode('stem', 'X', 'stem.w', 3);
  inits.push(floatTensor('dw.w', [8, 1, 3, 3], g(72)));
  convNode('dw', 'stem.out', 'dw.w', 3, 8);
  inits.push(floatTensor('grp.w', [8, 4, 1, 1], g(32)));
  convNode('grp', 'dw.out', 'grp.w', 1, 2);
  inits.push(floatTensor('to6.w', [6, 8, 1, 1], g(48)));
  convNode('to6', 'grp.out', 'to6.w', 1);
  inits.push(floatTensor('cin6.w', [8, 6, 1, 1], g(48)));
  convNode('cin6', 'to6.out', 'cin6.w', 1);
  convNode('dyn', 'cin6.out', 'dyn.w', 1);
  inits.push(floatTensor('id.src', [8, 8, 1, 1], g(64)));
  nodes.push(node('Identity', ['id.src'], ['id.w'], {}, 'id_w'));
  convNode('idconv', 'dyn.out', 'id.w', 1);
  const q = new Int8Array(64);
  for (let i = 0; i < 64; i++) q[i] = Math.round((rand() - 0.5) * 200);
  inits.push(tensor('q.w', [8, 8, 1, 1], q));
  inits.push(floatTensor('q.scale', [], [0.01]));
  inits.push(tensor('q.zp', [], new Int8Array(1)));
  nodes.push(node('DequantizeLinear', ['q.w', 'q.scale', 'q.zp'], ['q.deq'], {}, 'q_dq'));
  convNode('qconv', 'idconv.out', 'q.deq', 1);
  nodes.push(node('GlobalAveragePool', ['qconv.out'], ['gap.out'], {}, 'gap'));
  nodes.push(node('Flatten', ['gap.out'], ['v0'], {}, 'flatten'));
  inits.push(floatTensor('fc1.w', [16, 8], g(128)));
  nodes.push(node('Gemm', ['v0', 'fc1.w'], ['v1'], { transB: 1 }, 'fc1'));
  inits.push(floatTensor('fc2.w', [16, 12], g(192)));
  nodes.push(node('Gemm', ['v1', 'fc2.w'], ['v2'], { transB: 0 }, 'fc2'));
  inits.push(floatTensor('mm.w', [12, 8], g(96)));
  nodes.push(node('MatMul', ['v2', 'mm.w'], ['v3'], {}, 'mm'));
  inits.push(floatTensor('mmt.w', [4, 8], g(32)));
  nodes.push(node('Transpose', ['mmt.w'], ['mmt.wt'], { perm: [1, 0] }, 'mmt_T'));
  nodes.push(node('MatMul', ['v3', 'mmt.wt'], ['v4'], {}, 'mmt'));
  inits.push(floatTensor('cls.w', [4, 4], g(16)));
  nodes.push(node('Gemm', ['v4', 'cls.w'], ['Y'], { transB: 1 }, 'cls'));
  return buildModel({
    nodes,
    inputs: [valueInfo('X', DataType.FLOAT, [1, 4, 8, 8]), valueInfo('dyn.w', DataType.FLOAT, [8, 8, 1, 1])],
    outputs: [valueInfo('Y', DataType.FLOAT, [1, 4])],
    initializers: inits,
  });
}

/**
 * X [N, 8] → MatMul W1 [8, 12] ([in, out]) → ReLU → Gemm W2 [4, 12] (transB = 1, final classifier) → Y [N, 4].
 * W1 is a linear layer: opt-in with --include.
 */
export function mlpModel(seed = 7): Uint8Array {
  const rand = mulberry32(seed);
  return buildModel({
    nodes: [
      node('MatMul', ['X', 'W1'], ['h'], {}, 'mm1'),
      node('Relu', ['h'], ['hr'], {}, 'relu'),
      node('Gemm', ['hr', 'W2'], ['Y'], { transB: 1 }, 'head'),
    ],
    inputs: [valueInfo('X', DataType.FLOAT, ['N', 8])],
    outputs: [valueInfo('Y', DataType.FLOAT, ['N', 4])],
    initializers: [floatTensor('W1', [8, 12], gaussianFill(96, 0.5, rand)), floatTensor('W2', [4, 12], gaussianFill(48, 0.5, rand))],
  });
}

/** A model with no layer N:M can apply to at 2:4: one depthwise conv and a first conv with 3 input channels. */
export function noEligibleModel(): Uint8Array {
  const rand = mulberry32(11);
  return buildModel({
    nodes: [
      node('Conv', ['X', 'a.w'], ['a'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'first'),
      node('Conv', ['a', 'dw.w'], ['Y'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 4 }, 'depthwise'),
    ],
    inputs: [valueInfo('X', DataType.FLOAT, [1, 3, 6, 6])],
    outputs: [valueInfo('Y', DataType.FLOAT, [1, 4, 6, 6])],
    initializers: [floatTensor('a.w', [4, 3, 3, 3], gaussianFill(108, 0.3, rand)), floatTensor('dw.w', [4, 1, 3, 3], gaussianFill(36, 0.3, rand))],
  });
}

/**
 * A model whose checked layers carry hand-placed N:M violations at known coordinates:
 *   stem   Conv 4→8 3×3 on the input (dense; skipped as first conv)
 *   target Conv 8→2 3×3, weight 2:4 everywhere except (o 0, channels 0..3, kernel (0, 1)) with 4 non-zeros and
 *          (o 1, channels 4..7, kernel (2, 0)) with 3 non-zeros
 *   GAP · Flatten · head Gemm transB = 0, B [8 in, 3 out] after a Tile-free reshape: its column o = 2 has 3
 *          non-zeros in rows 4..6 (canonical o 2, i 4); every other group 1 non-zero.
 * Returns the model plus the expected violations.
 */
export function craftedViolations(): { bytes: Uint8Array; target: { o: number; i: number; h: number; w: number; nonZeros: number }[]; head: { o: number; i: number; h: number; w: number; nonZeros: number }[] } {
  const rand = mulberry32(13);
  // target: [O=2, I=8, 3, 3], zeros except a legal 2:4 pattern: channel g*4 + 0 and g*4 + 2 non-zero.
  const O = 2, I = 8, K = 3;
  const t = new Float32Array(O * I * K * K);
  const idx = (o: number, i: number, h: number, w: number) => ((o * I + i) * K + h) * K + w;
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let p = 0; p < K * K; p++) {
    if (i % 4 === 0 || i % 4 === 2) t[idx(o, i, Math.floor(p / K), p % K)] = 0.5 + rand();
  }
  for (let j = 0; j < 4; j++) t[idx(0, j, 0, 1)] = 1 + j; // 4 non-zeros
  t[idx(1, 5, 2, 0)] = 0.75; // channels 4..7 at (2, 0): 4, 5, 6 → 3 non-zeros
  // head: B stored [in 8, out 3]; element (i, o) is canonical Wc[o, i]. Column 2, rows 4..6 non-zero.
  const B = new Float32Array(8 * 3);
  for (let i = 0; i < 8; i++) for (let o = 0; o < 3; o++) if (i % 4 === o % 4) B[i * 3 + o] = 0.3 + rand();
  B[4 * 3 + 2] = 1; B[5 * 3 + 2] = 1; B[6 * 3 + 2] = 1; // plus row 6 (= 4 + 2) already set → 3 in rows 4..7
  const bytes = buildModel({
    nodes: [
      node('Conv', ['X', 'stem.w'], ['a'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'stem'),
      node('Conv', ['a', 'target.w'], ['b'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'target'),
      node('Relu', ['b'], ['c'], {}, 'relu'),
      node('Conv', ['c', 'expand.w'], ['d'], { kernel_shape: [1, 1] }, 'expand'),
      node('GlobalAveragePool', ['d'], ['e'], {}, 'gap'),
      node('Flatten', ['e'], ['f'], {}, 'flatten'),
      node('Gemm', ['f', 'head.w'], ['Y'], { transB: 0 }, 'head'),
    ],
    inputs: [valueInfo('X', DataType.FLOAT, [1, 4, 6, 6])],
    outputs: [valueInfo('Y', DataType.FLOAT, [1, 3])],
    initializers: [
      floatTensor('stem.w', [8, 4, 3, 3], gaussianFill(288, 0.3, rand)),
      floatTensor('target.w', [O, I, K, K], t),
      // expand: 2 → 8 channels (Cin 2 is not a multiple of 4: skipped, so the head gets 8 features)
      floatTensor('expand.w', [8, 2, 1, 1], gaussianFill(16, 0.3, rand)),
      floatTensor('head.w', [8, 3], B),
    ],
  });
  return {
    bytes,
    // OIHW order of the first element: (o 0, g 0, p 1) comes before (o 1, g 1, p 6).
    target: [{ o: 0, i: 0, h: 0, w: 1, nonZeros: 4 }, { o: 1, i: 4, h: 2, w: 0, nonZeros: 3 }],
    head: [{ o: 2, i: 4, h: 0, w: 0, nonZeros: 3 }],
  };
}

/**
 * A labelled synthetic image set for the tiny CNN: class k has a bright patch in quadrant k of channel k,
 * plus Gaussian noise. Learnable in a couple of epochs; written as float32 NCHW and int64 labels.
 */
export function syntheticImages(count: number, seed: number, o: { channels?: number; size?: number; classes?: number } = {}): { x: Float32Array; y: BigInt64Array; shape: [number, number, number, number] } {
  const C = o.channels ?? 4, S = o.size ?? 8, K = o.classes ?? 3;
  const rand = mulberry32(seed);
  const noise = gaussianFill(count * C * S * S, 0.3, rand);
  const x = new Float32Array(noise);
  const y = new BigInt64Array(count);
  const half = S / 2;
  for (let n = 0; n < count; n++) {
    const k = n % K;
    y[n] = BigInt(k);
    const r0 = k & 1 ? half : 0, c0 = k & 2 ? half : 0;
    for (let r = 0; r < half; r++) for (let c = 0; c < half; c++) x[((n * C + (k % C)) * S + r0 + r) * S + c0 + c] += 1.5;
  }
  return { x, y, shape: [count, C, S, S] };
}

/** Writes syntheticImages as inputs (and labels unless `labels` is false) .npy files in `dir`. */
export function writeSyntheticNpy(dir: string, count: number, seed: number, labels = true, prefix = 'train'): { inputs: string; labels?: string } {
  const d = syntheticImages(count, seed);
  const inputs = path.join(dir, `${prefix}-x.npy`);
  writeNpy(inputs, d.shape, d.x);
  if (!labels) return { inputs };
  const lab = path.join(dir, `${prefix}-y.npy`);
  writeNpy(lab, [count], d.y);
  return { inputs, labels: lab };
}

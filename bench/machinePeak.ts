/**
 * What the training step could take at best on this machine, measured in the same bench run: the arithmetic of
 * its convolutions (forward, dX, dW) at the fastest rate onnxruntime's CPU kernels reach here.
 *
 * The rate is the faster of two best cases, each best of several runs on the step's thread count: a large square
 * MatMul (MLAS's SGEMM at its best shape; the dW products and the Gemm forms use it) and a chain of blocked NCHWc
 * 3×3 convs with constant weights (MLAS's direct conv kernels, which onnxruntime keeps in the blocked layout from
 * one conv to the next: the forward and stride-1 dX convs use them, and they run faster than SGEMM here). No conv
 * of the step runs faster than the faster of the two, so flops / rate is a floor for the convolutions alone,
 * before batch norm, activations, masks and the optimizer.
 */
import * as ort from 'onnxruntime-node';
import { DataType } from '../src/core/onnx/proto';
import { buildModel, floatTensor, node, valueInfo } from '../src/core/onnx/builder';
import { ConvLayerInfo } from '../src/core/training/graph/context';
import { createSession } from '../src/core/runtime/ortSession';

/** Floating-point operations (2 per multiply-add) of one training step's convolutions. */
export interface ConvStepFlops {
  forward: number;
  dx: number;
  dw: number;
  total: number;
  convs: number;
}

/** Multiply-adds of one Conv: N·K·Ho·Wo·(C/g)·kh·kw. */
export function convMacs(l: ConvLayerInfo): number {
  const [N, K, Ho, Wo] = l.output;
  const [, cg, kh, kw] = l.weightDims;
  return N * K * Ho * Wo * cg * kh * kw;
}

/**
 * The step's conv flops: every conv's forward and dW, and dX for every conv whose input needs a gradient
 * (`needsDx`; the stem's input is the data).
 */
export function convStepFlops(layers: readonly ConvLayerInfo[], needsDx: (l: ConvLayerInfo) => boolean): ConvStepFlops {
  let forward = 0, dx = 0;
  for (const l of layers) {
    const f = 2 * convMacs(l);
    forward += f;
    if (needsDx(l)) dx += f;
  }
  return { forward, dx, dw: forward, total: 2 * forward + dx, convs: layers.length };
}

/** The best MatMul rate (GFLOP/s) of an n×n×n product on `threads` intra-op threads, best of `runs`. */
export async function matMulPeakGflops(threads: number, n = 2048, runs = 6): Promise<number> {
  const bytes = buildModel({
    name: 'peak',
    nodes: [node('MatMul', ['a', 'b'], ['c'])],
    inputs: [valueInfo('a', DataType.FLOAT, [n, n]), valueInfo('b', DataType.FLOAT, [n, n])],
    outputs: [valueInfo('c', DataType.FLOAT, [n, n])],
  });
  const a = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const t = new ort.Tensor('float32', a, [n, n]);
  return bestRateGflops(bytes, 'MatMul peak', threads, { a: t, b: t }, 2 * n ** 3, runs);
}

/**
 * The best rate (GFLOP/s) of `depth` chained 3×3 convs (pads 1, `channels` in and out, constant weights, so that
 * onnxruntime runs them as blocked NCHWc convs) on a [batch, channels, size, size] input, best of `runs`. The
 * output is pooled to [batch, channels, 1, 1], so copying it out costs nothing against the convs.
 */
export async function convPeakGflops(threads: number, runs = 6, shape = { batch: 64, channels: 64, size: 32, depth: 8 }): Promise<number> {
  const { batch, channels: c, size, depth } = shape;
  const nodes = [];
  const initializers = [];
  // Weights in ±0.05: each conv scales its input by ≈ 0.7, so eight stay far from overflow and denormals.
  const w = new Float32Array(c * c * 9);
  for (let i = 0; i < w.length; i++) w[i] = (((i * 7919) % 1000) / 1000 - 0.5) / 10;
  let x = 'x';
  for (let d = 0; d < depth; d++) {
    initializers.push(floatTensor(`w${d}`, [c, c, 3, 3], w));
    nodes.push(node('Conv', [x, `w${d}`], [`y${d}`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }));
    x = `y${d}`;
  }
  nodes.push(node('GlobalAveragePool', [x], ['out']));
  const bytes = buildModel({
    name: 'conv-peak',
    nodes,
    inputs: [valueInfo('x', DataType.FLOAT, [batch, c, size, size])],
    outputs: [valueInfo('out', DataType.FLOAT, [batch, c, 1, 1])],
    initializers,
  });
  const a = new Float32Array(batch * c * size * size);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  const t = new ort.Tensor('float32', a, [batch, c, size, size]);
  return bestRateGflops(bytes, 'conv peak', threads, { x: t }, 2 * depth * batch * c * c * 9 * size * size, runs);
}

/** GFLOP/s of the fastest of `runs` runs of a model doing `flops` per run, after one warm-up run. */
async function bestRateGflops(bytes: Uint8Array, label: string, threads: number, feeds: Record<string, ort.Tensor>, flops: number, runs: number): Promise<number> {
  const session = await createSession(bytes, label, { threads, allowSpinning: false });
  try {
    await session.run(feeds);
    let best = Infinity;
    for (let r = 0; r < runs; r++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return flops / (best * 1e6);
  } finally {
    await session.release();
  }
}

/** The faster of the MatMul and the blocked-conv rates, and which it was. */
export async function machinePeak(threads: number): Promise<{ gflops: number; matMul: number; conv: number }> {
  const matMul = await matMulPeakGflops(threads);
  const conv = await convPeakGflops(threads);
  return { gflops: Math.max(matMul, conv), matMul, conv };
}

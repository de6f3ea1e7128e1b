/**
 * What the training step could take at best on this machine, measured in the same bench run: the arithmetic of
 * its convolutions (forward, dX, dW) at the fastest rate onnxruntime's CPU kernels reach here.
 *
 * The rate is a large square MatMul (MLAS's SGEMM at its best shape, the same kernels the convolutions use),
 * best of several runs on the step's thread count. Nothing in the graph can run faster than that, so
 * flops / rate is a floor for the convolutions alone, before batch norm, activations, masks and the optimizer.
 */
import * as ort from 'onnxruntime-node';
import { DataType } from '../src/core/onnx/proto';
import { buildModel, node, valueInfo } from '../src/core/onnx/builder';
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
  const session = await createSession(bytes, 'MatMul peak', { threads, allowSpinning: false });
  try {
    const a = new Float32Array(n * n);
    for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    const t = new ort.Tensor('float32', a, [n, n]);
    await session.run({ a: t, b: t });
    let best = Infinity;
    for (let r = 0; r < runs; r++) {
      const t0 = process.hrtime.bigint();
      await session.run({ a: t, b: t });
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return (2 * n ** 3) / (best * 1e6);
  } finally {
    await session.release();
  }
}

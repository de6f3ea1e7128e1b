/**
 * The NCHWc block size the training graph may use on this machine: the one onnxruntime reports
 * (runtime/nchwcBlock.ts), and only after a blocked conv built by the training graph's own pass
 * (graph/blockedConvs.ts) has computed what a plain Conv computes on random data. The weight layout the pass
 * writes is MLAS's internal one; should an onnxruntime release change it, training falls back to plain convs
 * instead of running a graph that computes something else. Checked once per process (a few ms).
 */
import * as ort from 'onnxruntime-node';
import { buildModel, node, valueInfo } from '../onnx/builder';
import { DataType } from '../onnx/proto';
import { probeNchwcBlock } from '../runtime/nchwcBlock';
import { blockConvs, NCHWC_DOMAIN } from './graph/blockedConvs';
import { GradContext } from './graph/context';

let verified: Promise<number> | undefined;

/** The machine's block size when blocked convs compute correctly here, else 0. */
export function trainingNchwcBlock(): Promise<number> {
  verified ??= probeNchwcBlock().then(async (block) => (block > 1 && (await blockedConvMatches(block)) ? block : 0));
  return verified;
}

/**
 * Whether a graph of one Conv (stride 2, asymmetric pads, a bias, 2·block input and 3·block output channels),
 * rewritten by `blockConvs` with `block`, gives the plain Conv's output (max difference ≤ 1e-4 of the output's
 * scale) on seeded random data. False also when onnxruntime refuses the blocked graph.
 */
export async function blockedConvMatches(block: number): Promise<boolean> {
  const N = 2, C = 2 * block, O = 3 * block, H = 9, K = 3;
  const dims = { x: [N, C, H, H], w: [O, C, K, K], b: [O] };
  const ctx = new GradContext(new Map(Object.entries(dims).map(([k, d]) => [k, { dims: d, dtype: DataType.FLOAT }])), new Set());
  const conv = node('Conv', ['x', 'w', 'b'], ['y'], { kernel_shape: [K, K], strides: [2, 2], pads: [1, 0, 1, 2] }, 'probe');
  const { nodes, blocked } = blockConvs(ctx, [conv], block);
  if (blocked !== 1) return false;
  const spec = (ns: typeof nodes, blockedDomain: boolean) =>
    buildModel(
      {
        nodes: ns,
        inputs: Object.entries(dims).map(([k, d]) => valueInfo(k, DataType.FLOAT, d)),
        outputs: [valueInfo('y', DataType.FLOAT, null)],
        initializers: ctx.initializers,
      },
      17,
      blockedDomain ? { opsetImport: [{ domain: '', version: 17 }, { domain: NCHWC_DOMAIN, version: 1 }] } : {},
    );
  let s = 12345;
  const rand = (n: number) =>
    Float32Array.from({ length: n }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296 - 0.5;
    });
  const feeds = Object.fromEntries(Object.entries(dims).map(([k, d]) => [k, new ort.Tensor('float32', rand(d.reduce((a, b) => a * b, 1)), d)]));
  try {
    const opts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, logSeverityLevel: 4 };
    const plain = (await (await ort.InferenceSession.create(spec([conv], false), opts)).run(feeds)).y.data as Float32Array;
    const got = (await (await ort.InferenceSession.create(spec(nodes, true), opts)).run(feeds)).y.data as Float32Array;
    if (got.length !== plain.length) return false;
    let scale = 0, diff = 0;
    for (let i = 0; i < plain.length; i++) {
      scale = Math.max(scale, Math.abs(plain[i]));
      diff = Math.max(diff, Math.abs(plain[i] - got[i]));
    }
    return diff <= 1e-4 * Math.max(1, scale);
  } catch {
    return false;
  }
}

/**
 * Training-step bench: one forward + loss + backward run of the generated training graph for ResNet-18 in its
 * CIFAR form (3×3 stem, 11.17 M parameters, BN kept), 32×32 inputs, batch 64, 10 classes, onnxruntime-node
 * on the CPU with 2 intra-op threads — the setup of doc §4 (PyTorch's full train step there: 590 ms; the goal is
 * ≤ 0.8× of it). Several backward formulations are timed side by side, and the inference forward as a baseline.
 *
 * Standalone: `node out/bench/trainStep.bench.js [--quick] [--threads N] [--batch N]`.
 */
import * as ort from 'onnxruntime-node';
import { onnx, DataType } from '../src/core/onnx/proto';
import { AttrValue, encodeModel, floatTensor, modelProto, node, valueInfo } from '../src/core/onnx/builder';
import { buildTrainingGraph } from '../src/core/training/graph/trainingGraph';
import { FormulationOptions } from '../src/core/training/graph/context';
import { floatData } from '../src/core/training/graph/onnxUtil';
import { BenchModule, BenchResult, Timing } from './harness';

/** Deterministic small-value init (the values do not matter for timing, only for finite activations). */
function init(name: string, dims: number[], scale: number, seed: number): onnx.ITensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return floatTensor(name, dims, a);
}

/** ResNet-18, CIFAR form, as an inference model with BN kept (PyTorch export with TrainingMode.PRESERVE). */
export function resnet18Cifar(numClasses = 10, blocks = [2, 2, 2, 2], widths = [64, 128, 256, 512]): onnx.IModelProto {
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let seed = 1;
  const conv = (x: string, name: string, cin: number, cout: number, k: number, s: number): string => {
    inits.push(init(`${name}.weight`, [cout, cin, k, k], Math.sqrt(2 / (cin * k * k)) * 1.7, seed++));
    const attrs: Record<string, AttrValue> = { kernel_shape: [k, k], strides: [s, s], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] };
    nodes.push(node('Conv', [x, `${name}.weight`], [`${name}.out`], attrs, name));
    return `${name}.out`;
  };
  const bn = (x: string, name: string, c: number): string => {
    inits.push(
      floatTensor(`${name}.weight`, [c], new Float32Array(c).fill(1)),
      floatTensor(`${name}.bias`, [c], new Float32Array(c)),
      floatTensor(`${name}.running_mean`, [c], new Float32Array(c)),
      floatTensor(`${name}.running_var`, [c], new Float32Array(c).fill(1)),
    );
    nodes.push(node('BatchNormalization', [x, `${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`], [`${name}.out`], { epsilon: { float: 1e-5 }, momentum: { float: 0.9 } }, name));
    return `${name}.out`;
  };
  const relu = (x: string, name: string): string => {
    nodes.push(node('Relu', [x], [`${name}.relu`], {}, `${name}.relu`));
    return `${name}.relu`;
  };
  let x = relu(bn(conv('input', 'conv1', 3, widths[0], 3, 1), 'bn1', widths[0]), 'stem');
  let cin = widths[0];
  blocks.forEach((nb, li) => {
    for (let b = 0; b < nb; b++) {
      const p = `layer${li + 1}.${b}`;
      const stride = b === 0 && li > 0 ? 2 : 1;
      const cout = widths[li];
      const h = relu(bn(conv(x, `${p}.conv1`, cin, cout, 3, stride), `${p}.bn1`, cout), `${p}.a`);
      const y = bn(conv(h, `${p}.conv2`, cout, cout, 3, 1), `${p}.bn2`, cout);
      const sc = stride !== 1 || cin !== cout ? bn(conv(x, `${p}.downsample.0`, cin, cout, 1, stride), `${p}.downsample.1`, cout) : x;
      nodes.push(node('Add', [y, sc], [`${p}.sum`], {}, `${p}.add`));
      x = relu(`${p}.sum`, `${p}.b`);
      cin = cout;
    }
  });
  nodes.push(node('GlobalAveragePool', [x], ['pool'], {}, 'avgpool'), node('Flatten', ['pool'], ['flat'], { axis: 1 }, 'flatten'));
  inits.push(init('fc.weight', [numClasses, cin], 1 / Math.sqrt(cin), seed++), init('fc.bias', [numClasses], 0.01, seed++));
  nodes.push(node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'));
  return modelProto({
    nodes,
    inputs: [valueInfo('input', DataType.FLOAT, ['N', 3, 32, 32])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['N', numClasses])],
    initializers: inits,
  });
}

function median(a: number[]): number {
  const sorted = [...a].sort((p, q) => p - q);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Wall time per run, plus the process CPU time per run (user + system, all ORT threads). Intra-op spinning is
 * off in the sessions, so the CPU time counts work only: on a shared, loaded machine it moves much less than
 * the wall time does.
 */
async function timeAsync(fn: () => Promise<unknown>, runs: number, warmup: number): Promise<Timing & { cpuMedianMs: number }> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { medianMs: median(samples), minMs: Math.min(...samples), samplesMs: samples, cpuMedianMs: median(cpu) };
}

export interface TrainStepOptions {
  batch?: number;
  threads?: number;
  runs?: number;
  warmup?: number;
  variants?: Record<string, FormulationOptions>;
  log?: (s: string) => void;
}

export const DEFAULT_VARIANTS: Record<string, FormulationOptions> = {
  auto: {},
  'im2col+convtranspose': { conv: { dw: 'im2col', dx: 'convtranspose' } },
  'im2col+flip': { conv: { dw: 'im2col', dx: 'flip' } },
  'conv+convtranspose': { conv: { dw: 'conv', dx: 'convtranspose' } },
  'kkgemm+flip': { conv: { dw: 'kkgemm', dx: 'flip' } },
  'onehot+convtranspose': { conv: { dw: 'onehot', dx: 'convtranspose' } },
};

export async function runTrainStepBench(o: TrainStepOptions = {}): Promise<BenchResult[]> {
  const batch = o.batch ?? 64;
  const threads = o.threads ?? 2;
  const runs = o.runs ?? 7;
  const warmup = o.warmup ?? 2;
  const log = o.log ?? (() => undefined);
  const m = resnet18Cifar();
  const inits = new Map((m.graph!.initializer ?? []).map((t) => [t.name!, t]));
  const sessOpts: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  const x = new Float32Array(batch * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37));
  const labels = BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 10));
  const results: BenchResult[] = [];

  // Baseline: inference forward with weights as initializers.
  {
    const sess = await ort.InferenceSession.create(encodeModel(m), sessOpts);
    const feeds = { input: new ort.Tensor('float32', x, [batch, 3, 32, 32]) };
    const t = await timeAsync(() => sess.run(feeds), runs, warmup);
    log(`inference forward: ${t.medianMs.toFixed(1)} ms (min ${t.minMs.toFixed(1)}, CPU ${t.cpuMedianMs.toFixed(0)} ms)`);
    results.push({ name: 'inference forward', medianMs: t.medianMs, minMs: t.minMs, runs, note: `BN kept, weights as initializers; CPU ${t.cpuMedianMs.toFixed(0)} ms` });
    await sess.release();
  }

  for (const [name, formulation] of Object.entries(o.variants ?? DEFAULT_VARIANTS)) {
    const t0 = Date.now();
    const tg = buildTrainingGraph(m, { batchSize: batch, formulation });
    const buildMs = Date.now() - t0;
    const t1 = Date.now();
    const sess = await ort.InferenceSession.create(tg.modelBytes, sessOpts);
    const sessMs = Date.now() - t1;
    const feeds: Record<string, ort.Tensor> = {
      [tg.inputName]: new ort.Tensor('float32', x, tg.inputDims),
      [tg.labelsName]: new ort.Tensor('int64', labels, [batch]),
    };
    for (const p of tg.params) feeds[p.name] = new ort.Tensor('float32', floatData(inits.get(p.sourceInitializer)!), p.dims);
    const t = await timeAsync(() => sess.run(feeds), runs, warmup);
    const note = `CPU ${t.cpuMedianMs.toFixed(0)} ms; ${tg.nodeCount} nodes, build ${buildMs} ms, session ${sessMs} ms; target ≤ 472 ms (0.8 × PyTorch 590 on the doc's machine)`;
    log(`train step ${name}: ${t.medianMs.toFixed(1)} ms (min ${t.minMs.toFixed(1)}; ${note})`);
    results.push({ name: `train step ${name}`, medianMs: t.medianMs, minMs: t.minMs, runs, baseline: 'inference forward', ratio: t.medianMs / results[0].medianMs, note });
    await sess.release();
  }
  return results;
}

export const trainStepBench: BenchModule = {
  name: 'trainStep',
  run: () => runTrainStepBench({ log: (s) => process.stderr.write(`  ${s}\n`) }),
};

if (require.main === module) {
  const argv = process.argv.slice(2);
  const arg = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? Number(argv[i + 1]) : undefined;
  };
  const quick = argv.includes('--quick');
  runTrainStepBench({
    batch: arg('--batch'),
    threads: arg('--threads'),
    runs: quick ? 3 : undefined,
    warmup: quick ? 1 : undefined,
    variants: quick ? { auto: {} } : undefined,
    log: (s) => console.log(s),
  }).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

/**
 * Gradient-check harness for the training-graph generator.
 *
 * `checkVjp` builds the VJP graph of a small forward model (the forward exactly as the training graph prepares
 * it), feeds random inputs and random seeds R for every output, and compares the analytic gradients of
 * L = Σ_o Σ Y_o ⊙ R_o that the backward nodes produce with central finite differences of L, where L is
 * evaluated in float64 from the float32 forward outputs of the same ORT session.
 *
 * Tolerances (relative L2 error over the probed elements, ‖g − fd‖ / ‖fd‖):
 * - ops linear in the perturbed tensor (Conv, Gemm, pools, layout, Add/Mul operands, …): central differences
 *   are exact up to float32 rounding, so a large eps (0.5) is used and the tolerance is 1e-4;
 * - piecewise-linear ops (Relu, Clip, MaxPool, …): inputs are generated away from the kinks by more than eps,
 *   so the same holds;
 * - smooth nonlinear ops (Sigmoid, Softmax, …): eps 1e-2 / 3e-3, tolerance 2e-3 (float32 forward noise
 *   divided by 2·eps, plus O(eps²) truncation);
 * - BatchNormalization and whole models use a float64 JS reference forward for the finite differences
 *   (see reference.ts), because float32 FD of BN is too noisy.
 */
import * as ort from 'onnxruntime-node';
import { onnx, DataType } from '../../../../src/core/onnx/proto';
import { modelProto, valueInfo, floatTensor, node } from '../../../../src/core/onnx/builder';
import { buildVjpGraph } from '../../../../src/core/training/graph/vjp';
import { FormulationOptions } from '../../../../src/core/training/graph/context';
import { floatData } from '../../../../src/core/training/graph/onnxUtil';

export { node, floatTensor, valueInfo };

/** Deterministic PRNG (mulberry32) with a normal sampler. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  array(n: number, f: () => number): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = f();
    return a;
  }
}

export function numel(d: readonly number[]): number {
  return d.reduce((a, b) => a * b, 1);
}

export function randn(rng: Rng, dims: readonly number[], scale = 1): Float32Array {
  return rng.array(numel(dims), () => rng.normal() * scale);
}

/** Values at least `gap` away from every kink in `kinks` (for piecewise-linear ops). */
export function awayFrom(rng: Rng, dims: readonly number[], kinks: number[], gap: number, scale = 2): Float32Array {
  return rng.array(numel(dims), () => {
    for (;;) {
      const v = rng.normal() * scale;
      if (kinks.every((k) => Math.abs(v - k) > gap)) return v;
    }
  });
}

/** Distinct values spaced ≥ gap apart in random order (MaxPool inputs without near-ties). */
export function distinct(rng: Rng, dims: readonly number[], gap: number): Float32Array {
  const n = numel(dims);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const a = new Float32Array(n);
  idx.forEach((p, i) => (a[p] = (i - n / 2) * gap));
  return a;
}

export interface ModelSpec {
  inputs: [string, number[]][];
  outputs: string[];
  nodes: onnx.INodeProto[];
  inits?: onnx.ITensorProto[];
  opset?: number;
}

export function model(spec: ModelSpec): onnx.IModelProto {
  return modelProto(
    {
      nodes: spec.nodes,
      inputs: spec.inputs.map(([n, d]) => valueInfo(n, DataType.FLOAT, d)),
      outputs: spec.outputs.map((o) => valueInfo(o, DataType.FLOAT, null)),
      initializers: spec.inits ?? [],
    },
    spec.opset ?? 17,
  );
}

export async function session(bytes: Uint8Array, threads = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'all' });
}

export function f32(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, [...dims]);
}

export function i64(values: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);
}

export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

export function l2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] ** 2;
  return Math.sqrt(s);
}

export interface VjpCase {
  model: onnx.IModelProto;
  wrt: string[];
  /** Values for data inputs (and, optionally, initializers in wrt); others are random normal. */
  feeds?: Record<string, Float32Array>;
  eps: number;
  tol: number;
  /** Max probed elements per tensor (random subset). */
  probes?: number;
  seed?: number;
  formulation?: FormulationOptions;
}

export interface GradReport {
  name: string;
  relErr: number;
  /** ‖fd‖ over the probes: checks are meaningful only when this is not ~0. */
  fdNorm: number;
  analytic: Float32Array;
}

/** Analytic VJP gradients vs central finite differences; returns one report per wrt tensor. */
export async function checkVjp(c: VjpCase): Promise<GradReport[]> {
  const rng = new Rng(c.seed ?? 1234);
  const vjp = buildVjpGraph(c.model, { wrt: c.wrt, formulation: c.formulation });
  const sess = await session(vjp.modelBytes);
  const inits = new Map((c.model.graph!.initializer ?? []).map((t) => [t.name!, t]));
  const values = new Map<string, { data: Float32Array; dims: number[] }>();
  for (const inp of vjp.inputs) {
    const given = c.feeds?.[inp.name];
    const init = inits.get(inp.name);
    const data = given ?? (init ? floatData(init) : randn(rng, inp.dims));
    values.set(inp.name, { data: Float32Array.from(data), dims: inp.dims });
  }
  const seeds = new Map<string, Float32Array>();
  for (const [o, s] of Object.entries(vjp.seedInputs)) seeds.set(s, randn(rng, vjp.outputDims[o]));
  function feedsOf(): Record<string, ort.Tensor> {
    const f: Record<string, ort.Tensor> = {};
    for (const [n, v] of values) f[n] = f32(v.data, v.dims);
    for (const [o, s] of Object.entries(vjp.seedInputs)) f[s] = f32(seeds.get(s)!, vjp.outputDims[o]);
    return f;
  }
  const out = await sess.run(feedsOf());
  for (const o of vjp.outputs) {
    const got = [...out[o].dims].join(',');
    const want = vjp.outputDims[o].join(',');
    if (got !== want) throw new Error(`static shape of ${o} is [${want}] but onnxruntime produced [${got}]`);
  }
  async function loss(): Promise<number> {
    const r = await sess.run(feedsOf());
    let l = 0;
    for (const [o, s] of Object.entries(vjp.seedInputs)) {
      const y = r[o].data as Float32Array;
      const rr = seeds.get(s)!;
      for (let i = 0; i < y.length; i++) l += y[i] * rr[i];
    }
    return l;
  }
  const reports: GradReport[] = [];
  for (const w of c.wrt) {
    const analytic = out[vjp.gradOutputs[w]].data as Float32Array;
    const v = values.get(w)!;
    const n = v.data.length;
    const maxProbes = c.probes ?? 48;
    const idx = n <= maxProbes ? Array.from({ length: n }, (_, i) => i) : pick(rng, n, maxProbes);
    const fd: number[] = [];
    const an: number[] = [];
    for (const i of idx) {
      const orig = v.data[i];
      v.data[i] = orig + c.eps;
      const lp = await loss();
      v.data[i] = orig - c.eps;
      const lm = await loss();
      v.data[i] = orig;
      fd.push((lp - lm) / (2 * c.eps));
      an.push(analytic[i]);
    }
    reports.push({ name: w, relErr: relL2(an, fd), fdNorm: l2(fd), analytic });
  }
  sess.release?.();
  return reports;
}

function pick(rng: Rng, n: number, k: number): number[] {
  const s = new Set<number>();
  while (s.size < k) s.add(rng.int(n));
  return [...s].sort((a, b) => a - b);
}

/** Assert every report is within tolerance and non-trivial. */
export function assertReports(assert: typeof import('node:assert/strict'), reports: GradReport[], tol: number, label: string): void {
  for (const r of reports) {
    assert.ok(r.fdNorm > 1e-6, `${label}: finite differences of ${r.name} are ~0 (${r.fdNorm}); the check would be vacuous`);
    assert.ok(r.relErr <= tol, `${label}: gradient of ${r.name} has relative L2 error ${r.relErr.toExponential(2)} > ${tol}`);
  }
}

export interface VjpRun {
  /** Every input value used (data inputs and lifted initializers). */
  values: Map<string, Float32Array>;
  /** Seed per graph output. */
  seeds: Map<string, Float32Array>;
  outputs: Record<string, Float32Array>;
  grads: Record<string, Float32Array>;
}

/** Run a VJP graph once with the given (or random) inputs and seeds. */
export async function runVjp(
  m: onnx.IModelProto,
  wrt: string[],
  feeds: Record<string, Float32Array> = {},
  seed = 1,
  formulation?: FormulationOptions,
): Promise<VjpRun> {
  const rng = new Rng(seed);
  const vjp = buildVjpGraph(m, { wrt, formulation });
  const sess = await session(vjp.modelBytes);
  const inits = new Map((m.graph!.initializer ?? []).map((t) => [t.name!, t]));
  const values = new Map<string, Float32Array>();
  const f: Record<string, ort.Tensor> = {};
  for (const inp of vjp.inputs) {
    const init = inits.get(inp.name);
    const data = feeds[inp.name] ?? (init ? floatData(init) : randn(rng, inp.dims));
    values.set(inp.name, data);
    f[inp.name] = f32(data, inp.dims);
  }
  const seeds = new Map<string, Float32Array>();
  for (const [o, s] of Object.entries(vjp.seedInputs)) {
    const r = randn(rng, vjp.outputDims[o]);
    seeds.set(o, r);
    f[s] = f32(r, vjp.outputDims[o]);
  }
  const res = await sess.run(f);
  const outputs: Record<string, Float32Array> = {};
  for (const o of vjp.outputs) outputs[o] = res[o].data as Float32Array;
  const grads: Record<string, Float32Array> = {};
  for (const w of wrt) grads[w] = res[vjp.gradOutputs[w]].data as Float32Array;
  return { values, seeds, outputs, grads };
}

/** Central differences in float64 of a scalar function of several named float64 arrays. */
export function fdGrad(
  values: Map<string, Float64Array>,
  name: string,
  f: (v: Map<string, Float64Array>) => number,
  eps: number,
  indices?: number[],
): { idx: number[]; fd: number[] } {
  const v = values.get(name)!;
  const idx = indices ?? Array.from({ length: v.length }, (_, i) => i);
  const fd: number[] = [];
  for (const i of idx) {
    const o = v[i];
    v[i] = o + eps;
    const p = f(values);
    v[i] = o - eps;
    const q = f(values);
    v[i] = o;
    fd.push((p - q) / (2 * eps));
  }
  return { idx, fd };
}

export function toF64(m: Map<string, Float32Array>): Map<string, Float64Array> {
  const r = new Map<string, Float64Array>();
  for (const [k, v] of m) r.set(k, Float64Array.from(v));
  return r;
}

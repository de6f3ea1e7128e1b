/**
 * A small transformer-style classifier, as torch.onnx.export writes one (nn.Linear on 3-D input is
 * MatMul + Add; exact GELU is Div, Erf, Add, Mul, Mul), and its float64 JS reference forward:
 *
 *   input [N, C, H, W] → Reshape [N, T, D] → + pos [T, D] (frozen table) → LayerNorm(ln1) →
 *   MatMul(mlp1.weight [D, F]) + mlp1.bias → GELU (Erf) → Add(Identity(mlp2.bias.src), MatMul(·, mlp2.weight [F, D]))
 *   → residual add → LayerNorm(ln2) → ReduceMean over tokens → Gemm(fc) → logits [N, K].
 *
 * With `tiedNorm`, ln2 reads ln1's scale and bias through Identity nodes (what the exporter leaves when it
 * deduplicates equal fresh tensors).
 */
import { onnx } from '../../../src/core/onnx/proto';
import { int64Tensor } from '../../../src/core/onnx/builder';
import { Rng, floatTensor, model, node, randn } from './graph/helpers';

export interface TransformerSpec {
  C: number;
  H: number;
  W: number;
  /** Tokens and width: T·D = C·H·W. */
  T: number;
  D: number;
  /** MLP hidden width. */
  F: number;
  K: number;
  tiedNorm?: boolean;
  seed?: number;
  /** Declare the batch dimension symbolic ('N') so the model runs at any batch size. */
  symbolicBatch?: boolean;
}

export const LN_EPS = 1e-5;

export function transformerModel(s: TransformerSpec): onnx.IModelProto {
  if (s.T * s.D !== s.C * s.H * s.W) throw new Error('T·D must equal C·H·W');
  const rng = new Rng(s.seed ?? 11);
  const { T, D, F, K } = s;
  const inits = [
    int64Tensor('tok.shape', [0, T, D]),
    floatTensor('pos', [T, D], randn(rng, [T, D], 0.1)),
    floatTensor('ln1.s', [D], rng.array(D, () => rng.uniform(0.7, 1.3))),
    floatTensor('ln1.b', [D], randn(rng, [D], 0.2)),
    floatTensor('mlp1.weight', [D, F], randn(rng, [D, F], Math.sqrt(2 / D))),
    floatTensor('mlp1.bias', [F], randn(rng, [F], 0.2)),
    floatTensor('sqrt2', [], [Math.SQRT2]),
    floatTensor('one', [], [1]),
    floatTensor('half', [], [0.5]),
    floatTensor('mlp2.weight', [F, D], randn(rng, [F, D], Math.sqrt(1 / F))),
    floatTensor('mlp2.bias.src', [D], randn(rng, [D], 0.2)),
    floatTensor('fc.weight', [K, D], randn(rng, [K, D], Math.sqrt(1 / D))),
    floatTensor('fc.bias', [K], randn(rng, [K], 0.1)),
  ];
  if (!s.tiedNorm) inits.push(floatTensor('ln2.s', [D], rng.array(D, () => rng.uniform(0.7, 1.3))), floatTensor('ln2.b', [D], randn(rng, [D], 0.2)));
  const nodes = [
    node('Reshape', ['input', 'tok.shape'], ['tok'], {}, 'tokens'),
    node('Add', ['tok', 'pos'], ['h0'], {}, 'pos_add'),
    node('LayerNormalization', ['h0', 'ln1.s', 'ln1.b'], ['a'], { axis: -1, epsilon: LN_EPS }, 'ln1'),
    node('MatMul', ['a', 'mlp1.weight'], ['m1'], {}, 'mlp1/MatMul'),
    node('Add', ['m1', 'mlp1.bias'], ['h1'], {}, 'mlp1/Add'),
    node('Div', ['h1', 'sqrt2'], ['gd'], {}, 'gelu/Div'),
    node('Erf', ['gd'], ['ge'], {}, 'gelu/Erf'),
    node('Add', ['ge', 'one'], ['ge1'], {}, 'gelu/Add'),
    node('Mul', ['h1', 'ge1'], ['gm'], {}, 'gelu/Mul'),
    node('Mul', ['gm', 'half'], ['g'], {}, 'gelu/Mul_1'),
    node('MatMul', ['g', 'mlp2.weight'], ['m2'], {}, 'mlp2/MatMul'),
    node('Identity', ['mlp2.bias.src'], ['mlp2.bias'], {}, 'mlp2/bias_tie'),
    node('Add', ['mlp2.bias', 'm2'], ['h2'], {}, 'mlp2/Add'),
    node('Add', ['h0', 'h2'], ['r'], {}, 'residual'),
  ];
  if (s.tiedNorm) nodes.push(node('Identity', ['ln1.s'], ['ln2.s'], {}, 'ln2/scale_tie'), node('Identity', ['ln1.b'], ['ln2.b'], {}, 'ln2/bias_tie'));
  nodes.push(
    node('LayerNormalization', ['r', 'ln2.s', 'ln2.b'], ['r2'], { axis: -1, epsilon: LN_EPS }, 'ln2'),
    node('ReduceMean', ['r2'], ['pooled'], { axes: [1], keepdims: 0 }, 'pool'),
    node('Gemm', ['pooled', 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'),
  );
  const m = model({ inputs: [['input', [1, s.C, s.H, s.W]]], outputs: ['logits'], nodes, inits });
  if (s.symbolicBatch) {
    const dim0 = m.graph!.input![0].type!.tensorType!.shape!.dim![0];
    delete dim0.dimValue;
    dim0.dimParam = 'N';
  }
  return m;
}

/** Tensor values by graph input name. */
export type RefParams = Map<string, Float64Array>;

/** erf in float64: Taylor series for |x| < 3, the continued fraction of erfc beyond (both ≪ 1e-12 off). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let t = ax;
  for (let n = 80; n >= 1; n--) t = ax + n / 2 / t;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / t;
  return Math.sign(x) * (1 - erfc);
}

function layerNorm(x: Float64Array, rows: number, D: number, s: Float64Array, b: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mu = 0;
    for (let d = 0; d < D; d++) mu += x[r * D + d];
    mu /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[r * D + d] - mu) ** 2;
    const inv = 1 / Math.sqrt(v / D + LN_EPS);
    for (let d = 0; d < D; d++) y[r * D + d] = (x[r * D + d] - mu) * inv * s[d] + b[d];
  }
  return y;
}

/** x [rows, I] · w [I, O] + b [O]. */
function matmulAdd(x: Float64Array, rows: number, I: number, w: Float64Array, O: number, b: Float64Array): Float64Array {
  const y = new Float64Array(rows * O);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < O; o++) {
      let acc = b[o];
      for (let i = 0; i < I; i++) acc += x[r * I + i] * w[i * O + o];
      y[r * O + o] = acc;
    }
  return y;
}

/**
 * Float64 forward of transformerModel. `p` holds every parameter by graph input name (mlp2.bias, and ln2.s /
 * ln2.b under those names when tied); frozen tensors (pos) come from `frozen`.
 */
export function transformerForward(s: TransformerSpec, x: Float64Array, N: number, p: RefParams, frozen: RefParams): { d: number[]; v: Float64Array } {
  const { T, D, F, K } = s;
  const rows = N * T;
  const pos = frozen.get('pos')!;
  const h0 = new Float64Array(rows * D);
  for (let i = 0; i < h0.length; i++) h0[i] = x[i] + pos[i % (T * D)];
  const a = layerNorm(h0, rows, D, p.get('ln1.s')!, p.get('ln1.b')!);
  const h1 = matmulAdd(a, rows, D, p.get('mlp1.weight')!, F, p.get('mlp1.bias')!);
  const g = h1.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
  const h2 = matmulAdd(g, rows, F, p.get('mlp2.weight')!, D, p.get('mlp2.bias')!);
  const r = h0.map((v, i) => v + h2[i]);
  const r2 = layerNorm(r, rows, D, p.get('ln2.s')!, p.get('ln2.b')!);
  const pooled = new Float64Array(N * D);
  for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) pooled[n * D + d] += r2[(n * T + t) * D + d] / T;
  const w = p.get('fc.weight')!;
  const fb = p.get('fc.bias')!;
  const z = new Float64Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      let acc = fb[k];
      for (let d = 0; d < D; d++) acc += pooled[n * D + d] * w[k * D + d];
      z[n * K + k] = acc;
    }
  return { d: [N, K], v: z };
}

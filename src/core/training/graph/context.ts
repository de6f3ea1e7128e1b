/**
 * The emission context the gradient rules write into: unique names, deduplicated constants, static shapes of
 * every forward tensor and of the backward tensors the rules declare, shared sub-expressions (one Transpose
 * of an activation for every dW that reads it), and the per-layer formulation choice.
 */
import { onnx, DataType } from '../../onnx/proto';
import { AttrValue, node as mkNode, tensor } from '../../onnx/builder';
import { TensorInfo } from './shapes';
import { numel } from './onnxUtil';

/** onnxruntime's contrib-op domain (FusedMatMul). */
export const MS_DOMAIN = 'com.microsoft';

/** How a Conv's dX is computed. `auto`: flipped Conv for stride 1 (when its pads stay ≥ 0), else ConvTranspose. */
export type ConvDxMode = 'auto' | 'convtranspose' | 'flip';
/**
 * How a Conv's dW is computed.
 * - `conv`: one Conv of T(X) with T(dY) as a stride-dilated kernel (any group; grouped via the grouped form);
 * - `im2col`: column matrix from k·k strided Slices + one Gemm (group 1);
 * - `onehot`: column matrix from one depthwise Conv with k·k one-hot kernels + one Gemm (group 1);
 * - `batched`: image by image, the columns from the one-hot Conv read in place by one batched product per image
 *   (`com.microsoft.FusedMatMul`) and summed over the images; no transposed copies (group 1);
 * - `split`: as `batched`, with the kernel taps split between kw column shifts of X and kh row shifts of dY
 *   (group 1, stride 1; other convs fall back to `batched`);
 * - `kkgemm`: one Gemm per kernel tap (group 1);
 * - `slices`: depthwise only, ReduceSum(S_ij ⊙ dY) per tap;
 * - `auto`: 1×1 unpadded convs use a single Gemm, depthwise/grouped the grouped-conv form, k×k group-1 convs
 *   `batched` on output maps of at least BATCHED_MIN_MAP (64) positions (`split` for stride 1 and kernels of
 *   more than one row and column where the extra rows cost at most SPLIT_MAX_ROW_OVERHEAD), below that
 *   `onehot`, or `kkgemm` when the column matrix would exceed IM2COL_MAX_BYTES (64 MiB).
 */
export type ConvDwMode = 'auto' | 'conv' | 'im2col' | 'onehot' | 'batched' | 'split' | 'kkgemm' | 'slices';

export interface ConvFormulation {
  dx?: ConvDxMode;
  dw?: ConvDwMode;
}

/** A Conv layer as the formulation chooser sees it. */
export interface ConvLayerInfo {
  node: string;
  weight: string;
  /** [N, C, H, W] */
  input: number[];
  /** [K, C/g, kh, kw] */
  weightDims: number[];
  /** [N, K, Ho, Wo] */
  output: number[];
  group: number;
  strides: [number, number];
  dilations: [number, number];
  pads: [number, number, number, number];
}

export interface FormulationOptions {
  /** Default for every Conv. */
  conv?: ConvFormulation;
  /** Per Conv node name (or, for unnamed nodes, its first output name): overrides `conv`. */
  perNode?: Record<string, ConvFormulation>;
  /** Called last for each Conv; returns the formulation to use (fields left undefined keep the above). */
  choose?: (layer: ConvLayerInfo) => ConvFormulation | undefined;
  /** Chunk bound of the `batched` dW (BATCHED_MAX_BYTES by default); for benchmarks. */
  batchedMaxBytes?: number;
}

export class GradContext {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private readonly exprCache = new Map<string, string>();
  private readonly listCache = new Map<string, string[]>();
  private counter = 0;

  constructor(
    readonly infos: Map<string, TensorInfo>,
    private readonly gradNeeded: Set<string>,
    readonly formulation: FormulationOptions = {},
    reservedNames: Iterable<string> = [],
  ) {
    for (const n of reservedNames) this.used.add(n);
    for (const n of infos.keys()) this.used.add(n);
  }

  /** True when the backward must produce a gradient for this forward tensor. */
  needsGrad(name: string | undefined): boolean {
    return !!name && this.gradNeeded.has(name);
  }

  shape(name: string): number[] {
    const i = this.infos.get(name);
    if (!i) throw new Error(`no static shape for tensor '${name}'`);
    return i.dims;
  }

  info(name: string): TensorInfo | undefined {
    return this.infos.get(name);
  }

  /** Reserve a name no other tensor has. */
  fresh(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_.:/-]/g, '_');
    let name = clean;
    while (this.used.has(name)) name = `${clean}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  /** Emit one node with fresh output names; records `dims` (float) for the first output when given. */
  emitN(op: string, inputs: readonly string[], nOut: number, attrs: Record<string, AttrValue> = {}, base = op, domain = ''): string[] {
    const outs: string[] = [];
    for (let i = 0; i < nOut; i++) outs.push(this.fresh(`${base}${nOut > 1 ? `_o${i}` : ''}`));
    this.nodes.push(mkNode(op, inputs, outs, attrs, `bw/${outs[0]}`, domain));
    return outs;
  }

  emit(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, dims?: readonly number[], base?: string, domain = ''): string {
    const [out] = this.emitN(op, inputs, 1, attrs, base ?? `g_${op}`, domain);
    if (dims) this.infos.set(out, { dims: [...dims], dtype: DataType.FLOAT });
    return out;
  }

  /** Emit a node whose outputs are given names (already reserved or fresh). */
  emitNamed(op: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, AttrValue> = {}): void {
    for (const o of outputs) this.used.add(o);
    this.nodes.push(mkNode(op, inputs, outputs, attrs, `bw/${outputs[0]}`));
  }

  setDims(name: string, dims: readonly number[], dtype: number = DataType.FLOAT): void {
    this.infos.set(name, { dims: [...dims], dtype });
  }

  /** A deduplicated int64 constant. */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.fresh(`c_i64_${values.length <= 6 ? values.join('_').replace(/-/g, 'm') : 'v'}`);
      this.initializers.push(tensor(name, dims, BigInt64Array.from(values.map((v) => BigInt(v)))));
      this.constCache.set(key, name);
      this.infos.set(name, { dims: [...dims], dtype: DataType.INT64, value: [...values] });
    }
    return name;
  }

  /** A float32 constant; small ones are deduplicated. */
  f32(values: ArrayLike<number>, dims: readonly number[], base = 'c_f32'): string {
    const small = values.length <= 64;
    const key = small ? `f32:${dims.join('x')}:${Array.from(values).join(',')}` : '';
    if (small) {
      const hit = this.constCache.get(key);
      if (hit) return hit;
    }
    const name = this.fresh(base);
    this.initializers.push(tensor(name, dims, Float32Array.from(values)));
    if (small) this.constCache.set(key, name);
    this.infos.set(name, { dims: [...dims], dtype: DataType.FLOAT, value: small ? Array.from(values) : undefined });
    return name;
  }

  /** A float32 scalar constant (rank 0). */
  scalar(v: number): string {
    return this.f32([v], [], `c_${String(v).replace(/[^0-9a-z]/gi, '_')}`);
  }

  /** Memoise a derived tensor (e.g. Transpose(X)) so every rule that needs it shares one node. */
  cached(key: string, make: () => string): string {
    let v = this.exprCache.get(key);
    if (!v) {
      v = make();
      this.exprCache.set(key, v);
    }
    return v;
  }

  /** `cached` for a node with several outputs (a Split): the same names for every rule that asks. */
  cachedList(key: string, make: () => string[]): string[] {
    let v = this.listCache.get(key);
    if (!v) {
      v = make();
      this.listCache.set(key, v);
    }
    return v;
  }

  /** T(x) = Transpose(x, [1,0,2,3]), shared. */
  transposeNC(x: string): string {
    return this.cached(`T:${x}`, () => {
      const d = this.shape(x);
      return this.emit('Transpose', [x], { perm: [1, 0, 2, 3] }, [d[1], d[0], d[2], d[3]], `T_${x}`);
    });
  }

  /** Sum over axes (keepdims 0), in two stages when it reduces the batch and the spatial axes of NCHW. */
  reduceSum(x: string, axes: readonly number[], keepdims: boolean, dims: readonly number[]): string {
    const sorted = [...axes].sort((a, b) => a - b);
    const outDims = keepdims ? dims.map((d, i) => (sorted.includes(i) ? 1 : d)) : dims.filter((_, i) => !sorted.includes(i));
    if (sorted.length === 0) return x;
    const spatial = sorted.filter((a) => a >= 2);
    const rest = sorted.filter((a) => a < 2);
    if (dims.length === 4 && spatial.length > 0 && rest.length > 0 && numel(spatial.map((a) => dims[a])) > 1) {
      // Two stages: spatial first (keepdims so the remaining axes keep their numbers), then the rest.
      const midDims = dims.map((d, i) => (spatial.includes(i) ? 1 : d));
      const mid = this.emit('ReduceSum', [x, this.i64(spatial)], { keepdims: 1 }, midDims, 'g_rsum');
      return this.emit('ReduceSum', [mid, this.i64(sorted)], { keepdims: keepdims ? 1 : 0 }, outDims, 'g_rsum');
    }
    return this.emit('ReduceSum', [x, this.i64(sorted)], { keepdims: keepdims ? 1 : 0 }, outDims, 'g_rsum');
  }

  /** Reduce a broadcast result's gradient back to an operand's shape (numpy broadcasting rules). */
  reduceTo(dy: string, fromDims: readonly number[], toDims: readonly number[]): string {
    const lead = fromDims.length - toDims.length;
    const axes: number[] = [];
    for (let i = 0; i < fromDims.length; i++) {
      if (i < lead || (toDims[i - lead] === 1 && fromDims[i] !== 1)) axes.push(i);
    }
    if (axes.length === 0) return dy;
    const r = this.reduceSum(dy, axes, true, fromDims);
    if (lead === 0) return r;
    return this.emit('Reshape', [r, this.i64(toDims)], {}, toDims, 'g_rshp');
  }

  reshape(x: string, dims: readonly number[]): string {
    return this.emit('Reshape', [x, this.i64(dims)], {}, dims, 'g_rshp');
  }

  /** The formulation for a Conv layer. */
  convFormulation(layer: ConvLayerInfo, nodeKey: string): Required<ConvFormulation> {
    const f: Required<ConvFormulation> = { dx: 'auto', dw: 'auto' };
    const apply = (g: ConvFormulation | undefined) => {
      if (!g) return;
      if (g.dx) f.dx = g.dx;
      if (g.dw) f.dw = g.dw;
    };
    apply(this.formulation.conv);
    apply(this.formulation.perNode?.[nodeKey]);
    apply(this.formulation.choose?.(layer));
    return f;
  }
}

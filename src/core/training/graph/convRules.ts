/**
 * Conv backward (doc §3.1–3.4). Forward `Y = Conv(X, W, B)`, X [N,C,H,W], W [K,C/g,kh,kw], Y [N,K,Ho,Wo],
 * strides s, dilations d, explicit pads (auto_pad was resolved by the forward rewrite).
 *
 * dX: `ConvTranspose(dY, W)` with output_padding restoring the rows a stride dropped, or for stride 1 the
 * flipped-kernel Conv `Conv(dY, flip(Wᵀ))` (any group: the weight is regrouped to [C, K/g, kh, kw]).
 * dW: see ConvDwMode in context.ts. All dW forms handle strides and dilations: the tap (i, j) of the
 * kernel reads X at `ho·s + i·d`, so in the `conv` form dY is a kernel dilated by s applied with stride d.
 */
import { inputError } from '../../errors';
import { ConvLayerInfo, GradContext, MS_DOMAIN } from './context';
import { GradRule } from './ruleTypes';
import { Window2d, kEff, resolveWindow } from './geometry';
import { attrInt, nodeLabel } from './onnxUtil';

/** Largest im2col column matrix (bytes) the `auto` dW builds; larger ones use `kkgemm`. */
export const IM2COL_MAX_BYTES = 64 * 1024 * 1024;

/** Smallest output map (Ho·Wo) whose k×k dW `auto` computes image by image (`batched`). */
export const BATCHED_MIN_MAP = 64;

/**
 * Largest column matrix or per-image product (bytes) one chunk of the `batched` dW builds. Each chunk costs a
 * Split of X and dY (single-threaded copies) and a Sum: on ResNet-18 (batch 64, 32×32) 64 MiB chunks cost
 * ~20 ms a step over none; 128 MiB costs about as little and bounds the transient memory of big maps.
 */
export const BATCHED_MAX_BYTES = 128 * 1024 * 1024;

/**
 * Largest share of extra rows ((kh−1)·dh / Ho) at which `auto` takes the `split` dW over `batched`: the split
 * form multiplies over Hp = Ho + (kh−1)·dh rows. 3×3 convs: maps of 20 rows and more (level at 16, slower at 14).
 */
export const SPLIT_MAX_ROW_OVERHEAD = 0.1;

interface ConvGeom {
  x: string;
  w: string;
  dy: string;
  N: number;
  C: number;
  H: number;
  W: number;
  K: number;
  cpg: number;
  kh: number;
  kw: number;
  Ho: number;
  Wo: number;
  g: number;
  win: Window2d;
}

/**
 * The kernel rotated by 180° (both spatial axes reversed), as one MatMul of the [rows, kh·kw] matrix with the
 * kh·kw × kh·kw reversal permutation: exact (each output is 1·w plus zeros) and, on onnxruntime's CPU, 5× faster
 * than a Slice with negative steps (2.4 M weights of a 512-channel 3×3 layer: 2.3 against 11 ms CPU).
 */
function flipKernel(ctx: GradContext, w: string, dims: number[]): string {
  const kk = dims[2] * dims[3];
  if (kk === 1) return w;
  const rev = ctx.cached(`flipJ:${kk}`, () => {
    const j = new Float32Array(kk * kk);
    for (let i = 0; i < kk; i++) j[i * kk + (kk - 1 - i)] = 1;
    return ctx.f32(j, [kk, kk], `flipJ_${kk}`);
  });
  const m = ctx.reshape(w, [dims[0] * dims[1], kk]);
  const f = ctx.emit('MatMul', [m, rev], {}, [dims[0] * dims[1], kk], `flip_${w}`);
  return ctx.reshape(f, dims);
}

/** dX by ConvTranspose (any stride, group, dilation). */
function dxConvTranspose(ctx: GradContext, c: ConvGeom): string {
  const { win } = c;
  const op: number[] = [];
  for (let a = 0; a < 2; a++) {
    const covered = win.strides[a] * (win.out[a] - 1) + kEff(win, a) - win.pads[a] - win.pads[a + 2];
    const o = win.in[a] - covered;
    if (o < 0 || o >= Math.max(win.strides[a], win.dilations[a])) {
      throw new Error(`internal: output_padding ${o} out of range for stride ${win.strides[a]}`);
    }
    op.push(o);
  }
  return ctx.emit(
    'ConvTranspose',
    [c.dy, c.w],
    {
      strides: [...win.strides],
      pads: [...win.pads],
      dilations: [...win.dilations],
      group: c.g,
      kernel_shape: [c.kh, c.kw],
      output_padding: op,
    },
    [c.N, c.C, c.H, c.W],
    `dX_${c.x}`,
  );
}

/** The `split` dW: group 1, stride 1, a kernel of more than one tap. */
function canSplit(c: ConvGeom): boolean {
  return c.g === 1 && c.win.strides[0] === 1 && c.win.strides[1] === 1 && c.kh * c.kw > 1;
}

function canFlip(c: ConvGeom): boolean {
  const { win } = c;
  if (win.strides[0] !== 1 || win.strides[1] !== 1) return false;
  for (let a = 0; a < 2; a++) {
    if (win.pads[a] > kEff(win, a) - 1 || win.pads[a + 2] > kEff(win, a) - 1) return false;
  }
  return true;
}

/** dX by a stride-1 Conv with the flipped, regrouped kernel. */
function dxFlip(ctx: GradContext, c: ConvGeom): string {
  const { win, g, K, C, cpg, kh, kw } = c;
  const kpg = K / g;
  const wf = ctx.cached(`flipW:${c.w}`, () => {
    let wt: string;
    if (g === 1) {
      wt = ctx.emit('Transpose', [c.w], { perm: [1, 0, 2, 3] }, [C, K, kh, kw], `Wt_${c.w}`);
    } else if (cpg === 1) {
      wt = ctx.reshape(c.w, [C, kpg, kh, kw]);
    } else {
      const r = ctx.reshape(c.w, [g, kpg, cpg, kh, kw]);
      const t = ctx.emit('Transpose', [r], { perm: [0, 2, 1, 3, 4] }, [g, cpg, kpg, kh, kw], `Wt_${c.w}`);
      wt = ctx.reshape(t, [C, kpg, kh, kw]);
    }
    return flipKernel(ctx, wt, [C, kpg, kh, kw]);
  });
  const pads = [0, 1, 2, 3].map((i) => kEff(win, i % 2) - 1 - win.pads[i]);
  return ctx.emit(
    'Conv',
    [c.dy, wf],
    { kernel_shape: [kh, kw], strides: [1, 1], pads, dilations: [...win.dilations], group: g },
    [c.N, C, c.H, c.W],
    `dX_${c.x}`,
  );
}

/**
 * End padding (per axis) that makes the `conv`-form dW output exactly kh×kw, and how far X must be cut when
 * it is negative: pe = (k−1)·d + 1 + s·(Ho−1) − H − p_begin.
 */
function endPads(c: ConvGeom): [number, number] {
  const { win } = c;
  return [0, 1].map((a) => kEff(win, a) + win.strides[a] * (win.out[a] - 1) - win.in[a] - win.pads[a]) as [number, number];
}

/** T(X), cut on H/W where the conv-form end padding is negative. Shared among consumers. */
function transposedInput(ctx: GradContext, c: ConvGeom, pe: [number, number]): string {
  const tx = ctx.transposeNC(c.x);
  if (pe[0] >= 0 && pe[1] >= 0) return tx;
  const h = c.H + Math.min(0, pe[0]);
  const w = c.W + Math.min(0, pe[1]);
  return ctx.cached(`Tcut:${c.x}:${h}:${w}`, () =>
    ctx.emit('Slice', [tx, ctx.i64([0, 0]), ctx.i64([h, w]), ctx.i64([2, 3])], {}, [c.C, c.N, h, w], `Tcut_${c.x}`),
  );
}

function transposedDy(ctx: GradContext, c: ConvGeom): string {
  return ctx.transposeNC(c.dy);
}

/** dY as the [K, N·Ho·Wo] matrix of the Gemm forms. */
function dyMatrix(ctx: GradContext, c: ConvGeom): string {
  return ctx.cached(`dYm:${c.dy}`, () => ctx.reshape(transposedDy(ctx, c), [c.K, c.N * c.Ho * c.Wo]));
}

/** dW by one Conv over T(X) with T(dY) as kernel (grouped form for group > 1). */
function dwConv(ctx: GradContext, c: ConvGeom): string {
  const { win, N, C, K, g, cpg, kh, kw } = c;
  const pe = endPads(c);
  const tx = transposedInput(ctx, c, pe);
  const pads = [win.pads[0], win.pads[1], Math.max(0, pe[0]), Math.max(0, pe[1])];
  const attrs = { strides: [...win.dilations], dilations: [...win.strides], pads, kernel_shape: [c.Ho, c.Wo] };
  const tdy = transposedDy(ctx, c);
  if (g === 1) {
    const gOut = ctx.emit('Conv', [tx, tdy], attrs, [C, K, kh, kw], `dWt_${c.w}`);
    return ctx.emit('Transpose', [gOut], { perm: [1, 0, 2, 3] }, [K, C, kh, kw], `dW_${c.w}`);
  }
  const txDims = ctx.shape(tx);
  const xr = ctx.cached(`Xr:${tx}`, () => ctx.reshape(tx, [1, C * N, txDims[2], txDims[3]]));
  const kpg = K / g;
  if (cpg === 1) {
    const gOut = ctx.emit('Conv', [xr, tdy], { ...attrs, group: C }, [1, K, kh, kw], `dWg_${c.w}`);
    return ctx.reshape(gOut, [K, 1, kh, kw]);
  }
  const idx: number[] = [];
  for (let ch = 0; ch < C; ch++) for (let kk = 0; kk < kpg; kk++) idx.push(Math.floor(ch / cpg) * kpg + kk);
  const wk = ctx.emit('Gather', [tdy, ctx.i64(idx)], { axis: 0 }, [C * kpg, N, c.Ho, c.Wo], `dYg_${c.w}`);
  const gOut = ctx.emit('Conv', [xr, wk], { ...attrs, group: C }, [1, C * kpg, kh, kw], `dWg_${c.w}`);
  const r = ctx.reshape(gOut, [g, cpg, kpg, kh, kw]);
  const t = ctx.emit('Transpose', [r], { perm: [0, 2, 1, 3, 4] }, [g, kpg, cpg, kh, kw], `dWgt_${c.w}`);
  return ctx.reshape(t, [K, cpg, kh, kw]);
}

function isPointwise(c: ConvGeom): boolean {
  return c.kh === 1 && c.kw === 1 && c.win.pads.every((p) => p === 0);
}

/** 1×1 unpadded conv: dW = dYm · X_mᵀ with X strided-sliced when s > 1. */
function dwGemm1x1(ctx: GradContext, c: ConvGeom): string {
  const { win, N, C, K } = c;
  const [sh, sw] = win.strides;
  const strided = sh !== 1 || sw !== 1 || c.Ho !== c.H || c.Wo !== c.W;
  const tx = ctx.transposeNC(c.x);
  const xs = strided
    ? ctx.cached(`Tstride:${c.x}:${sh}:${sw}:${c.Ho}:${c.Wo}`, () =>
        ctx.emit(
          'Slice',
          [tx, ctx.i64([0, 0]), ctx.i64([sh * (c.Ho - 1) + 1, sw * (c.Wo - 1) + 1]), ctx.i64([2, 3]), ctx.i64([sh, sw])],
          {},
          [C, N, c.Ho, c.Wo],
          `Ts_${c.x}`,
        ),
      )
    : tx;
  const xm = ctx.cached(`Xm:${xs}`, () => ctx.reshape(xs, [C, N * c.Ho * c.Wo]));
  const gm = ctx.emit('Gemm', [dyMatrix(ctx, c), xm], { transB: 1 }, [K, C], `dWm_${c.w}`);
  return ctx.reshape(gm, [K, C, 1, 1]);
}

/** Zero-padded T(X) (shared), for the tap slices. */
function paddedTX(ctx: GradContext, c: ConvGeom): string {
  const tx = ctx.transposeNC(c.x);
  const p = c.win.pads;
  if (p.every((v) => v === 0)) return tx;
  return ctx.cached(`Tpad:${c.x}:${p.join(',')}`, () =>
    ctx.emit('Pad', [tx, ctx.i64([0, 0, p[0], p[1], 0, 0, p[2], p[3]])], { mode: 'constant' }, [c.C, c.N, c.H + p[0] + p[2], c.W + p[1] + p[3]], `Tp_${c.x}`),
  );
}

/** Slice of padded T(X) read by kernel tap (i, j): [C, N, Ho, Wo]. Shared among convs with the same geometry. */
function tapSlice(ctx: GradContext, c: ConvGeom, xp: string, i: number, j: number): string {
  const { win } = c;
  const [sh, sw] = win.strides;
  const h0 = i * win.dilations[0];
  const w0 = j * win.dilations[1];
  return ctx.cached(`tap:${xp}:${h0}:${w0}:${sh}:${sw}:${c.Ho}:${c.Wo}`, () =>
    ctx.emit(
      'Slice',
      [xp, ctx.i64([h0, w0]), ctx.i64([h0 + sh * (c.Ho - 1) + 1, w0 + sw * (c.Wo - 1) + 1]), ctx.i64([2, 3]), ctx.i64([sh, sw])],
      {},
      [c.C, c.N, c.Ho, c.Wo],
      `tap_${c.x}`,
    ),
  );
}

/** dW by a column matrix of k·k strided slices and one Gemm. */
function dwIm2col(ctx: GradContext, c: ConvGeom): string {
  const { C, N, K, kh, kw } = c;
  const P = N * c.Ho * c.Wo;
  const xp = paddedTX(ctx, c);
  const col = ctx.cached(`col:${xp}:${c.win.strides.join(',')}:${c.win.dilations.join(',')}:${kh}x${kw}:${c.Ho}x${c.Wo}`, () => {
    const parts: string[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) parts.push(ctx.reshape(tapSlice(ctx, c, xp, i, j), [C, 1, P]));
    }
    const cat = ctx.emit('Concat', parts, { axis: 1 }, [C, kh * kw, P], `col_${c.x}`);
    return ctx.reshape(cat, [C * kh * kw, P]);
  });
  const gm = ctx.emit('Gemm', [dyMatrix(ctx, c), col], { transB: 1 }, [K, C * kh * kw], `dWm_${c.w}`);
  return ctx.reshape(gm, [K, C, kh, kw]);
}

/**
 * The im2col column matrix of `x` ([n, C, H, W], the conv's input or a batch chunk of it) in NCHW:
 * [n, C·kk, Ho, Wo], channel c·kk + t holding kernel tap t of input channel c, made by one depthwise Conv with
 * one-hot kernels and the conv's own strides, pads and dilations. Shared per input and geometry; the one-hot
 * weight per channel count and kernel.
 */
function oneHotColumns(ctx: GradContext, c: ConvGeom, x: string, n: number): string {
  const { C, kh, kw, win } = c;
  const kk = kh * kw;
  return ctx.cached(`ohcol:${x}:${win.pads.join(',')}:${win.strides.join(',')}:${win.dilations.join(',')}:${kh}x${kw}`, () => {
    const kernels = ctx.cached(`onehot:${C}:${kh}x${kw}`, () => {
      const e = new Float32Array(C * kk * kk);
      for (let ch = 0; ch < C; ch++) for (let t = 0; t < kk; t++) e[(ch * kk + t) * kk + t] = 1;
      return ctx.f32(e, [C * kk, 1, kh, kw], `onehot_${kh}x${kw}`);
    });
    return ctx.emit(
      'Conv',
      [x, kernels],
      { kernel_shape: [kh, kw], strides: [...win.strides], pads: [...win.pads], dilations: [...win.dilations], group: C },
      [n, C * kk, c.Ho, c.Wo],
      `ohcol_${x}`,
    );
  });
}

/** dW by a column matrix made with one depthwise Conv of k·k one-hot kernels, then one Gemm. */
function dwOnehot(ctx: GradContext, c: ConvGeom): string {
  const { C, N, K, kh, kw } = c;
  const kk = kh * kw;
  const cols = oneHotColumns(ctx, c, c.x, N);
  const col = ctx.cached(`ohcolT:${cols}`, () => {
    const t = ctx.emit('Transpose', [cols], { perm: [1, 0, 2, 3] }, [C * kk, N, c.Ho, c.Wo], `ohcolT_${c.x}`);
    return ctx.reshape(t, [C * kk, N * c.Ho * c.Wo]);
  });
  const gm = ctx.emit('Gemm', [dyMatrix(ctx, c), col], { transB: 1 }, [K, C * kk], `dWm_${c.w}`);
  return ctx.reshape(gm, [K, C, kh, kw]);
}

/**
 * dW image by image with no transposed copies: the column matrix of each image from one depthwise Conv with k·k
 * one-hot kernels ([n, C·kk, Ho·Wo], NCHW as the conv writes it), one batched product per image with dY read in
 * place (`com.microsoft.FusedMatMul`, transB), and a sum over the images. Every step runs on onnxruntime's
 * intra-op threads (the tap Slices, Pads and Transposes of the Gemm forms do not). The batch is cut into chunks
 * so that neither a chunk's column matrix nor its per-image products exceed `BATCHED_MAX_BYTES`.
 */
function dwBatched(ctx: GradContext, c: ConvGeom): string {
  const { C, K, kh, kw, win } = c;
  const kk = kh * kw;
  const P = c.Ho * c.Wo;
  const { sizes, xs, dys } = batchChunks(ctx, c, Math.max(C * kk * P, K * C * kk) * 4);
  const identity = kk === 1 && c.Ho === c.H && c.Wo === c.W && win.pads.every((p) => p === 0);
  const parts = xs.map((x, i) => {
    const n = sizes[i];
    const cols = identity ? x : oneHotColumns(ctx, c, x, n);
    const colsN = ctx.cached(`colsN:${cols}`, () => ctx.reshape(cols, [n, C * kk, P]));
    const dy = ctx.cached(`dYn:${dys[i]}`, () => ctx.reshape(dys[i], [n, K, P]));
    const per = ctx.emit('FusedMatMul', [dy, colsN], { transB: 1 }, [n, K, C * kk], `dWn_${c.w}`, MS_DOMAIN);
    return sumImages(ctx, per, n, K * C * kk, c.w);
  });
  const sum = parts.length === 1 ? parts[0] : ctx.emit('Sum', parts, {}, [1, K * C * kk], `dWsum_${c.w}`);
  return ctx.reshape(sum, [K, C, kh, kw]);
}

/**
 * The batch cut into chunks whose per-image tensors (`perImage` bytes each) stay under BATCHED_MAX_BYTES
 * together; X and dY split once each (shared by every consumer of the same cut).
 */
function batchChunks(ctx: GradContext, c: ConvGeom, perImage: number): { sizes: number[]; xs: string[]; dys: string[] } {
  const { N } = c;
  const chunks = Math.min(N, Math.max(1, Math.ceil((perImage * N) / (ctx.formulation.batchedMaxBytes ?? BATCHED_MAX_BYTES))));
  const sizes = Array.from({ length: chunks }, (_, i) => Math.floor((N * (i + 1)) / chunks) - Math.floor((N * i) / chunks));
  const split = (t: string, ch: number, h: number, w: number): string[] =>
    chunks === 1
      ? [t]
      : ctx.cachedList(`splitN:${t}:${sizes.join(',')}`, () => {
          const outs = ctx.emitN('Split', [t, ctx.i64(sizes)], chunks, { axis: 0 }, `splitN_${t}`);
          outs.forEach((o, i) => ctx.setDims(o, [sizes[i], ch, h, w]));
          return outs;
        });
  return { sizes, xs: split(c.x, c.C, c.H, c.W), dys: split(c.dy, c.K, c.Ho, c.Wo) };
}

/**
 * The sum over the images of `per` ([n, …], `size` values each) as a [1, n] × [n, size] product: onnxruntime's
 * ReduceSum over a short leading axis runs 1.2–3.7× slower on these shapes.
 */
function sumImages(ctx: GradContext, per: string, n: number, size: number, w: string): string {
  const ones = ctx.f32(new Float32Array(n).fill(1), [1, n], `ones_${n}`);
  return ctx.emit('MatMul', [ones, ctx.reshape(per, [n, size])], {}, [1, size], `dWs_${w}`);
}

/**
 * dW image by image with the kernel taps split between the two operands, stride 1 only: kw column shifts of
 * the row-padded X ([n, C·kw, Hp, Wo], one depthwise Conv with 1×kw one-hot kernels) and kh row shifts of dY
 * ([n, K·kh, Hp, Wo], one with kh×1 one-hot kernels), so that
 *   Σ_{y', x} dY↓i[o, y', x] · X→j[c, y', x] = Σ_{y, x} dY[o, y, x] · Xpad[c, y + i·dh, x + j·dw] = dW[o, c, i, j].
 * The copies hold kw·C + kh·K planes of Hp·Wo instead of the `batched` form's kh·kw·C of Ho·Wo (6 against 9 per
 * channel for 3×3), at the cost of Hp/Ho the arithmetic (the rows a shift leaves zero), and the product per image
 * is [K·kh, C·kw] rather than [K, C·kh·kw], a squarer shape MLAS runs faster. `auto` takes it where the extra rows
 * cost at most SPLIT_MAX_ROW_OVERHEAD; per layer (batch 64, 2 threads): 32×32 64 ch 32 → 24 ms, 24×24 15 → 14 ms,
 * 16×16 128 ch level, 8×8 256 ch 30 → 34 ms.
 */
function dwSplit(ctx: GradContext, c: ConvGeom): string {
  const { C, K, kh, kw, win } = c;
  const [pt, pl, pb, pr] = win.pads;
  const [dh, dw] = win.dilations;
  const Hp = c.H + pt + pb;
  const P = Hp * c.Wo;
  const perImage = Math.max(kw * C * P, kh * K * P, kh * K * kw * C) * 4;
  const { sizes, xs, dys } = batchChunks(ctx, c, perImage);
  const xKernel = ctx.cached(`onehotW:${C}:${kw}`, () => {
    const e = new Float32Array(C * kw * kw);
    for (let ch = 0; ch < C; ch++) for (let j = 0; j < kw; j++) e[(ch * kw + j) * kw + j] = 1;
    return ctx.f32(e, [C * kw, 1, 1, kw], `onehotW_${kw}`);
  });
  // Channel o·kh + i holds dY moved down by i·dh rows: the one-hot tap sits at kh−1−i of a kernel padded by
  // (kh−1)·dh rows on both sides, which also makes the output Hp rows high.
  const dyKernel = ctx.cached(`onehotH:${K}:${kh}`, () => {
    const e = new Float32Array(K * kh * kh);
    for (let o = 0; o < K; o++) for (let i = 0; i < kh; i++) e[(o * kh + i) * kh + (kh - 1 - i)] = 1;
    return ctx.f32(e, [K * kh, 1, kh, 1], `onehotH_${kh}`);
  });
  const rows = (kh - 1) * dh;
  const parts = xs.map((x, i) => {
    const n = sizes[i];
    const xc = ctx.cached(`shiftW:${x}:${win.pads.join(',')}:${dw}:${kw}`, () => {
      const t = ctx.emit('Conv', [x, xKernel], { kernel_shape: [1, kw], pads: [pt, pl, pb, pr], dilations: [1, dw], group: C }, [n, C * kw, Hp, c.Wo], `shiftW_${x}`);
      return ctx.reshape(t, [n, C * kw, P]);
    });
    const yc = ctx.cached(`shiftH:${dys[i]}:${dh}:${kh}`, () => {
      const t = ctx.emit('Conv', [dys[i], dyKernel], { kernel_shape: [kh, 1], pads: [rows, 0, rows, 0], dilations: [dh, 1], group: K }, [n, K * kh, Hp, c.Wo], `shiftH_${dys[i]}`);
      return ctx.reshape(t, [n, K * kh, P]);
    });
    const per = ctx.emit('FusedMatMul', [yc, xc], { transB: 1 }, [n, K * kh, C * kw], `dWn_${c.w}`, MS_DOMAIN);
    return sumImages(ctx, per, n, K * kh * C * kw, c.w);
  });
  const sum = parts.length === 1 ? parts[0] : ctx.emit('Sum', parts, {}, [1, K * kh * C * kw], `dWsum_${c.w}`);
  return ctx.emit('Transpose', [ctx.reshape(sum, [K, kh, C, kw])], { perm: [0, 2, 1, 3] }, [K, C, kh, kw], `dWt_${c.w}`);
}

/** dW by one Gemm per kernel tap. */
function dwKkGemm(ctx: GradContext, c: ConvGeom): string {
  const { C, N, K, kh, kw } = c;
  const P = N * c.Ho * c.Wo;
  const xp = paddedTX(ctx, c);
  const dym = dyMatrix(ctx, c);
  const parts: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const sm = ctx.reshape(tapSlice(ctx, c, xp, i, j), [C, P]);
      const gm = ctx.emit('Gemm', [dym, sm], { transB: 1 }, [K, C], `dWtap_${c.w}`);
      parts.push(ctx.reshape(gm, [K, C, 1]));
    }
  }
  const cat = ctx.emit('Concat', parts, { axis: 2 }, [K, C, kh * kw], `dWcat_${c.w}`);
  return ctx.reshape(cat, [K, C, kh, kw]);
}

/** Depthwise (multiplier 1) dW by ReduceSum(S_ij ⊙ dY) per tap on the untransposed padded X. */
function dwSlices(ctx: GradContext, c: ConvGeom): string {
  const { C, N, kh, kw, win } = c;
  const p = win.pads;
  const xp = p.every((v) => v === 0)
    ? c.x
    : ctx.cached(`pad:${c.x}:${p.join(',')}`, () =>
        ctx.emit('Pad', [c.x, ctx.i64([0, 0, p[0], p[1], 0, 0, p[2], p[3]])], { mode: 'constant' }, [N, C, c.H + p[0] + p[2], c.W + p[1] + p[3]], `p_${c.x}`),
      );
  const parts: string[] = [];
  const [sh, sw] = win.strides;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const h0 = i * win.dilations[0];
      const w0 = j * win.dilations[1];
      const s = ctx.emit(
        'Slice',
        [xp, ctx.i64([h0, w0]), ctx.i64([h0 + sh * (c.Ho - 1) + 1, w0 + sw * (c.Wo - 1) + 1]), ctx.i64([2, 3]), ctx.i64([sh, sw])],
        {},
        [N, C, c.Ho, c.Wo],
        `stap_${c.x}`,
      );
      const m = ctx.emit('Mul', [s, c.dy], {}, [N, C, c.Ho, c.Wo], `stapm_${c.w}`);
      parts.push(ctx.reduceSum(m, [0, 2, 3], true, [N, C, c.Ho, c.Wo]));
    }
  }
  // parts: [1, C, 1, 1] each → [1, C, kh·kw] → [C, 1, kh, kw]
  const cat = ctx.emit('Concat', parts, { axis: 2 }, [1, C, kh * kw, 1], `dWcat_${c.w}`);
  return ctx.reshape(cat, [C, 1, kh, kw]);
}

export const convGrad: GradRule = (ctx, node, dY) => {
  const dy = dY[0];
  const [x, w, b] = node.input ?? [];
  if (!dy) return [];
  const xd = ctx.shape(x);
  const wd = ctx.shape(w);
  const yd = ctx.shape(node.output![0]);
  const g = attrInt(node, 'group', 1);
  const win = resolveWindow(node, [xd[2], xd[3]], [wd[2], wd[3]]);
  const c: ConvGeom = {
    x, w, dy,
    N: xd[0], C: xd[1], H: xd[2], W: xd[3],
    K: wd[0], cpg: wd[1], kh: wd[2], kw: wd[3],
    Ho: yd[2], Wo: yd[3], g, win,
  };
  const layer: ConvLayerInfo = {
    node: nodeLabel(node),
    weight: w,
    input: xd,
    weightDims: wd,
    output: yd,
    group: g,
    strides: win.strides,
    dilations: win.dilations,
    pads: win.pads,
  };
  const f = ctx.convFormulation(layer, node.name && node.name.length > 0 ? node.name : node.output![0]);
  const grads: (string | undefined)[] = [undefined, undefined, undefined];

  if (ctx.needsGrad(x)) {
    let mode = f.dx;
    // Stride 1: the flipped Conv (ConvTranspose is slower on onnxruntime's CPU: its col2im runs per image, and
    // with group = C it is far slower still); strided convs need ConvTranspose.
    if (mode === 'auto') mode = canFlip(c) ? 'flip' : 'convtranspose';
    if (mode === 'flip' && !canFlip(c)) mode = 'convtranspose';
    grads[0] = mode === 'flip' ? dxFlip(ctx, c) : dxConvTranspose(ctx, c);
  }

  if (ctx.needsGrad(w)) {
    let mode = f.dw;
    if (g > 1) {
      // Grouped convs: the grouped-conv form, or per-tap reductions for multiplier-1 depthwise.
      mode = mode === 'slices' && c.cpg === 1 && c.K === c.C ? 'slices' : 'conv';
    } else if (mode === 'auto' && c.kh * c.kw > 1 && c.Ho * c.Wo >= BATCHED_MIN_MAP) {
      // A one-row or one-column kernel has nothing to split: one side would be a plain copy.
      const worthSplitting = c.kh > 1 && c.kw > 1 && ((c.kh - 1) * c.win.dilations[0]) / c.Ho <= SPLIT_MAX_ROW_OVERHEAD;
      mode = canSplit(c) && worthSplitting ? 'split' : 'batched';
    } else if (mode === 'split' && !canSplit(c)) {
      mode = 'batched';
    } else if (mode === 'slices' || mode === 'auto') {
      // One Gemm over the k·k-tap column matrix, unless that matrix is large: then one Gemm per tap, which
      // never materialises it (same speed on the whole ResNet-18 graph, 25 % lower peak memory). `auto` makes
      // the matrix with the one-hot depthwise Conv and one Transpose instead of a Pad, k·k Slices and a Concat,
      // all single-threaded in onnxruntime (the same matrix; ResNet-18's 4×4 maps: ≈ 12 ms less wall a step);
      // `slices` keeps the slices (the Gemm forms as they were, for benchmarks).
      const fits = c.C * c.kh * c.kw * c.N * c.Ho * c.Wo * 4 <= IM2COL_MAX_BYTES;
      mode = !fits ? 'kkgemm' : mode === 'auto' ? 'onehot' : 'im2col';
    }
    if (mode !== 'conv' && mode !== 'batched' && mode !== 'split' && g === 1 && isPointwise(c)) {
      grads[1] = dwGemm1x1(ctx, c);
    } else {
      switch (mode) {
        case 'conv':
          grads[1] = dwConv(ctx, c);
          break;
        case 'im2col':
          grads[1] = dwIm2col(ctx, c);
          break;
        case 'onehot':
          grads[1] = dwOnehot(ctx, c);
          break;
        case 'batched':
          grads[1] = dwBatched(ctx, c);
          break;
        case 'split':
          grads[1] = dwSplit(ctx, c);
          break;
        case 'kkgemm':
          grads[1] = dwKkGemm(ctx, c);
          break;
        case 'slices':
          grads[1] = dwSlices(ctx, c);
          break;
        default:
          throw inputError(undefined, `${nodeLabel(node)}: unknown dW formulation '${String(mode)}'`);
      }
    }
  }

  if (b && ctx.needsGrad(b)) grads[2] = ctx.reduceSum(dy, [0, 2, 3], false, yd);
  return grads;
};

export const convRules: Record<string, GradRule> = { Conv: convGrad };

/**
 * Pooling backward (doc §3.7).
 * - MaxPool: the forward rewrite requests the flat NCHW `Indices` output; dX is one ScatterElements with
 *   reduction "add" (overlapping windows can pick one element several times).
 * - AveragePool: dX = ConvTranspose(dY ⊙ (1/divisor), ones, group = C), or for non-overlapping unpadded
 *   windows an Expand-based nearest upsample. The per-output 1/divisor map is computed *in the graph* as
 *   AveragePool(ones[1,1,H,W]) / count, where count (real input elements per window) comes from the static
 *   geometry: AveragePool(ones) = count / divisor whatever count_include_pad and ceil_mode mean for the
 *   runtime, so the backward always matches the forward's divisor.
 * - GlobalAveragePool: dX = Expand(dY / (H·W)).
 */
import { floatTensor } from '../../onnx/builder';
import { GradRule } from './ruleTypes';
import { GradContext } from './context';
import { resolveWindow } from './geometry';
import { attrInt, attrInts, numel } from './onnxUtil';

function zeros(ctx: GradContext, n: number): string {
  return ctx.emit('ConstantOfShape', [ctx.i64([n])], { value: { tensor: floatTensor('value', [1], [0]) } }, [n], 'zeros');
}

const maxPoolGrad: GradRule = (ctx, node, dY) => {
  const dy = dY[0];
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const idx = node.output![1];
  if (!idx) throw new Error(`internal: MaxPool ${node.name} has no Indices output`);
  const xd = ctx.shape(x);
  const n = numel(xd);
  const m = numel(ctx.shape(node.output![0]));
  const flatI = ctx.cached(`flat:${idx}`, () => ctx.emit('Reshape', [idx, ctx.i64([m])], {}, undefined, `flatI_${x}`));
  const flatDy = ctx.reshape(dy, [m]);
  const sc = ctx.emit('ScatterElements', [zeros(ctx, n), flatI, flatDy], { axis: 0, reduction: 'add' }, [n], `dXs_${x}`);
  return [ctx.reshape(sc, xd)];
};

/** Real input elements covered by each window along one axis. */
function counts(inSize: number, out: number, k: number, s: number, pBegin: number): number[] {
  const r: number[] = [];
  for (let o = 0; o < out; o++) {
    const start = o * s - pBegin;
    r.push(Math.max(0, Math.min(start + k, inSize) - Math.max(start, 0)));
  }
  return r;
}

const averagePoolGrad: GradRule = (ctx, node, dY) => {
  const dy = dY[0];
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const xd = ctx.shape(x);
  const [N, C, H, W] = xd;
  const k = attrInts(node, 'kernel_shape')!;
  const win = resolveWindow(node, [H, W], [k[0], k[1]]);
  const [Ho, Wo] = win.out;
  const [sh, sw] = win.strides;

  // 1/divisor per output position: AveragePool(ones) / count (0 where a window holds no input element).
  const ch = counts(H, Ho, k[0], sh, win.pads[0]);
  const cw = counts(W, Wo, k[1], sw, win.pads[1]);
  const invCount = new Float32Array(Ho * Wo);
  for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) invCount[i * Wo + j] = ch[i] * cw[j] > 0 ? 1 / (ch[i] * cw[j]) : 0;
  const scale = ctx.cached(`avgscale:${node.output![0]}`, () => {
    const ones = ctx.f32(new Float32Array(H * W).fill(1), [1, 1, H, W], 'ones_hw');
    const attrs: Record<string, number | number[]> = {
      kernel_shape: [k[0], k[1]],
      strides: [sh, sw],
      pads: [...win.pads],
      ceil_mode: win.ceilMode ? 1 : 0,
      count_include_pad: attrInt(node, 'count_include_pad', 0),
    };
    const r = ctx.emit('AveragePool', [ones], attrs, [1, 1, Ho, Wo], 'avg_ones');
    return ctx.emit('Mul', [r, ctx.f32(invCount, [1, 1, Ho, Wo], 'inv_count')], {}, [1, 1, Ho, Wo], 'avg_invdiv');
  });
  const dys = ctx.emit('Mul', [dy, scale], {}, [N, C, Ho, Wo], `dYs_${x}`);

  if (k[0] === sh && k[1] === sw && win.pads.every((p) => p === 0)) {
    // Non-overlapping windows: nearest upsample by Expand, then cut or zero-pad to H×W.
    const r6 = ctx.reshape(dys, [N, C, Ho, 1, Wo, 1]);
    const e = ctx.emit('Expand', [r6, ctx.i64([N, C, Ho, k[0], Wo, k[1]])], {}, [N, C, Ho, k[0], Wo, k[1]], `dXe_${x}`);
    let up = ctx.reshape(e, [N, C, Ho * k[0], Wo * k[1]]);
    const hu = Ho * k[0];
    const wu = Wo * k[1];
    if (hu > H || wu > W) {
      up = ctx.emit('Slice', [up, ctx.i64([0, 0]), ctx.i64([Math.min(hu, H), Math.min(wu, W)]), ctx.i64([2, 3])], {}, [N, C, Math.min(hu, H), Math.min(wu, W)], `dXc_${x}`);
    }
    if (hu < H || wu < W) {
      up = ctx.emit('Pad', [up, ctx.i64([0, 0, 0, 0, 0, 0, Math.max(0, H - hu), Math.max(0, W - wu)])], { mode: 'constant' }, xd, `dXp_${x}`);
    }
    return [up];
  }

  const ones = ctx.f32(new Float32Array(C * k[0] * k[1]).fill(1), [C, 1, k[0], k[1]], 'ones_k');
  const padsEnd: number[] = [];
  const op: number[] = [];
  [H, W].forEach((size, a) => {
    const total = (win.out[a] - 1) * win.strides[a] + k[a] - win.pads[a];
    const pe = Math.max(0, total - size);
    padsEnd.push(pe);
    op.push(size - total + pe);
  });
  const dx = ctx.emit(
    'ConvTranspose',
    [dys, ones],
    { kernel_shape: [k[0], k[1]], strides: [sh, sw], pads: [win.pads[0], win.pads[1], padsEnd[0], padsEnd[1]], group: C, output_padding: op },
    xd,
    `dX_${x}`,
  );
  return [dx];
};

const globalAveragePoolGrad: GradRule = (ctx, node, dY) => {
  const dy = dY[0];
  const x = node.input![0];
  if (!dy || !ctx.needsGrad(x)) return [];
  const xd = ctx.shape(x);
  const s = ctx.emit('Mul', [dy, ctx.scalar(1 / (xd[2] * xd[3]))], {}, [xd[0], xd[1], 1, 1], `dYs_${x}`);
  return [ctx.emit('Expand', [s, ctx.i64(xd)], {}, xd, `dX_${x}`)];
};

export const poolRules: Record<string, GradRule> = {
  MaxPool: maxPoolGrad,
  AveragePool: averagePoolGrad,
  GlobalAveragePool: globalAveragePoolGrad,
};

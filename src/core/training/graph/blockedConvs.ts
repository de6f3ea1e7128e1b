/**
 * onnxruntime's blocked (NCHWc) convolutions for a training graph whose weights are inputs.
 *
 * onnxruntime rewrites a Conv to its `com.microsoft.nchwc` kernels only when the weight is a constant
 * initializer, because it reorders the weight once while optimising. A training graph feeds every weight as
 * an input, so none of its convs got the faster kernels. This pass emits them itself: the weight is reordered
 * in the graph at every step (two ReorderInputs into MLAS's OIHWBiBo layout), the activation goes
 * through ReorderInput and the result back through ReorderOutput. It applies to every plain Conv of the graph
 * with group 1 and input and output channels that are multiples of the block: the forward convs and the
 * flipped-kernel dX convs alike.
 *
 * The block size is the machine's (16 with AVX-512, 8 with AVX2; none where MLAS has no NCHWc kernels), probed
 * at run time and checked by running one blocked conv against a plain one (`trainingNchwcBlock`,
 * training/blockedConvCheck.ts), so a graph is built for the machine that runs it and never with a layout this
 * onnxruntime does not use.
 * Measured on ResNet-18 (32×32, batch 64, 2 threads): see README.md in this folder.
 */
import { onnx, DataType } from '../../onnx/proto';
import { node as mkNode } from '../../onnx/builder';
import { GradContext } from './context';
import { attrInt, attrString } from './onnxUtil';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/** Conv attributes the blocked Conv takes as they are (pads are explicit after prepare.ts). */
const KEPT_ATTRS = new Set(['kernel_shape', 'strides', 'pads', 'dilations', 'group']);

function eligible(ctx: GradContext, n: onnx.INodeProto, block: number): { C: number; O: number } | undefined {
  if (n.opType !== 'Conv' || (n.domain ?? '') !== '') return undefined;
  const [x, w] = n.input ?? [];
  if (!x || !w) return undefined;
  if (attrString(n, 'auto_pad', 'NOTSET') !== 'NOTSET') return undefined;
  if (attrInt(n, 'group', 1) !== 1) return undefined;
  const xi = ctx.info(x);
  const wi = ctx.info(w);
  if (!xi || !wi || xi.dims.length !== 4 || wi.dims.length !== 4) return undefined;
  if ((xi.dtype ?? DataType.FLOAT) !== DataType.FLOAT) return undefined;
  const C = xi.dims[1];
  const O = wi.dims[0];
  if (wi.dims[1] !== C || C % block !== 0 || O % block !== 0) return undefined;
  return { C, O };
}

/**
 * The node list with every eligible Conv replaced by its blocked form (in place, so the order stays
 * topological). Returns the list unchanged when `block` ≤ 1. Shape constants go to the context's initializers.
 */
export function blockConvs(ctx: GradContext, nodes: onnx.INodeProto[], block: number): { nodes: onnx.INodeProto[]; blocked: number } {
  if (!(block > 1)) return { nodes, blocked: 0 };
  const out: onnx.INodeProto[] = [];
  const reorderedInput = new Map<string, string>();
  const reorderedWeight = new Map<string, string>();
  let blocked = 0;
  for (const n of nodes) {
    const ch = eligible(ctx, n, block);
    if (!ch) {
      out.push(n);
      continue;
    }
    const [x, w, b] = n.input as string[];
    const [y] = n.output as string[];
    const [O, C, kh, kw] = ctx.shape(w);
    let xr = reorderedInput.get(x);
    if (!xr) {
      xr = ctx.fresh(`${x}_nchwc`);
      out.push(mkNode('ReorderInput', [x], [xr], { channels_last: 0 }, undefined, NCHWC_DOMAIN));
      reorderedInput.set(x, xr);
    }
    let wr = reorderedWeight.get(w);
    if (!wr) {
      // OIHW → MLAS's OIHWBiBo ([O/B, I/B, kh, kw, Bi, Bo], viewed as [O, I, kh, kw]) as two ReorderInputs, the
      // blocked kernels' own NCHW → NCHWc copy, which runs on the intra-op threads: read as [N=O, C=I, kh, kw] it
      // gives [O, I/B, kh, kw, Bi]; read again as [N=O/B, C=Bo, I·kh·kw, 1] it moves Bo innermost. Two
      // Transposes did the same single-threaded: 13 against 3.6 ms for a 512×512×3×3 weight, ≈ 100 ms a
      // ResNet-18 step in all.
      const kk = kh * kw;
      const rows = ctx.fresh(`${w}_oikbi`);
      const rowsView = ctx.fresh(`${w}_obo_ikbi`);
      const blocks = ctx.fresh(`${w}_oihwbibo`);
      wr = ctx.fresh(`${w}_nchwc`);
      out.push(mkNode('ReorderInput', [w], [rows], { channels_last: 0 }, undefined, NCHWC_DOMAIN));
      out.push(mkNode('Reshape', [rows, ctx.i64([O / block, block, C * kk, 1])], [rowsView]));
      out.push(mkNode('ReorderInput', [rowsView], [blocks], { channels_last: 0 }, undefined, NCHWC_DOMAIN));
      out.push(mkNode('Reshape', [blocks, ctx.i64([O, C, kh, kw])], [wr]));
      reorderedWeight.set(w, wr);
    }
    const attrs = (n.attribute ?? []).filter((a) => KEPT_ATTRS.has(a.name ?? ''));
    const yr = ctx.fresh(`${y}_nchwc`);
    const conv = mkNode('Conv', b ? [xr, wr, b] : [xr, wr], [yr], {}, `${n.name || `Conv_${y}`}_nchwc`, NCHWC_DOMAIN);
    conv.attribute = attrs;
    out.push(conv);
    out.push(mkNode('ReorderOutput', [yr], [y], { channels_last: 0, channels: O }, undefined, NCHWC_DOMAIN));
    blocked++;
  }
  return { nodes: out, blocked };
}

/**
 * Window geometry of 2-D Conv and pooling nodes with every `auto_pad` mode resolved to explicit pads, from
 * static shapes. Shared by the shape propagator, the forward rewrite and the backward rules.
 */
import { onnx } from '../../onnx/proto';
import { inputError } from '../../errors';
import { attrInt, attrInts, attrString, nodeLabel } from './onnxUtil';

export interface Window2d {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** ONNX order: [top, left, bottom, right]. */
  pads: [number, number, number, number];
  /** Output spatial size. */
  out: [number, number];
  /** Input spatial size. */
  in: [number, number];
  ceilMode: boolean;
}

function two(v: number[] | undefined, fallback: number, what: string, node: onnx.INodeProto): [number, number] {
  if (!v) return [fallback, fallback];
  if (v.length !== 2) throw inputError(undefined, `${nodeLabel(node)}: only 2-D ${node.opType} is supported (${what} has ${v.length} values)`);
  return [v[0], v[1]];
}

/**
 * Resolve the window of a Conv / MaxPool / AveragePool over an input with spatial size `inHW`.
 * `kernelHW` is the kernel from the weight (Conv) or the `kernel_shape` attribute (pools).
 */
export function resolveWindow(node: onnx.INodeProto, inHW: [number, number], kernelHW: [number, number]): Window2d {
  const kernel = kernelHW;
  const strides = two(attrInts(node, 'strides'), 1, 'strides', node);
  const dilations = two(attrInts(node, 'dilations'), 1, 'dilations', node);
  const ceilMode = attrInt(node, 'ceil_mode', 0) === 1;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let pads: [number, number, number, number];
  const out: [number, number] = [0, 0];
  if (autoPad === 'NOTSET') {
    const p = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    if (p.length !== 4) throw inputError(undefined, `${nodeLabel(node)}: only 2-D ${node.opType} is supported (pads has ${p.length} values)`);
    pads = [p[0], p[1], p[2], p[3]];
    for (let a = 0; a < 2; a++) {
      const span = inHW[a] + pads[a] + pads[a + 2] - ((kernel[a] - 1) * dilations[a] + 1);
      if (span < 0) throw inputError(undefined, `${nodeLabel(node)}: window larger than the padded input (${inHW[a]})`);
      let o = ceilMode ? Math.ceil(span / strides[a]) + 1 : Math.floor(span / strides[a]) + 1;
      // As PyTorch and onnxruntime do: the last window must start inside the input or its begin padding.
      if (ceilMode && (o - 1) * strides[a] >= inHW[a] + pads[a]) o--;
      out[a] = o;
    }
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
    for (let a = 0; a < 2; a++) {
      const ke = (kernel[a] - 1) * dilations[a] + 1;
      out[a] = Math.floor((inHW[a] - ke) / strides[a]) + 1;
    }
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = [0, 0, 0, 0];
    for (let a = 0; a < 2; a++) {
      const ke = (kernel[a] - 1) * dilations[a] + 1;
      const o = Math.ceil(inHW[a] / strides[a]);
      const total = Math.max(0, (o - 1) * strides[a] + ke - inHW[a]);
      const small = Math.floor(total / 2);
      const big = total - small;
      pads[a] = autoPad === 'SAME_UPPER' ? small : big;
      pads[a + 2] = autoPad === 'SAME_UPPER' ? big : small;
      out[a] = o;
    }
  } else {
    throw inputError(undefined, `${nodeLabel(node)}: unknown auto_pad '${autoPad}'`);
  }
  if (out[0] <= 0 || out[1] <= 0) throw inputError(undefined, `${nodeLabel(node)}: empty output (${out.join('×')})`);
  return { kernel, strides, dilations, pads, out, in: inHW, ceilMode };
}

/** Effective (dilated) kernel extent along axis a (0 = H, 1 = W). */
export function kEff(w: Window2d, a: number): number {
  return (w.kernel[a] - 1) * w.dilations[a] + 1;
}

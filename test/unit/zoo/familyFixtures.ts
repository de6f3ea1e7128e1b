/**
 * One small model per op pattern of torchvision's families, built with the project's ONNX builder so CI needs
 * no PyTorch: input [N, 4, 8, 8] (the synthetic images of ../fixtures.ts), 3 classes, BatchNorm folded away
 * where an eval-mode export folds it (biases on the convs), kept where it sits before a conv (DenseNet).
 */
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from '../../../src/core/onnx/builder';
import { DataType, onnx } from '../../../src/core/onnx/proto';
import { mulberry32 } from '../../../src/core/data/random';
import { gaussianFill } from '../../../src/core/data/gaussian';

class G {
  readonly nodes: onnx.INodeProto[] = [];
  readonly inits: onnx.ITensorProto[] = [];
  private readonly rand: () => number;
  private n = 0;

  constructor(seed: number) {
    this.rand = mulberry32(seed);
  }

  /** A fresh tensor name. */
  t(base: string): string {
    return `${base}.${this.n++}`;
  }

  op(type: string, inputs: string[], attrs: Record<string, unknown> = {}, outputs = 1, name?: string): string {
    const outs = Array.from({ length: outputs }, () => this.t(type.toLowerCase()));
    this.nodes.push(node(type, inputs, outs, attrs as never, name ?? outs[0]));
    return outs[0];
  }

  ops(type: string, inputs: string[], attrs: Record<string, unknown>, outputs: number): string[] {
    const outs = Array.from({ length: outputs }, () => this.t(type.toLowerCase()));
    this.nodes.push(node(type, inputs, outs, attrs as never, outs[0]));
    return outs;
  }

  param(name: string, dims: number[], std: number, mean = 0): string {
    const n = dims.reduce((a, b) => a * b, 1);
    this.inits.push(floatTensor(name, dims, gaussianFill(n, std, this.rand).map((v) => v + mean)));
    return name;
  }

  fill(name: string, dims: number[], value: number): string {
    this.inits.push(floatTensor(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value)));
    return name;
  }

  ints(name: string, values: number[], dims: number[] = [values.length]): string {
    this.inits.push(int64Tensor(name, values, dims));
    return name;
  }

  conv(name: string, x: string, cin: number, cout: number, k: number, o: { stride?: number; group?: number; bias?: boolean; pad?: number } = {}): string {
    const group = o.group ?? 1;
    const w = this.param(`${name}.weight`, [cout, cin / group, k, k], Math.sqrt(2 / ((cin / group) * k * k)));
    const ins = [x, w];
    if (o.bias !== false) ins.push(this.param(`${name}.bias`, [cout], 0.05));
    const p = o.pad ?? (k - 1) >> 1;
    const s = o.stride ?? 1;
    return this.op('Conv', ins, { kernel_shape: [k, k], pads: [p, p, p, p], strides: [s, s], group }, 1, name);
  }

  relu(x: string): string {
    return this.op('Relu', [x]);
  }

  /** BatchNormalization with statistics tensors of its own (or the given ones, to model deduplicated tensors). */
  bn(name: string, x: string, c: number, shared?: { mean: string; var: string }): string {
    const scale = this.param(`${name}.weight`, [c], 0.1, 1);
    const bias = this.param(`${name}.bias`, [c], 0.1);
    const mean = shared ? this.op('Identity', [shared.mean]) : this.param(`${name}.running_mean`, [c], 0.1);
    const variance = shared ? this.op('Identity', [shared.var]) : this.fill(`${name}.running_var`, [c], 1);
    return this.op('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: { float: 1e-5 }, momentum: { float: 0.9 } }, 1, name);
  }

  /** Linear on the last axis as torch exports it for 3-D inputs: MatMul(X, W[in, out]) → Add(·, b). */
  linear(name: string, x: string, fin: number, fout: number): string {
    const w = this.param(`${name}.weight`, [fin, fout], Math.sqrt(1 / fin));
    const b = this.param(`${name}.bias`, [fout], 0.02);
    return this.op('Add', [this.op('MatMul', [x, w], {}, 1, name), b]);
  }

  layerNorm(name: string, x: string, c: number): string {
    return this.op('LayerNormalization', [x, this.param(`${name}.weight`, [c], 0.1, 1), this.param(`${name}.bias`, [c], 0.05)], { axis: -1, epsilon: { float: 1e-6 } }, 1, name);
  }

  /** Exact GELU as torch.onnx.export writes it: x · 0.5 · (1 + erf(x / √2)). */
  gelu(x: string): string {
    const e = this.op('Erf', [this.op('Div', [x, this.fill(this.t('sqrt2'), [], Math.SQRT2)])]);
    return this.op('Mul', [this.op('Mul', [x, this.op('Add', [e, this.fill(this.t('one'), [], 1)])]), this.fill(this.t('half'), [], 0.5)]);
  }

  /** Resize scales ×2 on H and W. */
  scales2x(): string {
    const name = this.t('scales');
    this.inits.push(floatTensor(name, [4], [1, 1, 2, 2]));
    return name;
  }

  /** GlobalAveragePool → Flatten → Gemm classifier to 3 logits. */
  head(x: string, c: number): void {
    const f = this.op('Flatten', [this.op('GlobalAveragePool', [x])], { axis: 1 });
    this.nodes.push(node('Gemm', [f, this.param('fc.weight', [3, c], Math.sqrt(1 / c)), this.fill('fc.bias', [3], 0)], ['logits'], { transB: 1 } as never, 'fc'));
  }

  build(name: string): Uint8Array {
    return buildModel({
      name, nodes: this.nodes, initializers: this.inits,
      inputs: [valueInfo('input', DataType.FLOAT, ['N', 4, 8, 8])],
      outputs: [valueInfo('logits', DataType.FLOAT, ['N', 3])],
    }, 17);
  }
}

/** ShuffleNetV2 units: channel split (Split in one unit, Slice in the next), branch, Concat, channel shuffle. */
export function shuffleUnits(): Uint8Array {
  const g = new G(31);
  let x = g.relu(g.conv('stem', 'input', 4, 16, 3));
  const unit = (name: string, useSlice: boolean) => {
    let a: string, b: string;
    if (useSlice) {
      a = g.op('Slice', [x, g.ints(g.t('s0'), [0]), g.ints(g.t('e0'), [8]), g.ints(g.t('ax'), [1])]);
      b = g.op('Slice', [x, g.ints(g.t('s1'), [8]), g.ints(g.t('e1'), [16]), g.ints(g.t('ax'), [1])]);
    } else {
      [a, b] = g.ops('Split', [x, g.ints(g.t('split'), [8, 8])], { axis: 1 }, 2);
    }
    b = g.relu(g.conv(`${name}.pw1`, b, 8, 8, 1));
    b = g.conv(`${name}.dw`, b, 8, 8, 3, { group: 8 });
    b = g.relu(g.conv(`${name}.pw2`, b, 8, 8, 1));
    const cat = g.op('Concat', [a, b], { axis: 1 });
    const r = g.op('Reshape', [cat, g.ints(g.t('shape5'), [0, 2, 8, 8, 8])]);
    x = g.op('Reshape', [g.op('Transpose', [r], { perm: [0, 2, 1, 3, 4] }), g.ints(g.t('shape4'), [0, 16, 8, 8])]);
  };
  unit('unit1', false);
  unit('unit2', true);
  g.head(g.relu(g.conv('conv5', x, 16, 16, 1)), 16);
  return g.build('shuffle-units');
}

/** ConvNeXt block: patchify, depthwise 7×7, NHWC LayerNorm, Linear → exact GELU → Linear, layer scale, residual. */
export function convnextBlock(): Uint8Array {
  const g = new G(32);
  const stem = g.conv('stem', 'input', 4, 16, 2, { stride: 2, pad: 0 });
  let x = g.conv('block.dw', stem, 16, 16, 7, { group: 16, pad: 3 });
  x = g.layerNorm('block.norm', g.op('Transpose', [x], { perm: [0, 2, 3, 1] }), 16);
  x = g.linear('block.pwconv2', g.gelu(g.linear('block.pwconv1', x, 16, 64)), 64, 16);
  x = g.op('Mul', [x, g.param('block.layer_scale', [16], 0.1, 0.5)]);
  x = g.op('Add', [stem, g.op('Transpose', [x], { perm: [0, 3, 1, 2] })]);
  const f = g.layerNorm('head.norm', g.op('Flatten', [g.op('GlobalAveragePool', [x])], { axis: 1 }), 16);
  g.nodes.push(node('Gemm', [f, g.param('fc.weight', [3, 16], 0.25), g.fill('fc.bias', [3], 0)], ['logits'], { transB: 1 } as never, 'fc'));
  return g.build('convnext-block');
}

/**
 * ViT encoder block: conv patch embedding, class token expanded to the batch (Shape → Gather → Concat → Expand)
 * and concatenated, positional embedding, pre-LN multi-head attention (Q·Kᵀ, Softmax over the last axis, ·V) and
 * MLP with exact GELU, then the class token (Gather index 0) into the classifier.
 */
export function vitBlock(): Uint8Array {
  const g = new G(33);
  const D = 16, T = 5, H = 2, Dh = 8;
  const patches = g.conv('conv_proj', 'input', 4, D, 4, { stride: 4, pad: 0 });
  const tokens = g.op('Transpose', [g.op('Reshape', [patches, g.ints(g.t('flat'), [0, D, 4])])], { perm: [0, 2, 1] });
  const batch = g.op('Gather', [g.op('Shape', [tokens]), g.ints(g.t('zero'), [0], [1])], { axis: 0 });
  const expandTo = g.op('Concat', [batch, g.ints(g.t('one'), [1]), g.ints(g.t('d'), [D])], { axis: 0 });
  const cls = g.op('Expand', [g.param('class_token', [1, 1, D], 0.02), expandTo]);
  let x = g.op('Add', [g.op('Concat', [cls, tokens], { axis: 1 }), g.param('pos_embedding', [1, T, D], 0.02)]);
  // Attention.
  const qkv = g.linear('encoder.attn.in_proj', g.layerNorm('encoder.ln_1', x, D), D, 3 * D);
  const heads = g.op('Transpose', [g.op('Reshape', [qkv, g.ints(g.t('qkv'), [0, T, 3, H, Dh])])], { perm: [2, 0, 3, 1, 4] });
  const [q, k, v] = [0, 1, 2].map((i) => g.op('Gather', [heads, g.ints(g.t(`i${i}`), [i], [])], { axis: 0 }));
  const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.fill(g.t('scale'), [], 1 / Math.sqrt(Dh))]);
  const att = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
  const merged = g.op('Reshape', [g.op('Transpose', [att], { perm: [0, 2, 1, 3] }), g.ints(g.t('merge'), [0, T, D])]);
  x = g.op('Add', [x, g.linear('encoder.attn.out_proj', merged, D, D)]);
  // MLP.
  const h = g.gelu(g.linear('encoder.mlp.0', g.layerNorm('encoder.ln_2', x, D), D, 32));
  x = g.op('Add', [x, g.linear('encoder.mlp.3', h, 32, D)]);
  const clsOut = g.op('Gather', [g.layerNorm('encoder.ln', x, D), g.ints(g.t('first'), [0], [])], { axis: 1 });
  g.nodes.push(node('Gemm', [clsOut, g.param('heads.weight', [3, D], 0.25), g.fill('heads.bias', [3], 0)], ['logits'], { transB: 1 } as never, 'heads'));
  return g.build('vit-block');
}

/**
 * DenseNet block: BatchNorm before each conv (not foldable, so the export keeps it), dense Concat, and two BNs
 * whose statistics are one deduplicated tensor pair reached through Identity, as the exporter writes equal tensors.
 */
export function denseBlock(): Uint8Array {
  const g = new G(34);
  const x0 = g.relu(g.bn('features.norm0', g.conv('features.conv0', 'input', 4, 16, 3, { bias: false }), 16));
  const shared = { mean: g.fill('shared.running_mean', [16], 0), var: g.fill('shared.running_var', [16], 1) };
  const layer = (name: string, x: string, cin: number, stats?: { mean: string; var: string }) => {
    let y = g.conv(`${name}.conv1`, g.relu(g.bn(`${name}.norm1`, x, cin)), cin, 16, 1, { bias: false });
    y = g.conv(`${name}.conv2`, g.relu(g.bn(`${name}.norm2`, y, 16, stats)), 16, 8, 3, { bias: false });
    return g.op('Concat', [x, y], { axis: 1 });
  };
  const c1 = layer('denselayer1', x0, 16, shared);
  const c2 = layer('denselayer2', c1, 24, shared);
  const t = g.conv('transition.conv', g.relu(g.bn('transition.norm', c2, 32)), 32, 16, 1, { bias: false });
  g.head(g.op('AveragePool', [t], { kernel_shape: [2, 2], strides: [2, 2] }), 16);
  return g.build('dense-block');
}

/** MobileNetV3 block: HardSwish, depthwise conv, squeeze-excitation with HardSigmoid, projection, residual. */
export function seBlock(): Uint8Array {
  const g = new G(35);
  const stem = g.op('HardSwish', [g.conv('stem', 'input', 4, 16, 3)]);
  let x = g.op('HardSwish', [g.conv('block.expand', stem, 16, 32, 1)]);
  x = g.op('HardSwish', [g.conv('block.dw', x, 32, 32, 3, { group: 32 })]);
  const s = g.op('HardSigmoid', [g.conv('block.se.fc2', g.relu(g.conv('block.se.fc1', g.op('GlobalAveragePool', [x]), 32, 8, 1)), 8, 32, 1)], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
  x = g.conv('block.project', g.op('Mul', [x, s]), 32, 16, 1);
  g.head(g.op('Add', [x, stem]), 16);
  return g.build('se-block');
}

/** FPN: a top-down path upsampled by Resize (nearest, ×2) and added to a lateral 1×1 conv. */
export function fpnBlock(): Uint8Array {
  const g = new G(36);
  const c1 = g.relu(g.conv('stem', 'input', 4, 16, 3));
  const c2 = g.relu(g.conv('layer2', c1, 16, 16, 3, { stride: 2 }));
  const top = g.op('Resize', [g.conv('inner.top', c2, 16, 16, 1), '', g.scales2x()], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  const merged = g.op('Add', [top, g.conv('inner.lateral', c1, 16, 16, 1)]);
  g.head(g.relu(g.conv('layer.out', merged, 16, 16, 3)), 16);
  return g.build('fpn-block');
}

export const FAMILY_PATTERNS = {
  'shufflenet: channel split (Split, Slice) + shuffle': shuffleUnits,
  'convnext: depthwise 7×7, LayerNorm, exact-GELU MLP, layer scale': convnextBlock,
  'vit: class token (Shape/Gather/Concat/Expand), attention with Softmax': vitBlock,
  'densenet: BN before conv, dense Concat, deduplicated BN statistics': denseBlock,
  'mobilenet_v3: squeeze-excitation with HardSigmoid/HardSwish': seBlock,
  'fpn: Resize nearest ×2 + lateral Add': fpnBlock,
} as const;

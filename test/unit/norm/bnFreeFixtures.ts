/**
 * BN-free models as `torch.onnx.export` writes them in eval mode (every BatchNorm folded into its conv, so each
 * conv has a bias and nothing normalises its output): a ResNet-18-style basic block pair and a SqueezeNet fire
 * module, plus a model with one layer of each normalisation case.
 */
import { buildModel, floatTensor, node, valueInfo } from '../../../src/core/onnx/builder';
import { DataType, onnx } from '../../../src/core/onnx/proto';
import { mulberry32 } from '../../../src/core/data/random';
import { gaussianFill } from '../../../src/core/data/gaussian';

interface B {
  nodes: onnx.INodeProto[];
  inits: onnx.ITensorProto[];
  rand: () => number;
}

/** A conv with He-initialised weight and a bias (what a folded Conv→BN leaves). */
function conv(b: B, name: string, x: string, cin: number, cout: number, k: number, o: { stride?: number; bias?: string | false } = {}): string {
  b.inits.push(floatTensor(`${name}.weight`, [cout, cin, k, k], gaussianFill(cout * cin * k * k, Math.sqrt(2 / (cin * k * k)), b.rand)));
  const inputs = [x, `${name}.weight`];
  if (o.bias !== false) {
    const biasName = o.bias ?? `${name}.bias`;
    if (!b.inits.some((t) => t.name === biasName)) b.inits.push(floatTensor(biasName, [cout], gaussianFill(cout, 0.1, b.rand)));
    inputs.push(biasName);
  }
  const s = o.stride ?? 1;
  b.nodes.push(node('Conv', inputs, [`${name}.out`], { kernel_shape: [k, k], pads: k === 1 ? [0, 0, 0, 0] : [1, 1, 1, 1], strides: [s, s] }, name));
  return `${name}.out`;
}

function op(b: B, type: string, inputs: string[], name: string, attrs = {}): string {
  b.nodes.push(node(type, inputs, [`${name}.out`], attrs, name));
  return `${name}.out`;
}

function head(b: B, x: string, c: number, k: number): void {
  const f = op(b, 'Flatten', [op(b, 'GlobalAveragePool', [x], 'gap')], 'flatten');
  b.inits.push(floatTensor('fc.weight', [k, c], gaussianFill(k * c, Math.sqrt(1 / c), b.rand)));
  b.inits.push(floatTensor('fc.bias', [k], new Float32Array(k)));
  b.nodes.push(node('Gemm', [f, 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'));
}

function model(b: B, name: string, c: number, s: number, k: number): Uint8Array {
  return buildModel({
    name, nodes: b.nodes, initializers: b.inits,
    inputs: [valueInfo('input', DataType.FLOAT, ['N', c, s, s])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['N', k])],
  });
}

/**
 * input [N, 4, 8, 8] → stem 4→16 · ReLU · basic block (3×3 16→16 · ReLU · 3×3 16→16, + identity) · ReLU ·
 * downsampling block (3×3 stride 2 16→32 · ReLU · 3×3 32→32, + 1×1 stride 2 16→32) · ReLU · GAP · fc 32→3.
 */
export function bnFreeResnetBlocks(seed = 11): Uint8Array {
  const b: B = { nodes: [], inits: [], rand: mulberry32(seed) };
  let x = op(b, 'Relu', [conv(b, 'stem', 'input', 4, 16, 3)], 'stem.relu');
  const y = conv(b, 'layer1.conv2', op(b, 'Relu', [conv(b, 'layer1.conv1', x, 16, 16, 3)], 'layer1.relu1'), 16, 16, 3);
  x = op(b, 'Relu', [op(b, 'Add', [y, x], 'layer1.add')], 'layer1.relu2');
  const z = conv(b, 'layer2.conv2', op(b, 'Relu', [conv(b, 'layer2.conv1', x, 16, 32, 3, { stride: 2 })], 'layer2.relu1'), 32, 32, 3);
  const down = conv(b, 'layer2.down', x, 16, 32, 1, { stride: 2 });
  x = op(b, 'Relu', [op(b, 'Add', [z, down], 'layer2.add')], 'layer2.relu2');
  head(b, x, 32, 3);
  return model(b, 'bn-free-resnet-blocks', 4, 8, 3);
}

/**
 * input [N, 4, 8, 8] → stem 4→16 · ReLU · fire (squeeze 1×1 16→8 · ReLU, expand 1×1 8→16 · ReLU ‖ expand 3×3
 * 8→16 · ReLU, Concat) · fire (32→8, 8→16 ‖ 8→16) · classifier conv 1×1 32→3 · ReLU · GAP · Flatten.
 */
export function bnFreeFireModules(seed = 12): Uint8Array {
  const b: B = { nodes: [], inits: [], rand: mulberry32(seed) };
  let x = op(b, 'Relu', [conv(b, 'stem', 'input', 4, 16, 3)], 'stem.relu');
  const fire = (name: string, input: string, cin: number): string => {
    const s = op(b, 'Relu', [conv(b, `${name}.squeeze`, input, cin, 8, 1)], `${name}.squeeze_relu`);
    const e1 = op(b, 'Relu', [conv(b, `${name}.expand1x1`, s, 8, 16, 1)], `${name}.e1_relu`);
    const e3 = op(b, 'Relu', [conv(b, `${name}.expand3x3`, s, 8, 16, 3)], `${name}.e3_relu`);
    return op(b, 'Concat', [e1, e3], `${name}.cat`, { axis: 1 });
  };
  x = fire('fire2', x, 16);
  x = fire('fire3', x, 32);
  x = op(b, 'Relu', [conv(b, 'classifier', x, 32, 3, 1)], 'classifier.relu');
  b.nodes.push(node('Flatten', [op(b, 'GlobalAveragePool', [x], 'gap')], ['logits'], {}, 'flatten'));
  return model(b, 'bn-free-fire-modules', 4, 8, 3);
}

/**
 * One layer per normalisation case, input [N, 4, 8, 8]:
 *   stem 4→8 (first conv) · ReLU · bn_conv 8→8 (no bias) · BN · ReLU · cat_a 8→8 ‖ cat_b 8→8 · Concat · BN ·
 *   plain 16→8 (bias) · ReLU · nobias 8→8 (no bias) · ReLU · shared_a 8→8, shared_b 8→8 (one bias tensor) · Add ·
 *   GAP · Flatten · mm MatMul 8→8 · fc Gemm 8→3.
 */
export function normCasesModel(seed = 13): Uint8Array {
  const b: B = { nodes: [], inits: [], rand: mulberry32(seed) };
  const bn = (name: string, x: string, c: number): string => {
    for (const [t, v] of [['scale', 1], ['shift', 0], ['mean', 0], ['var', 1]] as const) b.inits.push(floatTensor(`${name}.${t}`, [c], new Float32Array(c).fill(v)));
    return op(b, 'BatchNormalization', [x, `${name}.scale`, `${name}.shift`, `${name}.mean`, `${name}.var`], name, { epsilon: { float: 1e-5 } });
  };
  let x = op(b, 'Relu', [conv(b, 'stem', 'input', 4, 8, 3)], 'stem.relu');
  x = op(b, 'Relu', [bn('bn1', conv(b, 'bn_conv', x, 8, 8, 3, { bias: false }), 8)], 'bn1.relu');
  const cat = op(b, 'Concat', [conv(b, 'cat_a', x, 8, 8, 1, { bias: false }), conv(b, 'cat_b', x, 8, 8, 1, { bias: false })], 'cat', { axis: 1 });
  x = op(b, 'Relu', [conv(b, 'plain', op(b, 'Relu', [bn('bn2', cat, 16)], 'bn2.relu'), 16, 8, 3)], 'plain.relu');
  x = op(b, 'Relu', [conv(b, 'nobias', x, 8, 8, 3, { bias: false })], 'nobias.relu');
  x = op(b, 'Add', [conv(b, 'shared_a', x, 8, 8, 1, { bias: 'shared.bias' }), conv(b, 'shared_b', x, 8, 8, 1, { bias: 'shared.bias' })], 'add');
  const f = op(b, 'Flatten', [op(b, 'GlobalAveragePool', [x], 'gap')], 'flatten');
  b.inits.push(floatTensor('mm.weight', [8, 8], gaussianFill(64, 0.3, b.rand)));
  const m = op(b, 'Relu', [op(b, 'MatMul', [f, 'mm.weight'], 'mm')], 'mm.relu');
  b.inits.push(floatTensor('fc.weight', [3, 8], gaussianFill(24, 0.3, b.rand)));
  b.inits.push(floatTensor('fc.bias', [3], new Float32Array(3)));
  b.nodes.push(node('Gemm', [m, 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'));
  return model(b, 'norm-cases', 4, 8, 3);
}

/**
 * The bundled demo model's architecture: a small residual CNN for 1×28×28 digits, built with He-initialised
 * weights from a seed. `scripts/train-demo-model.js` trains it on MNIST with this project's own engine and
 * writes `media/demo/mnist-cnn.onnx`. BatchNorm is kept (not folded) so fine-tuning can use it.
 *
 *   conv 1→16 3×3 (stem, stays dense) · BN · ReLU · MaxPool 2
 *   conv 16→32 3×3 · BN · ReLU · conv 32→32 3×3 · BN  (+ 1×1 16→32 shortcut · BN) · Add · ReLU · MaxPool 2
 *   conv 32→64 3×3 · BN · ReLU · GlobalAveragePool · Flatten · Gemm 64→10 (classifier, stays dense)
 */
import { buildModel, floatTensor, node, valueInfo } from '../onnx/builder';
import { DataType, onnx } from '../onnx/proto';
import { gaussianFill } from '../data/gaussian';

interface Builder {
  nodes: onnx.INodeProto[];
  inits: onnx.ITensorProto[];
  rand: () => number;
}

function conv(b: Builder, name: string, x: string, cin: number, cout: number, k: number): string {
  const std = Math.sqrt(2 / (cin * k * k));
  b.inits.push(floatTensor(`${name}.weight`, [cout, cin, k, k], gaussianFill(cout * cin * k * k, std, b.rand)));
  b.nodes.push(node('Conv', [x, `${name}.weight`], [`${name}.out`], { kernel_shape: [k, k], pads: k === 1 ? [0, 0, 0, 0] : [1, 1, 1, 1], strides: [1, 1] }, name));
  return `${name}.out`;
}

function bn(b: Builder, name: string, x: string, c: number): string {
  b.inits.push(floatTensor(`${name}.weight`, [c], new Float32Array(c).fill(1)));
  b.inits.push(floatTensor(`${name}.bias`, [c], new Float32Array(c)));
  b.inits.push(floatTensor(`${name}.running_mean`, [c], new Float32Array(c)));
  b.inits.push(floatTensor(`${name}.running_var`, [c], new Float32Array(c).fill(1)));
  b.nodes.push(node('BatchNormalization', [x, `${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`], [`${name}.out`], { epsilon: { float: 1e-5 }, momentum: { float: 0.9 } }, name));
  return `${name}.out`;
}

function op(b: Builder, type: string, inputs: string[], name: string, attrs = {}): string {
  b.nodes.push(node(type, inputs, [`${name}.out`], attrs, name));
  return `${name}.out`;
}

export function buildDemoCnn(seed: number, rand: (seed: number) => () => number): Uint8Array {
  const b: Builder = { nodes: [], inits: [], rand: rand(seed) };
  let x = conv(b, 'stem.conv', 'input', 1, 16, 3);
  x = op(b, 'Relu', [bn(b, 'stem.bn', x, 16)], 'stem.relu');
  x = op(b, 'MaxPool', [x], 'pool1', { kernel_shape: [2, 2], strides: [2, 2] });
  let y = conv(b, 'block.conv1', x, 16, 32, 3);
  y = op(b, 'Relu', [bn(b, 'block.bn1', y, 32)], 'block.relu1');
  y = bn(b, 'block.bn2', conv(b, 'block.conv2', y, 32, 32, 3), 32);
  const shortcut = bn(b, 'block.down.bn', conv(b, 'block.down.conv', x, 16, 32, 1), 32);
  x = op(b, 'Relu', [op(b, 'Add', [y, shortcut], 'block.add')], 'block.relu2');
  x = op(b, 'MaxPool', [x], 'pool2', { kernel_shape: [2, 2], strides: [2, 2] });
  x = op(b, 'Relu', [bn(b, 'head.bn', conv(b, 'head.conv', x, 32, 64, 3), 64)], 'head.relu');
  x = op(b, 'Flatten', [op(b, 'GlobalAveragePool', [x], 'gap')], 'flatten');
  b.inits.push(floatTensor('fc.weight', [10, 64], gaussianFill(640, Math.sqrt(1 / 64), b.rand)));
  b.inits.push(floatTensor('fc.bias', [10], new Float32Array(10)));
  b.nodes.push(node('Gemm', [x, 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'));
  return buildModel({
    name: 'mnist-cnn',
    nodes: b.nodes,
    inputs: [valueInfo('input', DataType.FLOAT, ['N', 1, 28, 28])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['N', 10])],
    initializers: b.inits,
  }, 17, { producerName: 'maxq-studio', docString: 'MaxQ Studio demo CNN for MNIST digits' });
}

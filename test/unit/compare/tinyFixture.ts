/**
 * A tiny CNN (stem conv 4→8 · BN · ReLU · conv 8→8 · BN · ReLU · GAP · Gemm 8→3, 6×6 inputs) and tiny labelled
 * .npy data in a temp folder, so a whole comparison runs in seconds.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildModel, floatTensor, node, valueInfo } from '../../../src/core/onnx/builder';
import { DataType } from '../../../src/core/onnx/proto';
import { gaussianFill } from '../../../src/core/data/gaussian';
import { mulberry32 } from '../../../src/core/data/random';
import { writeNpy } from '../../../src/core/io/npy';

export interface TinyFixture {
  dir: string;
  model: string;
  inputs: string;
  labels: string;
  valInputs: string;
  valLabels: string;
  remove(): void;
}

function convBnRelu(nodes: ReturnType<typeof node>[], inits: ReturnType<typeof floatTensor>[], name: string, x: string, cin: number, cout: number, rand: () => number): string {
  inits.push(floatTensor(`${name}.weight`, [cout, cin, 3, 3], gaussianFill(cout * cin * 9, Math.sqrt(2 / (cin * 9)), rand)));
  nodes.push(node('Conv', [x, `${name}.weight`], [`${name}.conv`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, `${name}.conv`));
  inits.push(floatTensor(`${name}.bn.weight`, [cout], new Float32Array(cout).fill(1)));
  inits.push(floatTensor(`${name}.bn.bias`, [cout], new Float32Array(cout)));
  inits.push(floatTensor(`${name}.bn.running_mean`, [cout], new Float32Array(cout)));
  inits.push(floatTensor(`${name}.bn.running_var`, [cout], new Float32Array(cout).fill(1)));
  nodes.push(node('BatchNormalization', [`${name}.conv`, `${name}.bn.weight`, `${name}.bn.bias`, `${name}.bn.running_mean`, `${name}.bn.running_var`], [`${name}.bn`], { epsilon: { float: 1e-5 }, momentum: { float: 0.9 } }, `${name}.bn`));
  nodes.push(node('Relu', [`${name}.bn`], [`${name}.out`], {}, `${name}.relu`));
  return `${name}.out`;
}

function tinyCnn(seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const nodes: ReturnType<typeof node>[] = [];
  const inits: ReturnType<typeof floatTensor>[] = [];
  let x = convBnRelu(nodes, inits, 'stem', 'input', 4, 8, rand);
  x = convBnRelu(nodes, inits, 'body', x, 8, 8, rand);
  nodes.push(node('GlobalAveragePool', [x], ['gap'], {}, 'gap'));
  nodes.push(node('Flatten', ['gap'], ['flat'], {}, 'flatten'));
  inits.push(floatTensor('fc.weight', [3, 8], gaussianFill(24, Math.sqrt(1 / 8), rand)));
  inits.push(floatTensor('fc.bias', [3], new Float32Array(3)));
  nodes.push(node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'));
  return buildModel({
    nodes, initializers: inits,
    inputs: [valueInfo('input', DataType.FLOAT, ['N', 4, 6, 6])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['N', 3])],
  });
}

function writeData(file: string, labelsFile: string, count: number, rand: () => number): void {
  writeNpy(file, [count, 4, 6, 6], gaussianFill(count * 4 * 36, 1, rand));
  writeNpy(labelsFile, [count], BigInt64Array.from({ length: count }, () => BigInt(Math.floor(rand() * 3))));
}

export function tinyFixture(): TinyFixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-compare-test-'));
  const file = (n: string) => path.join(dir, n);
  fs.writeFileSync(file('tiny.onnx'), tinyCnn(7));
  const rand = mulberry32(11);
  writeData(file('x.npy'), file('y.npy'), 48, rand);
  writeData(file('vx.npy'), file('vy.npy'), 16, rand);
  return {
    dir, model: file('tiny.onnx'), inputs: file('x.npy'), labels: file('y.npy'), valInputs: file('vx.npy'), valLabels: file('vy.npy'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

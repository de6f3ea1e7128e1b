/**
 * The train-step bench prints a floor: the step's conv arithmetic at onnxruntime's best rate (MatMul or blocked conv). The flop
 * count must be the one of the convs the training graph holds (forward, dX where the input needs a gradient, dW),
 * and the rate a real measurement.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { convMacs, convPeakGflops, convStepFlops, matMulPeakGflops } from '../../../bench/machinePeak';
import { ConvLayerInfo } from '../../../src/core/training/graph/context';
import { buildTrainingGraph } from '../../../src/core/training/graph/trainingGraph';
import { resnet18Cifar } from '../../../bench/trainStep.bench';

function layer(input: number[], weightDims: number[], output: number[], group = 1): ConvLayerInfo {
  return { node: 'c', weight: 'w', input, weightDims, output, group, strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1] };
}

describe('bench machine peak', () => {
  it('counts a conv as N·K·Ho·Wo·(C/g)·kh·kw multiply-adds', () => {
    assert.equal(convMacs(layer([2, 8, 5, 5], [4, 8, 3, 3], [2, 4, 5, 5])), 2 * 4 * 25 * 8 * 9);
    // Grouped: each output sees C/g input channels.
    assert.equal(convMacs(layer([1, 8, 4, 4], [8, 2, 3, 3], [1, 8, 2, 2], 4)), 8 * 4 * 2 * 9);
  });

  it('adds forward and dW for every conv, dX only where the input needs a gradient', () => {
    const stem = layer([2, 3, 8, 8], [4, 3, 3, 3], [2, 4, 8, 8]);
    const body = layer([2, 4, 8, 8], [4, 4, 3, 3], [2, 4, 8, 8]);
    const f = convStepFlops([stem, body], (l) => l !== stem);
    const s = 2 * convMacs(stem), b = 2 * convMacs(body);
    assert.deepEqual(f, { forward: s + b, dx: b, dw: s + b, total: 2 * (s + b) + b, convs: 2 });
  });

  it('sees every conv of the bench model through the formulation chooser (ResNet-18 CIFAR: 20 convs, 213 GFLOP at batch 64)', () => {
    const convs: ConvLayerInfo[] = [];
    buildTrainingGraph(resnet18Cifar(), { batchSize: 64, formulation: { choose: (l) => void convs.push(l) } });
    const f = convStepFlops(convs, (l) => l.input[1] !== 3);
    assert.equal(f.convs, 20);
    // 0.557 GMAC per 32×32 image forward (the CIFAR ResNet-18's well-known count), × 64 images × 2 flops.
    assert.ok(Math.abs(f.forward / 1e9 - 71.1) < 0.1, `forward ${f.forward / 1e9} GFLOP`);
    assert.ok(Math.abs(f.total / 1e9 - 213.1) < 0.2, `total ${f.total / 1e9} GFLOP`);
  });

  it('measures a finite, positive MatMul rate', async () => {
    const g = await matMulPeakGflops(1, 128, 2);
    assert.ok(Number.isFinite(g) && g > 0, `rate ${g}`);
  });

  it('measures a finite, positive blocked-conv rate', async () => {
    const g = await convPeakGflops(1, 2, { batch: 2, channels: 16, size: 8, depth: 2 });
    assert.ok(Number.isFinite(g) && g > 0, `rate ${g}`);
  });
});

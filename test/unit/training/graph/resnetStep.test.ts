/**
 * Integration: the ResNet-18 (CIFAR form) builder of the train-step bench, narrowed so the test is quick,
 * trains through the generated graph: gradients are finite and non-zero for every parameter and a few SGD steps
 * on one fixed batch lower the loss, with every formulation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { resnet18Cifar } from '../../../../bench/trainStep.bench';
import { buildTrainingGraph } from '../../../../src/core/training/graph/trainingGraph';
import { FormulationOptions } from '../../../../src/core/training/graph/context';
import { floatData } from '../../../../src/core/training/graph/onnxUtil';
import { Rng, f32, i64, randn, session } from './helpers';

const variants: Record<string, FormulationOptions> = {
  auto: {},
  'flip+kkgemm': { conv: { dx: 'flip', dw: 'kkgemm' } },
  'convtranspose+conv': { conv: { dx: 'convtranspose', dw: 'conv' } },
};

for (const [name, formulation] of Object.entries(variants)) {
  test(`narrow ResNet-18 (${name}): finite gradients and SGD lowers the loss on a fixed batch`, async () => {
    const m = resnet18Cifar(5, [1, 1, 1, 1], [8, 16, 16, 32]);
    const N = 4;
    const tg = buildTrainingGraph(m, { batchSize: N, formulation });
    assert.equal(tg.bnStats.length, 1 + 4 * 2 + 3);
    const sess = await session(tg.modelBytes, 2);
    const rng = new Rng(3);
    const x = randn(rng, tg.inputDims);
    const labels = [0, 1, 2, 3];
    const inits = new Map((m.graph!.initializer ?? []).map((t) => [t.name!, t]));
    const w = new Map(tg.params.map((p) => [p.name, floatData(inits.get(p.sourceInitializer)!)]));
    const losses: number[] = [];
    for (let step = 0; step < 6; step++) {
      const feeds: Record<string, ort.Tensor> = { [tg.inputName]: f32(x, tg.inputDims), [tg.labelsName]: i64(labels) };
      for (const p of tg.params) feeds[p.name] = f32(w.get(p.name)!, p.dims);
      const out = await sess.run(feeds);
      losses.push((out[tg.lossName].data as Float32Array)[0]);
      for (const p of tg.params) {
        const g = out[p.gradOutput].data as Float32Array;
        assert.ok(g.every((v) => Number.isFinite(v)), `${p.name}: non-finite gradient`);
        if (step === 0 && p.kind !== 'bias') assert.ok(g.some((v) => v !== 0), `${p.name}: all-zero gradient`);
        const wp = w.get(p.name)!;
        for (let i = 0; i < wp.length; i++) wp[i] -= 0.05 * g[i];
      }
    }
    assert.ok(losses[losses.length - 1] < losses[0] * 0.9, `loss did not go down: ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
  });
}

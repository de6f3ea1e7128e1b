/**
 * The inserted normalisation folds back exactly: the model with W' and b' written computes what the model with
 * the BatchNormalization inserted (eval mode) computes — for convs, Gemm in both weight layouts with alpha and
 * beta, and after training steps (the run's final eval model against the written one).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { buildModel, floatTensor, node, valueInfo } from '../../../src/core/onnx/builder';
import { DataType } from '../../../src/core/onnx/proto';
import { mulberry32 } from '../../../src/core/data/random';
import { gaussianFill } from '../../../src/core/data/gaussian';
import { discoverLayers } from '../../../src/core/layers/layerDiscovery';
import { planRunNormalisation } from '../../../src/core/norm/normSites';
import { insertNormalisation, NormValues } from '../../../src/core/norm/insertNormalisation';
import { denseIdentityNormalisation, foldIntoEdits } from '../../../src/core/norm/runNormalisation';
import { derivedModelProto, derivedSession } from '../../../src/core/runtime/derivedModel';
import { ort } from '../../../src/core/runtime/ortSession';
import { NpyDataset } from '../../../src/core/data/npy-dataset';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { setUpTraining } from '../../../src/core/training/trainingSetup';
import { TrainStepper } from '../../../src/core/training/trainStep';
import { exportEdits } from '../../../src/core/training/fineTune';
import { Sgd } from '../../../src/core/training/optim';
import { tempDir, writeModelFile, writeSyntheticNpy, syntheticImages } from '../fixtures';
import { bnFreeResnetBlocks } from './bnFreeFixtures';
import { onnx } from '../../../src/core/onnx/proto';

async function run(model: OnnxModel, proto: onnx.ModelProto, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await derivedSession(model, proto);
  try {
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) });
    return out[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-5 * scale + 1e-6, `${what}[${i}]: ${v} vs ${b[i]}`));
}

function randomValues(c: number, rand: () => number): NormValues {
  return {
    scale: Float32Array.from(gaussianFill(c, 1, rand), (v) => v + 0.5),
    shift: gaussianFill(c, 0.5, rand),
    mean: gaussianFill(c, 0.5, rand),
    variance: Float32Array.from(gaussianFill(c, 1, rand), (v) => Math.abs(v) + 0.1),
  };
}

/** input [N, 8] → Gemm 8→8 (weight layout and alpha/beta given) → ReLU → Gemm 8→3 (the classifier). */
function gemmModel(transB: number, alpha: number, beta: number): Uint8Array {
  const rand = mulberry32(21);
  return buildModel({
    name: 'gemm', inputs: [valueInfo('input', DataType.FLOAT, ['N', 8])], outputs: [valueInfo('logits', DataType.FLOAT, ['N', 3])],
    initializers: [
      floatTensor('lin.weight', [8, 8], gaussianFill(64, 0.4, rand)), floatTensor('lin.bias', [8], gaussianFill(8, 0.3, rand)),
      floatTensor('fc.weight', [3, 8], gaussianFill(24, 0.4, rand)), floatTensor('fc.bias', [3], new Float32Array(3)),
    ],
    nodes: [
      node('Gemm', ['input', 'lin.weight', 'lin.bias'], ['lin.out'], { transB, alpha: { float: alpha }, beta: { float: beta } }, 'lin'),
      node('Relu', ['lin.out'], ['relu.out'], {}, 'relu'),
      node('Gemm', ['relu.out', 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'),
    ],
  });
}

describe('folding the run normalisation back', () => {
  it('convs: the written weight and bias compute what the inserted BatchNormalization computes', async () => {
    const model = await OnnxModel.load(writeModelFile(tempDir('maxq-foldback-'), 'blocks.onnx', bnFreeResnetBlocks()));
    const plan = planRunNormalisation(model, discoverLayers(model, { m: 4 }).filter((l) => l.selected));
    assert.equal(plan.sites.length, 5);
    const rand = mulberry32(3);
    const values = new Map(plan.sites.map((s) => [s.layer, randomValues(s.channels, rand)]));
    const d = syntheticImages(6, 4);
    const inserted = await derivedModelProto(model, new Map());
    insertNormalisation(inserted, plan.sites, values);
    const edits = new Map<string, Float32Array>();
    await foldIntoEdits(model, plan.sites, edits, values);
    assertClose(await run(model, await derivedModelProto(model, edits), d.x, d.shape), await run(model, inserted, d.x, d.shape), 'logits');
  });

  for (const [transB, alpha, beta] of [[1, 1, 1], [0, 0.5, 2]] as const) {
    it(`Gemm transB=${transB}, alpha ${alpha}, beta ${beta}: folded per output feature`, async () => {
      const model = await OnnxModel.load(writeModelFile(tempDir('maxq-foldback-'), 'gemm.onnx', gemmModel(transB, alpha, beta)));
      const plan = planRunNormalisation(model, discoverLayers(model, { m: 4, include: ['lin.weight'] }).filter((l) => l.selected));
      assert.deepEqual(plan.sites.map((s) => [s.layer, s.storageTransposed, s.alpha, s.beta]), [['lin.weight', transB === 0, alpha, beta]]);
      const values = new Map([['lin.weight', randomValues(8, mulberry32(5))]]);
      const x = gaussianFill(40, 1, mulberry32(6));
      const inserted = await derivedModelProto(model, new Map());
      insertNormalisation(inserted, plan.sites, values);
      const edits = new Map<string, Float32Array>();
      await foldIntoEdits(model, plan.sites, edits, values);
      assertClose(await run(model, await derivedModelProto(model, edits), x, [5, 8]), await run(model, inserted, x, [5, 8]), 'logits');
    });
  }

  it('after MaxQ training steps, the exported (folded) model equals the run\'s eval model with the normalisation inserted', async () => {
    const dir = tempDir('maxq-foldback-');
    const model = await OnnxModel.load(writeModelFile(dir, 'blocks.onnx', bnFreeResnetBlocks()));
    const layers = discoverLayers(model, { m: 4 }).filter((l) => l.selected);
    const plan = planRunNormalisation(model, layers);
    const data = NpyDataset.open(writeSyntheticNpy(dir, 32, 9));
    try {
      const values = await denseIdentityNormalisation(model, plan.sites, data, { batches: 4, batchSize: 8 });
      // The dense model with its identity normalisations inserted computes what it computed before.
      const d = syntheticImages(6, 4);
      const dense = await run(model, await derivedModelProto(model, new Map()), d.x, d.shape);
      const withIdentity = await derivedModelProto(model, new Map());
      insertNormalisation(withIdentity, plan.sites, values);
      assertClose(await run(model, withIdentity, d.x, d.shape), dense, 'dense + identity normalisation');

      const setup = await setUpTraining(model, layers, {
        batchSize: 8, loss: 'ce', labelSmoothing: 0, pattern: NmPattern.parse('2:4'), method: 'maxq', normalisation: { sites: plan.sites, values },
      });
      assert.deepEqual(setup.norm.map((s) => s.layer), plan.sites.map((s) => s.layer));
      const stepper = new TrainStepper(setup, new Sgd({ momentum: 0.9, weightDecay: 1e-4 }), { maskThreads: 1 });
      try {
        for (let step = 0; step < 3; step++) {
          const batch = data.getBatch([0, 1, 2, 3, 4, 5, 6, 7].map((i) => (i + 8 * step) % 32));
          const { loss } = await stepper.step({ inputs: batch.inputs, labels: batch.labels }, 0, 0.05);
          assert.ok(Number.isFinite(loss));
        }
      } finally {
        await stepper.close();
        await setup.session.release();
      }
      const unfolded = exportEdits(setup, { foldNormalisation: false });
      const trained = new Map(plan.sites.map((s) => [s.layer, {
        scale: unfolded.get(s.scaleName)!, shift: unfolded.get(s.shiftName)!, mean: unfolded.get(s.meanName)!, variance: unfolded.get(s.varName)!,
      }]));
      for (const s of plan.sites) for (const n of [s.scaleName, s.shiftName, s.meanName, s.varName]) unfolded.delete(n);
      // The steps moved the normalisation away from the identity (trained γ, β; running statistics of the sparse net).
      const first = plan.sites[0];
      assert.ok(trained.get(first.layer)!.shift.some((v, i) => v !== values.get(first.layer)!.shift[i]));
      const evalModel = await derivedModelProto(model, unfolded);
      insertNormalisation(evalModel, plan.sites, trained);
      const folded = exportEdits(setup);
      assert.ok([...folded.keys()].every((k) => model.entry(k)), 'every exported edit names a tensor of the model');
      assertClose(await run(model, await derivedModelProto(model, folded), d.x, d.shape), await run(model, evalModel, d.x, d.shape), 'folded vs inserted');
    } finally {
      data.close();
    }
  });
});

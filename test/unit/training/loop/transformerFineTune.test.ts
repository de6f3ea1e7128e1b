/**
 * Fine-tuning a small transformer-style classifier (LayerNorm → MatMul + Add → exact GELU via Erf → MatMul +
 * Add → residual → LayerNorm → mean over tokens → Gemm) through `sparsify`: its MatMul weights selected with
 * a glob, one epoch on synthetic [N, C, H, W] data (a Reshape at the model start makes the tokens). The LN
 * scale/bias and the MatMul → Add biases train (no weight decay) and are written back to their tensors; the
 * frozen constants stay as they were.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { sparsify } from '../../../../src/core/sparsify/sparsify';
import { selectedLayers } from '../../../../src/core/sparsify/layerMasks';
import { validateModel } from '../../../../src/core/validate/validateModel';
import { OnnxModel } from '../../../../src/core/onnx/onnxModel';
import { encodeModel } from '../../../../src/core/onnx/builder';
import { NmPattern } from '../../../../src/core/masks/nmPattern';
import { setUpTraining } from '../../../../src/core/training/trainingSetup';
import { RunEvent } from '../../../../src/core/types';
import { tempDir, writeModelFile, writeSyntheticNpy } from '../../fixtures';
import { TransformerSpec, transformerModel } from '../transformerModel';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
const ofType = <T extends RunEvent['type']>(events: RunEvent[], t: T) => events.filter((e): e is Ev<T> => e.type === t);

// syntheticImages: [N, 4, 8, 8], 3 classes → 16 tokens of width 16.
const SPEC: TransformerSpec = { C: 4, H: 8, W: 8, T: 16, D: 16, F: 32, K: 3, tiedNorm: true, symbolicBatch: true };

let dir: string, modelPath: string, data: { inputs: string; labels?: string };

before(() => {
  dir = tempDir('maxq-ft-vit-');
  modelPath = writeModelFile(dir, 'block.onnx', encodeModel(transformerModel(SPEC)));
  data = writeSyntheticNpy(dir, 64, 23);
});

describe('transformer block: trainable parameters', () => {
  it('setUpTraining: LN scale/bias and MatMul → Add biases are parameters without weight decay; only weights decay', async () => {
    const model = await OnnxModel.load(modelPath);
    const layers = selectedLayers(model, { pattern: NmPattern.parse('2:4'), include: ['*'] });
    assert.deepEqual(layers.map((l) => l.name), ['mlp1.weight', 'mlp2.weight']);
    const setup = await setUpTraining(model, layers, { batchSize: 8, loss: 'ce', labelSmoothing: 0, pattern: NmPattern.parse('2:4'), method: 'maxq', threads: 1 });
    try {
      const kinds = new Map(setup.graph.params.map((p) => [p.name, p.kind]));
      assert.deepEqual(
        setup.params.map((p) => `${p.name}:${kinds.get(p.name)}:${p.decay ? 'decay' : 'no-decay'}`),
        [
          'ln1.s:norm-scale:no-decay', 'ln1.b:norm-bias:no-decay', 'mlp1.weight:linear-weight:decay', 'mlp1.bias:bias:no-decay',
          'mlp2.weight:linear-weight:decay', 'mlp2.bias:bias:no-decay', 'ln2.s:norm-scale:no-decay', 'ln2.b:norm-bias:no-decay',
          'fc.weight:linear-weight:decay', 'fc.bias:bias:no-decay',
        ],
      );
      // Initial values come from the source initializers (mlp2.bias through its Identity, ln2 from ln1's tensors).
      const byName = new Map(setup.params.map((p) => [p.name, p.data]));
      assert.deepEqual(Array.from(byName.get('mlp2.bias')!), Array.from(await model.readFloat32('mlp2.bias.src')));
      assert.deepEqual(Array.from(byName.get('ln2.s')!), Array.from(await model.readFloat32('ln1.s')));
      assert.deepEqual([...setup.sparse.keys()], ['mlp1.weight', 'mlp2.weight']);
      assert.equal(setup.running.size, 0, 'no BatchNorm, no running statistics');
    } finally {
      await setup.session.release();
    }
  });
});

describe('transformer block: sparsify 2:4 maxq, 1 epoch, include *', () => {
  let out: string;
  let events: RunEvent[];
  let summary: Awaited<ReturnType<typeof sparsify>>;
  before(async () => {
    out = path.join(dir, 'block-2of4.onnx');
    events = [];
    summary = await sparsify({
      model: modelPath, out, pattern: '2:4', method: 'maxq', epochs: 1, batchSize: 16, lr: 0.05, seed: 1, threads: 1,
      include: ['*'], data: { kind: 'npy', inputs: data.inputs, labels: data.labels },
    }, (e) => events.push(e));
  });

  it('trains the MatMul weights of the block with finite losses', () => {
    assert.deepEqual(ofType(events, 'start')[0].layers, ['mlp1.weight', 'mlp2.weight']);
    const steps = ofType(events, 'step');
    assert.ok(steps.length >= 3, `${steps.length} steps`);
    for (const s of steps) assert.ok(Number.isFinite(s.loss) && s.loss > 0, `step ${s.globalStep}: loss ${s.loss}`);
    const [epoch] = ofType(events, 'epoch');
    assert.ok(Number.isFinite(epoch.trainLoss) && epoch.valLoss !== null && Number.isFinite(epoch.valLoss));
    assert.deepEqual(epoch.layerCoverage, { 'mlp1.weight': 1, 'mlp2.weight': 1 });
  });

  it('writes a model that validates 2:4 on both MatMul weights', async () => {
    assert.equal(summary.validationPass, true);
    assert.equal(summary.sparsifiedLayers, 2);
    const report = await validateModel(out, { pattern: '2:4', include: ['*'] });
    assert.equal(report.pass, true);
    assert.deepEqual(report.layers.filter((l) => l.status === 'pass').map((l) => l.name), ['mlp1.weight', 'mlp2.weight']);
  });

  it('the LN scale/bias and the MatMul → Add biases were trained and written back; frozen constants are unchanged', async () => {
    const [before, after] = await Promise.all([modelPath, out].map((f) => OnnxModel.load(f)));
    const changed = async (name: string) => {
      const [a, b] = await Promise.all([before.readFloat32(name), after.readFloat32(name)]);
      assert.equal(a.length, b.length, name);
      assert.ok(b.every((v) => Number.isFinite(v)), `${name} is finite`);
      return Array.from(a).some((v, i) => v !== b[i]);
    };
    for (const t of ['ln1.s', 'ln1.b', 'mlp1.bias', 'mlp2.bias.src', 'fc.weight', 'fc.bias']) assert.ok(await changed(t), `${t} trained`);
    for (const t of ['pos', 'sqrt2', 'one', 'half']) assert.ok(!(await changed(t)), `${t} frozen`);
    // ln2 read ln1's tensors through Identity: the run gave it its own copy, trained on its own.
    const ln2 = after.nodes.find((n) => n.name === 'ln2')!;
    assert.notEqual(ln2.input![1], 'ln2.s');
    const [s1, s2] = await Promise.all([after.readFloat32('ln1.s'), after.readFloat32(ln2.input![1])]);
    assert.ok(Array.from(s1).some((v, i) => v !== s2[i]), 'ln1 and ln2 scales trained separately');
  });
});

/**
 * PyTorch recipes (`maxq-recipe.json`): what `maxq recipe` and the form write, what `maxq_torch.train --recipe`
 * and `maxq sparsify --recipe` read. Every setting is resolved, paths are relative to the recipe.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readNpy } from '../../../src/core/io/npy';
import { MnistDemoDataset } from '../../../src/core/data/mnist-demo';
import { exportRecipe } from '../../../src/core/recipe/exportRecipe';
import { checkRecipe, eventsPathFor, optionsFromRecipe, readRecipe, recipeFromOptions } from '../../../src/core/recipe/torchRecipe';
import { readRunLog } from '../../../src/core/runlog/runLogParser';
import type { SparsifyOptions } from '../../../src/core/sparsify/options';
import { DEMO_MODEL, MAXQ_BIN, REPO_ROOT, tempDir, tinyCnn, writeModelFile } from '../fixtures';

function opts(dir: string, over: Partial<SparsifyOptions> = {}): SparsifyOptions {
  return {
    model: path.join(dir, 'models', 'net.onnx'), out: path.join(dir, 'models', 'net.maxq-2of4.onnx'), pattern: '2:4', method: 'maxq', epochs: 8,
    data: { kind: 'npy', inputs: path.join(dir, 'data', 'x.npy'), labels: path.join(dir, 'data', 'y.npy'), normalize: 'imagenet' },
    ...over,
  };
}

describe('recipeFromOptions / checkRecipe / optionsFromRecipe', () => {
  it('resolves every default, keeps paths relative to the recipe, and reads back to the same run', () => {
    const dir = tempDir('recipe-');
    const file = path.join(dir, 'runs', 'maxq-recipe.json');
    const r = recipeFromOptions(opts(dir, { include: ['conv2'] }), file);
    assert.equal(r.model, '../models/net.onnx');
    assert.equal(r.output, '../models/net.maxq-2of4.torch.onnx');
    assert.deepEqual(r.optimizer, { name: 'sgd', lr: 0.01, momentum: 0.9, nesterov: false, weightDecay: 1e-4 });
    assert.equal(r.batchSize, 64);
    assert.equal(r.lrSchedule, 'cosine');
    // The default schedule of an 8-epoch fine-tune: linear over the first quarter, per step.
    assert.deepEqual(r.schedule, { kind: 'linear', decayStart: 0, decayEnd: 2, granularity: 'step' });
    assert.deepEqual(r.policy, { include: ['conv2'], exclude: [] });
    assert.deepEqual(r.data, { kind: 'npy', inputs: '../data/x.npy', labels: '../data/y.npy', normalize: '1/255,0.485:0.456:0.406,0.229:0.224:0.225', valFraction: 0.1 });
    assert.match(r.torchrun!.oneNode, /^torchrun --standalone --nproc_per_node=1 -m maxq_torch\.train --recipe maxq-recipe\.json --events \.\.\/models\/net\.maxq-2of4\.torch\.events\.jsonl$/);
    assert.match(r.torchrun!.multiNode, /--nnodes=2 .*--rdzv_endpoint=HOST:29500/);

    const back = optionsFromRecipe(checkRecipe(JSON.parse(JSON.stringify(r)), file), file);
    assert.equal(back.model, path.join(dir, 'models', 'net.onnx'));
    assert.equal(back.out, path.join(dir, 'models', 'net.maxq-2of4.onnx'));
    assert.deepEqual(back.data, { kind: 'npy', inputs: path.join(dir, 'data', 'x.npy'), labels: path.join(dir, 'data', 'y.npy'), valInputs: undefined, valLabels: undefined, normalize: r.data.normalize });
    assert.equal(back.schedule, 'linear');
    assert.equal(back.decayEnd, 2);
    assert.equal(back.valFraction, 0.1);
    assert.deepEqual(back.include, ['conv2']);
    assert.deepEqual(r.batchNorm, { reestimateBatches: 20, runNormalisation: true });
    assert.equal(back.bnRecalibrate, 20);
    assert.equal(back.normalise, undefined);
    // BatchNorm settings travel both ways; a recipe without them (written before they existed) gets the defaults.
    const noBn = recipeFromOptions(opts(dir, { bnRecalibrate: false, normalise: false }), file);
    assert.deepEqual(noBn.batchNorm, { reestimateBatches: 0, runNormalisation: false });
    const noBnBack = optionsFromRecipe(checkRecipe(JSON.parse(JSON.stringify(noBn)), file), file);
    assert.equal(noBnBack.bnRecalibrate, false);
    assert.equal(noBnBack.normalise, false);
    const old = JSON.parse(JSON.stringify(r));
    delete old.batchNorm;
    assert.deepEqual(checkRecipe(old, file).batchNorm, { reestimateBatches: 20, runNormalisation: true });
    // Explicit settings are kept as given.
    const adam = recipeFromOptions(opts(dir, { optimizer: 'adamw', schedule: 'cubic', decayStart: 1, decayEnd: 5, scheduleGranularity: 'epoch', lrSchedule: 'step', labelSmoothing: 0.1 }), file);
    assert.equal(adam.optimizer.lr, 1e-3);
    assert.deepEqual(adam.schedule, { kind: 'cubic', decayStart: 1, decayEnd: 5, granularity: 'epoch' });
    assert.equal(eventsPathFor('/a/net.maxq-2of4.torch.onnx'), '/a/net.maxq-2of4.torch.events.jsonl');
  });

  it('refuses a recipe it cannot run, naming the file and the key', () => {
    const dir = tempDir('recipe-');
    const file = path.join(dir, 'maxq-recipe.json');
    assert.throws(() => recipeFromOptions(opts(dir, { epochs: 0 }), file), /epochs must be ≥ 1/);
    assert.throws(() => recipeFromOptions(opts(dir, { data: { kind: 'none' } }), file), /needs training data/);
    const good = JSON.parse(JSON.stringify(recipeFromOptions(opts(dir), file)));
    const broken = (edit: (r: Record<string, any>) => void) => {
      const r = JSON.parse(JSON.stringify(good));
      edit(r);
      return () => checkRecipe(r, file);
    };
    const names = (re: RegExp) => (e: Error) => e.message.includes(file) && re.test(e.message);
    assert.throws(broken((r) => delete r.pattern), names(/recipe key "pattern" must be a non-empty string \(missing\)/));
    assert.throws(broken((r) => (r.pattern = '4:4')), names(/"pattern" must be N:M with 1 ≤ N < M/));
    assert.throws(broken((r) => (r.optimizer.name = 'lamb')), names(/"optimizer.name" must be one of sgd, adamw, got "lamb"/));
    assert.throws(broken((r) => (r.data.valFraction = 1)), names(/"data.valFraction" must be a fraction/));
    assert.throws(broken((r) => (r.schedule.decayEnd = 8)), names(/"schedule.decayEnd" must be an epoch in \[decayStart, epochs\) = \[0, 8\)/));
    assert.throws(broken((r) => (r.data.normalize = '1,2')), names(/"data.normalize"/));
    assert.throws(broken((r) => (r.batchNorm.reestimateBatches = 1.5)), names(/"batchNorm.reestimateBatches" must be an integer ≥ 0, got 1.5/));
    assert.throws(broken((r) => (r.batchNorm.runNormalisation = 'yes')), names(/"batchNorm.runNormalisation" must be true or false, got "yes"/));
    assert.throws(broken((r) => (r.version = 2)), names(/version 2 is not supported/));
    assert.throws(broken((r) => (r.format = 'x')), names(/not a MaxQ recipe/));
    fs.writeFileSync(file, '{ nope');
    assert.throws(() => readRecipe(file), names(/invalid JSON/));
    assert.throws(() => optionsFromRecipe({ ...checkRecipe(good, file), model: 'resnet50' }, file), /this engine runs ONNX models; the recipe's model is "resnet50"/);
  });
});

describe('exportRecipe and the CLI', () => {
  it('writes the demo data as .npy beside the recipe: the same samples the demo trains and validates on', async () => {
    const dir = tempDir('recipe-');
    const file = path.join(dir, 'maxq-recipe.json');
    const { recipe, dataFiles } = await exportRecipe({ model: DEMO_MODEL, out: '', pattern: '2:4', method: 'maxq', epochs: 2, data: { kind: 'mnist-demo' } }, file);
    assert.equal(dataFiles.length, 4);
    assert.equal(recipe.data.kind, 'npy');
    assert.equal(recipe.data.normalize, '1/255,0.1307,0.3081');
    const x = readNpy(path.join(dir, 'mnist-demo', 'mnist-demo-val-inputs.npy'));
    const y = readNpy(path.join(dir, 'mnist-demo', 'mnist-demo-val-labels.npy'));
    assert.deepEqual(x.shape, [2000, 1, 28, 28]);
    assert.equal(x.dtype, 'uint8');
    assert.equal(y.dtype, 'int64');
    // Sample 17 of the demo's validation split, as the demo feeds it, is the exported bytes under the recipe's preprocessing.
    const demo = new MnistDemoDataset({ split: 'test' }).getBatch([17]);
    const px = x.data as Uint8Array;
    for (const p of [0, 300, 400, 783]) assert.ok(Math.abs(demo.inputs[p] - (px[17 * 784 + p] / 255 - 0.1307) / 0.3081) < 1e-5);
    assert.equal(Number((y.data as BigInt64Array)[17]), Number(demo.labels![0]));
    await assert.rejects(exportRecipe({ model: DEMO_MODEL, out: '', pattern: '2:4', method: 'maxq', epochs: 2, data: { kind: 'mnist-demo' } }, file), /exists already/);
    // Another engine gets the digits as they are: a model of another input size must bring its own data.
    const other = writeModelFile(dir, 'rgb.onnx', tinyCnn({ size: 8 }));
    await assert.rejects(exportRecipe({ model: other, out: '', pattern: '2:4', method: 'maxq', epochs: 2, data: { kind: 'mnist-demo' } }, path.join(dir, 'r2.json')),
      (e: Error) => e.message.includes(other) && /1×28×28 digits; this model's input is \[/.test(e.message));
    assert.equal(fs.existsSync(path.join(dir, 'r2.json')), false);
  });

  it('maxq recipe, then maxq sparsify --recipe --events: the run follows the recipe and logs every event', () => {
    const dir = tempDir('recipe-');
    const model = path.join(dir, 'demo.onnx');
    fs.copyFileSync(DEMO_MODEL, model);
    const run = (args: string[]) => spawnSync(process.execPath, [MAXQ_BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    const made = run(['recipe', model, '--pattern', '2:4', '--epochs', '1', '--mnist-demo', '--batch', '128']);
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /torchrun --standalone --nproc_per_node=1 -m maxq_torch\.train --recipe maxq-recipe\.json/);
    const file = path.join(dir, 'maxq-recipe.json');
    assert.equal(readRecipe(file).batchSize, 128);
    const refused = run(['sparsify', '--recipe', file, '--epochs', '3']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--epochs cannot be given with it/);
    const log = path.join(dir, 'run.jsonl');
    const sp = run(['sparsify', '--recipe', file, '--events', log]);
    assert.equal(sp.status, 0, sp.stderr);
    assert.match(sp.stdout, /wrote .*demo\.maxq-2of4\.onnx: 4 layers 2:4 \(maxq\), validation PASS/);
    const { events, badLines } = readRunLog(log);
    assert.deepEqual(badLines, []);
    const start = events.find((e) => e.type === 'start') as Extract<typeof events[0], { type: 'start' }>;
    assert.ok(start, 'a start event');
    assert.equal(start.epochs, 1);
    // The demo's 8,000 training digits (its 2,000 test digits are the validation data), whole batches only.
    assert.equal(start.stepsPerEpoch, Math.floor(8000 / 128));
    assert.ok(events.some((e) => e.type === 'epoch'));
    assert.equal(events[events.length - 1].type, 'done');
  });
});

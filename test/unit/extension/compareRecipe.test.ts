import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import type { CompareConfig, CompareRow } from '../../../src/core/compare/compareReport';
import { dataPathResolver, recipeFormValues } from '../../../src/extension/compare/recipeForm';
import { defaultFormValues, formProblems, toSparsifyOptions } from '../../../src/extension/sparsify/formValues';
import { fixtureReport } from './compareFixture';

const mnistInputs = [{ name: 'x', shape: ['N', 1, 28, 28] as (number | string)[], dtype: 'float' }];
// The form's own defaults from the settings: deliberately unlike the comparison, so every override shows.
const base = () => defaultFormValues({ pattern: '4:8', method: 'srste', epochs: 10, batchSize: 32, output: '/m/net.maxq-4of8.onnx', inputs: mnistInputs });

function rowOf(key: string, report = fixtureReport()): { row: CompareRow; config: CompareConfig } {
  const row = report.rows.find((r) => r.key === key);
  assert.ok(row, `no row ${key}`);
  return { row, config: report.config };
}

test('fine-tune row: pattern, method, epochs, schedule window, budget and data; the run reproduces the recipe', () => {
  const { row, config } = rowOf('2:4 maxq fine-tune default', fixtureReport({ epochs: 8 }));
  const { values: v, caveats, title } = recipeFormValues(base(), row, config);
  assert.equal(v.pattern, '2:4');
  assert.equal(v.method, 'maxq');
  assert.equal(v.epochs, 8);
  assert.equal(v.schedule, 'linear');
  assert.deepEqual([v.decayStart, v.decayEnd], [row.recipe.decayStart, row.recipe.decayEnd]);
  assert.deepEqual([v.decayStart, v.decayEnd], [0, 2], 'the core default window: first 25 % of 8 epochs');
  assert.equal(v.batchSize, 64);
  assert.equal(v.optimizer, 'sgd');
  assert.equal(v.lr, 0.01);
  assert.equal(v.dataKind, 'mnist-demo');
  assert.deepEqual(caveats, []);
  assert.equal(title, '2:4 MaxQ · fine-tune, default schedule (linear 0→2)');
  // The form accepts the values, and the run it starts has the recipe's settings.
  const out = { ...v, output: '/m/net.maxq-2of4.onnx' };
  assert.deepEqual(formProblems(out, '/m/net.onnx'), []);
  const o = toSparsifyOptions(out, '/m/net.onnx', { threads: 0, overwrite: false });
  for (const k of ['pattern', 'method', 'epochs', 'schedule', 'decayStart', 'decayEnd'] as const) assert.equal(o[k], row.recipe[k], k);
  assert.equal(o.batchSize, config.budget.batchSize);
  assert.equal(o.lr, config.budget.lr);
  assert.equal(o.optimizer, config.budget.optimizer);
  assert.deepEqual(o.data, { kind: 'mnist-demo' });
});

test('one-shot rows: 0 epochs, BN re-estimation on or off as the row ran it', () => {
  const bn = recipeFormValues(base(), rowOf('1:4 magnitude one-shot-bn').row, fixtureReport().config);
  assert.equal(bn.values.epochs, 0);
  assert.equal(bn.values.bnRecalibrate, true);
  assert.equal(bn.values.pattern, '1:4');
  assert.deepEqual(bn.caveats, []);
  const plain = recipeFormValues(base(), rowOf('1:4 magnitude one-shot').row, fixtureReport().config);
  assert.equal(plain.values.bnRecalibrate, false);
  assert.equal(toSparsifyOptions({ ...plain.values, output: '/m/o.onnx' }, '/m/net.onnx', { threads: 0, overwrite: false }).bnRecalibrate, false);
  // A non-default number of BN batches cannot be set in the form: said, not dropped.
  const report = fixtureReport({ bnBatches: 5 });
  const five = recipeFormValues(base(), rowOf('2:4 maxq one-shot-bn', report).row, report.config);
  assert.equal(five.values.bnRecalibrate, true);
  assert.match(five.caveats.join(' '), /5 batches/);
});

test('data: labelled .npy, unlabelled .npy (distil), image folders; relative paths resolved against the report folder', () => {
  const reportPath = '/runs/net.compare.json';
  const exists = (p: string) => p === path.resolve('/runs', 'data/x.npy') || p === path.resolve('/runs', 'data/y.npy');
  const resolve = dataPathResolver(reportPath, exists);
  const npy = fixtureReport({ data: { kind: 'npy', inputs: '/elsewhere/x.npy', labels: '/elsewhere/y.npy' } });
  assert.equal(npy.config.data.kind === 'npy' && npy.config.data.inputs, '/elsewhere/x.npy', 'the core writes absolute paths');
  // A report written with relative paths (or moved with its data) still finds its files beside it.
  npy.config.data = { kind: 'npy', inputs: 'data/x.npy', labels: 'data/y.npy' };
  const a = recipeFormValues(base(), rowOf('2:4 magnitude fine-tune none', npy).row, npy.config, resolve);
  assert.equal(a.values.dataKind, 'npy');
  assert.equal(a.values.npyInputs, path.resolve('/runs', 'data/x.npy'));
  assert.equal(a.values.npyLabels, path.resolve('/runs', 'data/y.npy'));
  const unlabelled = fixtureReport({ data: { kind: 'npy', inputs: '/abs/x.npy', valInputs: '/abs/vx.npy', normalize: '255,0.1307,0.3081' } }, 'agreement');
  const b = recipeFormValues(base(), rowOf('2:4 magnitude fine-tune none', unlabelled).row, unlabelled.config, resolve);
  assert.equal(b.values.dataKind, 'distil');
  assert.equal(b.values.npyInputs, '/abs/x.npy');
  assert.equal(b.values.npyLabels, '');
  // Validation data and preprocessing are form fields now: carried over, not caveats.
  assert.deepEqual(b.caveats, []);
  assert.equal(b.values.valKind, 'separate');
  assert.equal(b.values.valInputs, '/abs/vx.npy');
  assert.deepEqual([b.values.preprocess, b.values.customScale, b.values.customMean, b.values.customStd], ['custom', '255', '0.1307', '0.3081']);
  const bOpts = toSparsifyOptions({ ...b.values, epochs: 2, decayEnd: 0 }, '/m/net.onnx', { threads: 0, overwrite: false });
  assert.deepEqual(bOpts.data, { kind: 'npy', inputs: '/abs/x.npy', valInputs: '/abs/vx.npy', normalize: '255,0.1307,0.3081' });
  const preset = fixtureReport({ data: { kind: 'images', dir: '/data/digits', valDir: '/data/val', normalize: '1/255,0.1307,0.3081' } });
  const p = recipeFormValues(base(), rowOf('1:4 maxq fine-tune none', preset).row, preset.config, resolve);
  assert.deepEqual([p.values.preprocess, p.values.valKind, p.values.valDir, p.caveats.length], ['mnist', 'separate', '/data/val', 0]);
  const images = fixtureReport({ data: { kind: 'images', dir: '/data/digits' } });
  const c = recipeFormValues(base(), rowOf('1:4 maxq fine-tune none', images).row, images.config, resolve);
  assert.equal(c.values.dataKind, 'images');
  assert.equal(c.values.imagesDir, '/data/digits');
  assert.equal(resolve('missing/z.npy'), 'missing/z.npy', 'a path that is not there stays as the report names it');
});

test('budget and layer selection: shared settings carried over; what the form cannot set is listed', () => {
  const report = fixtureReport({ shared: { optimizer: 'adamw', lr: 0.002, momentum: 0.8, scheduleGranularity: 'epoch', include: ['fc.weight'], exclude: ['conv2.weight'] } });
  const { values: v, caveats } = recipeFormValues(base(), rowOf('2:4 maxq fine-tune none', report).row, report.config);
  assert.equal(v.optimizer, 'adamw');
  assert.equal(v.lr, 0.002);
  assert.deepEqual(v.include, ['fc.weight']);
  assert.deepEqual(v.exclude, ['conv2.weight']);
  assert.equal(caveats.length, 1);
  assert.match(caveats[0], /momentum 0\.8/);
  assert.match(caveats[0], /per epoch/);
  // The base values are not modified.
  assert.deepEqual(base().include, []);
});

/**
 * The BatchNorm information of the sparsify form and the inspector: per-row status from inspect, the note the
 * form shows for its selection and values, and what the views carry of inspect's BatchNorm summary.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MIN_BN_TRAINING_OPSET } from '../../../src/core/bn/bnRecalibration';
import { summarizeModel } from '../../../src/core/inspect';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import type { BatchNormSummary, LayerInfo } from '../../../src/core/types';
import { batchNormInfo, inspectorModelInfo, inspectorRows } from '../../../src/extension/inspector/layerRows';
import { defaultFormValues } from '../../../src/extension/sparsify/formValues';
import { everyEligibleInclude, policyRows } from '../../../src/extension/sparsify/policyRows';
import { BN_TRAINING_OPSET, batchNormNote, countBatchNorm, formHasData, runNormCase } from '../../../src/protocol/batchNormNote';
import type { PolicyLayerRow } from '../../../src/protocol/messages';
import { tempDir, writeModelFile } from '../fixtures';
import { normCasesModel } from '../norm/bnFreeFixtures';

const inputs = [{ name: 'x', shape: ['N', 1, 28, 28] as (number | string)[], dtype: 'float' }];
/** The form's defaults with the bundled MNIST demo picked (the form no longer defaults to it), then `over`. */
function values(over: Partial<ReturnType<typeof defaultFormValues>> = {}) {
  return { ...defaultFormValues({ pattern: '2:4', method: 'maxq', epochs: 0, batchSize: 64, output: '/m/o.onnx', inputs }), dataKind: 'mnist-demo' as const, ...over };
}

function row(name: string, bn: PolicyLayerRow['bn'], bnReason?: string): PolicyLayerRow {
  return { name, op: 'Conv', shape: [8, 8, 3, 3], params: 576, eligible: true, selected: true, bn, ...(bnReason ? { bnReason } : {}) };
}
const folded = ['a', 'b', 'c'].map((n) => row(`${n}.weight`, 'normalisable'));

test('the form and the core agree on the opset BatchNorm re-estimation needs', () => {
  assert.equal(BN_TRAINING_OPSET, MIN_BN_TRAINING_OPSET);
});

test('data and the run case follow the core: data, normalisation on, and fine-tuning or BN re-estimation', () => {
  assert.equal(formHasData(values({ dataKind: 'mnist-demo' })), true);
  assert.equal(formHasData(values({ dataKind: 'npy', npyInputs: '  ' })), false);
  assert.equal(formHasData(values({ dataKind: 'distil', npyInputs: '/d/x.npy' })), true);
  assert.equal(formHasData(values({ dataKind: 'images', imagesDir: '' })), false);
  assert.equal(runNormCase(values(), 17), 'normalise');
  assert.equal(runNormCase(values({ dataKind: 'npy', npyInputs: '' }), 17), 'no-data');
  assert.equal(runNormCase(values({ normalise: false }), 17), 'off');
  assert.equal(runNormCase(values({ bnRecalibrate: false }), 17), 'no-reestimation');
  assert.equal(runNormCase(values({ bnRecalibrate: false, epochs: 3 }), 17), 'normalise', 'a fine-tune trains the normalisation');
  assert.equal(runNormCase(values(), 13), 'old-opset');
  assert.equal(runNormCase(values({ epochs: 3 }), 13), 'normalise');
  assert.equal(runNormCase({ ...values(), normalise: undefined as unknown as boolean }, 17), 'normalise', 'state saved before the option: on');
});

test('the note: BatchNorm folded at export, and what this run does about it', () => {
  const n = batchNormNote(folded, 0, 17, values());
  assert.ok(n);
  assert.equal(n.folded, true);
  assert.equal(n.tone, 'info');
  assert.deepEqual(n.counts, { selected: 3, bnFree: 3, normalisable: 3, left: [] });
  assert.equal(n.text, 'BatchNorm was folded into the layers at export: none of the 3 selected layers has BatchNorm after it. This run normalises them (identity on the dense model, re-estimated on the data) and folds that back into their weight and bias.');
  assert.match(batchNormNote(folded, 0, 17, values({ epochs: 4 }))!.text, /trained with the fine-tune/);
  const noData = batchNormNote(folded, 0, 17, values({ dataKind: 'npy', npyInputs: '' }))!;
  assert.equal(noData.runCase, 'no-data');
  assert.equal(noData.tone, 'warning');
  assert.match(noData.text, /Without data this run cannot normalise them; MaxQ keeps each filter’s scale\. Choose data/);
  assert.doesNotMatch(batchNormNote(folded, 0, 17, values({ dataKind: 'npy', npyInputs: '', method: 'magnitude' }))!.text, /filter’s scale/);
  assert.match(batchNormNote(folded, 0, 17, values({ normalise: false }))!.text, /Run normalisation is off: this run sparsifies them without it/);
  assert.match(batchNormNote(folded, 0, 17, values({ bnRecalibrate: false }))!.text, /BatchNorm re-estimation is off, so this one-shot run does not normalise them/);
  assert.match(batchNormNote(folded, 0, 12, values())!.text, /needs opset ≥ 14 \(this model has opset 12\)/);
});

test('the note: some layers keep their BatchNorm, some cannot be normalised; none when every layer has BatchNorm', () => {
  const rows = [row('bn.weight', 'after'), row('plain.weight', 'normalisable'), row('nobias.weight', 'left', 'the layer has no bias'), row('mm.weight', 'left', 'a MatMul')];
  assert.deepEqual(countBatchNorm(rows), { selected: 4, bnFree: 3, normalisable: 1, left: [{ layer: 'nobias.weight', reason: 'the layer has no bias' }, { layer: 'mm.weight', reason: 'a MatMul' }] });
  const n = batchNormNote(rows, 1, 17, values())!;
  assert.equal(n.folded, false);
  assert.equal(n.tone, 'warning', 'two layers stay without normalisation');
  assert.equal(n.text, '3 of 4 selected layers have no BatchNorm after them. This run normalises 1 of them (identity on the dense model, re-estimated on the data) and folds that back into its weight and bias. Left as they are: 2 (nobias.weight: the layer has no bias, …).');
  assert.equal(batchNormNote([row('mm.weight', 'left', 'a MatMul')], 1, 17, values())!.text, 'The selected layer has no BatchNorm after it. It cannot be normalised for the run; MaxQ keeps each filter’s scale. Left as it is: 1 (mm.weight: a MatMul).');
  assert.match(batchNormNote([row('bn.weight', 'after'), row('mm.weight', 'left', 'a MatMul')], 1, 17, values())!.text, /^1 of 2 selected layers has no BatchNorm after it\. It cannot be normalised/);
  assert.equal(batchNormNote([row('bn.weight', 'after')], 1, 17, values()), null);
  assert.equal(batchNormNote([], 0, 17, values()), null);
  assert.equal(batchNormNote([{ ...row('x.weight', undefined) }], 0, 17, values()), null, 'rows without BatchNorm information count as having it');
});

test('policy rows: every eligible layer says whether a run can normalise it, also those only an override selects', async () => {
  const m = await OnnxModel.load(writeModelFile(tempDir('maxq-form-bn-'), 'cases.onnx', normCasesModel()));
  const policy = summarizeModel(m, { pattern: '2:4' });
  const include = everyEligibleInclude(policy.layers);
  assert.ok(include, 'the policy leaves eligible layers dense in this model');
  const every = summarizeModel(m, { pattern: '2:4', include });
  const rows = policyRows(policy.layers, every.batchNorm);
  const byName = new Map(rows.map((r) => [r.name, r]));
  assert.equal(byName.get('bn_conv.weight')?.bn, 'after');
  assert.equal(byName.get('plain.weight')?.bn, 'normalisable');
  assert.equal(byName.get('shared_a.weight')?.bn, 'normalisable', 'a shared bias is untied first');
  assert.equal(byName.get('nobias.weight')?.bn, 'left');
  assert.match(byName.get('nobias.weight')?.bnReason ?? '', /no bias/);
  assert.equal(byName.get('mm.weight')?.bn, 'left');
  for (const r of rows) assert.ok(r.bn, `${r.name} has a BatchNorm status`);
  // With every eligible layer ticked, the form counts what inspect counts for the same selection.
  const c = countBatchNorm(rows.filter((r) => r.eligible));
  assert.deepEqual([c.bnFree, c.normalisable, c.left.length], [every.batchNorm.bnFree, every.batchNorm.normalisable, every.batchNorm.skipped.length]);
  // The policy's own selection: the form's count equals inspect's.
  const p = countBatchNorm(rows.filter((r) => r.eligible && r.selected));
  assert.deepEqual([p.bnFree, p.normalisable], [policy.batchNorm.bnFree, policy.batchNorm.normalisable]);
  // Without the second summary (or inspect's bnAfter), rows carry no BatchNorm status.
  assert.equal(policyRows(policy.layers).some((r) => 'bn' in r), false);
  assert.equal(everyEligibleInclude(every.layers.map((l) => ({ ...l, selected: l.eligible }))), null);
});

test('the inspector: BN after per row, the summary counts and the line in the model info', async () => {
  const layer: LayerInfo = {
    name: 'conv.weight', nodeName: 'Conv_0', op: 'Conv', storageShape: [8, 8, 3, 3], canonicalShape: [8, 8, 3, 3], storageTransposed: false,
    via: [], dtype: 'float', params: 576, group: 1, eligible: true, selected: true, bnAfter: false,
  };
  assert.equal(inspectorRows([layer])[0].bnAfter, false);
  assert.equal(inspectorRows([{ ...layer, bnAfter: true }])[0].bnAfter, true);
  assert.equal('bnAfter' in inspectorRows([{ ...layer, bnAfter: undefined }])[0], false);
  const b: BatchNormSummary = { nodes: 0, bnFree: 2, normalisable: 1, skipped: [{ layer: 'mm.weight', reason: 'a MatMul' }], folded: true, message: 'BatchNorm was folded …' };
  assert.deepEqual(batchNormInfo(b), { nodes: 0, bnFree: 2, normalisable: 1, skipped: 1, folded: true, message: 'BatchNorm was folded …' });
  assert.equal(batchNormInfo(undefined).message, null);
  const m = await OnnxModel.load(writeModelFile(tempDir('maxq-inspector-bn-'), 'cases.onnx', normCasesModel()));
  const info = inspectorModelInfo(summarizeModel(m, { pattern: '2:4' }), 'cases.onnx');
  assert.equal(info.batchNorm.nodes, 2);
  assert.equal(info.batchNorm.folded, false);
  assert.match(info.batchNorm.message ?? '', /selected layers? ha(s|ve) no BatchNorm after/);
  assert.equal('layers' in info.batchNorm, false, 'counts and the line, not the per-layer list');
});

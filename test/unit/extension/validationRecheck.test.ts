/**
 * The validation view's re-check: the selection is kept, "Include the skipped eligible layers" adds to it;
 * nothing checked is never a pass; reasons say what to do in the UI; the dashboard knows agreement from accuracy.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { recheckRequest } from '../../../src/extension/validation/recheckRequest';
import type { RunEvent, ValidationRequestInfo } from '../../../src/protocol/messages';
import { uiReason } from '../../../webview/components/reasons';
import { applyEvent, emptySeries } from '../../../webview/dashboard/runSeries';

const req: ValidationRequestInfo = { modelPath: '/m/vit.onnx', modelName: 'vit.onnx', pattern: '2:4', reference: null, inputs: null, bnRecalibrate: false };

test('a plain re-check keeps the request and its selection, with the new pattern', () => {
  const r = recheckRequest({ ...req, include: ['a'], exclude: ['b'] }, { pattern: '1:4', bnRecalibrate: true });
  assert.deepEqual(r, { ...req, pattern: '1:4', bnRecalibrate: true, include: ['a'], exclude: ['b'] });
});

test('including the skipped layers adds them (once) and takes them out of the exclusions', () => {
  const r = recheckRequest({ ...req, include: ['a'], exclude: ['b', 'c'] }, { pattern: '2:4', bnRecalibrate: false, include: ['a', 'b', 'fc1.weight'] });
  assert.deepEqual(r.include, ['a', 'b', 'fc1.weight']);
  assert.deepEqual(r.exclude, ['c']);
  const only = recheckRequest({ ...req, exclude: ['x'] }, { pattern: '2:4', bnRecalibrate: false, include: ['x'] });
  assert.deepEqual(only.include, ['x']);
  assert.equal(only.exclude, undefined);
});

test('reasons name the sparsify form, not the CLI flags', () => {
  for (const r of [
    'linear layer (opt-in: name it with --include)',
    'final classifier (kept dense unless named with --include)',
    'excluded by --exclude',
    'no eligible conv: sparsifying the 4 linear layers; --exclude to narrow',
  ]) {
    const ui = uiReason(r);
    assert.doesNotMatch(ui, /--include|--exclude/, ui);
    assert.match(ui, /sparsify form/, ui);
  }
  assert.equal(uiReason('depthwise conv (group 32)'), 'depthwise conv (group 32)');
  assert.equal(uiReason(undefined), '');
});

test('in the sparsify form, reasons say what to do with the tick, not the CLI flags', () => {
  const cases: [string, string][] = [
    ['final classifier (kept dense unless named with --include)', 'final classifier (kept dense: tick it to sparsify it)'],
    ['linear layer (opt-in: name it with --include)', 'linear layer (opt-in: tick it to sparsify it)'],
    ['excluded by --exclude', 'unticked here'],
    ['no eligible conv: sparsifying the 4 linear layers; --exclude to narrow', 'no eligible conv: sparsifying the 4 linear layers; untick layers to narrow'],
    ['the linear layers hold most of the weights: sparsifying the 2 linear layers too; --exclude to narrow', 'the linear layers hold most of the weights: sparsifying the 2 linear layers too; untick layers to narrow'],
    ['depthwise conv (group 32)', 'depthwise conv (group 32)'],
  ];
  for (const [engine, form] of cases) {
    const ui = uiReason(engine, 'form');
    assert.equal(ui, form);
    assert.doesNotMatch(ui, /--include|--exclude|sparsify form/, ui);
  }
  assert.equal(uiReason(null, 'form'), '');
});

test('dashboard series: a fine-tuning run without labels measures agreement; with labels accuracy', () => {
  const start: Extract<RunEvent, { type: 'start' }> = { type: 'start', runId: 'r', model: 'm.onnx', pattern: '2:4', method: 'maxq', epochs: 2, stepsPerEpoch: 1, layers: ['a'] };
  const epoch = (trainAccuracy: number | null): RunEvent => ({ type: 'epoch', epoch: 0, denseFraction: 0.5, trainLoss: 1, trainAccuracy, valLoss: 1, valAccuracy: 0.9, coverage: 0.5, layerCoverage: {} });
  const noLabels = emptySeries();
  applyEvent(noLabels, start);
  assert.equal(noLabels.metric, null);
  applyEvent(noLabels, epoch(null));
  assert.equal(noLabels.metric, 'agreement');
  assert.deepEqual(noLabels.valAccuracy, [{ x: 1, y: 90 }], 'plotted in percent');
  const labels = emptySeries();
  applyEvent(labels, start);
  applyEvent(labels, epoch(0.8));
  assert.equal(labels.metric, 'accuracy');
  // One-shot: the single epoch says nothing; the summary decides.
  const oneShot = emptySeries();
  applyEvent(oneShot, { ...start, epochs: 0 });
  applyEvent(oneShot, epoch(null));
  assert.equal(oneShot.metric, null);
});

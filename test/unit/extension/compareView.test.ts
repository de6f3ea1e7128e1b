import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import {
  chartData, compareReportPathFor, describePreprocessing, isCompareReportPath, locateComparedModel, parseCompareReport, seriesIdOf, seriesLabel, toCompareView, viewRows, ZOOM_WINDOW,
} from '../../../src/extension/compare/compareView';
import { DENSE, fixtureReport } from './compareFixture';

const close = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

test('report file: the path beside the model, and what counts as a report', () => {
  assert.equal(compareReportPathFor('/models/net.onnx'), path.join('/models', 'net.compare.json'));
  assert.equal(compareReportPathFor('/models/Net.ONNX'), path.join('/models', 'Net.compare.json'));
  assert.equal(isCompareReportPath('/x/net.compare.json'), true);
  assert.equal(isCompareReportPath('/x/net.COMPARE.JSON'), true);
  assert.equal(isCompareReportPath('/x/net.run.json'), false);
});

test('parse: a report round-trips; anything else is refused with a reason naming the file', () => {
  const report = fixtureReport();
  assert.deepEqual(parseCompareReport(JSON.stringify(report), '/r/a.compare.json'), report);
  const bad = (text: string, re: RegExp) => assert.throws(() => parseCompareReport(text, '/r/a.compare.json'), (e: Error) => e.message.startsWith('/r/a.compare.json: ') && re.test(e.message));
  bad('{ not json', /not valid JSON/);
  bad(JSON.stringify({ kind: 'maxq-run' }), /not a MaxQ comparison report/);
  bad(JSON.stringify({ ...report, version: 2 }), /version 2 is not supported/);
  bad(JSON.stringify({ ...report, metric: 'loss' }), /unknown metric/);
  bad(JSON.stringify({ ...report, rows: [{ ...report.rows[0], method: 'random' }] }), /unknown method "random"|unknown method/);
  bad(JSON.stringify({ ...report, rows: [{ ...report.rows[0], recipe: undefined }] }), /recipe/);
  bad(JSON.stringify({ ...report, rows: undefined }), /no rows/);
});

test('rows: spread only where measured, Δ vs dense, the highest mean per pattern', () => {
  const report = fixtureReport();
  const rows = viewRows(report.rows);
  assert.equal(rows.length, report.rows.length);
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const oneShot = byKey.get('2:4 maxq one-shot')!;
  assert.equal(oneShot.deterministic, true);
  assert.equal(oneShot.std, null, 'a deterministic row has no spread');
  assert.equal(oneShot.runs, 1);
  close(oneShot.delta, 0.364 - DENSE, 'one-shot Δ');
  const ft = byKey.get('2:4 magnitude fine-tune none')!;
  assert.equal(ft.runs, 2);
  close(ft.mean, 0.9713, 'fine-tune mean');
  close(ft.std, Math.sqrt(2 * 0.0004 ** 2), 'fine-tune sample std of ±0.0004');
  close(ft.deltaStd, ft.std!, 'Δ std = accuracy std (same dense)');
  assert.equal(ft.seriesId, 'magnitude fine-tune none');
  assert.deepEqual(rows.filter((r) => r.highest).map((r) => r.key), ['2:4 magnitude fine-tune none', '1:4 magnitude fine-tune none']);
  // One seed: no spread to show, like the CLI's table.
  const single = viewRows(fixtureReport({ seeds: 1 }).rows);
  assert.ok(single.every((r) => r.std === null && r.deltaStd === null));
});

test('chart: bars grouped by pattern, one series per configuration, zoom frames the top results and dense', () => {
  const report = fixtureReport();
  const c = chartData(report.rows, DENSE);
  assert.deepEqual(c.patterns, ['2:4', '1:4']);
  assert.deepEqual(c.series.map((s) => s.id), [
    'magnitude one-shot', 'magnitude one-shot-bn', 'maxq one-shot', 'maxq one-shot-bn',
    'magnitude fine-tune none', 'maxq fine-tune default', 'maxq fine-tune none',
  ]);
  for (const s of c.series) {
    assert.equal(s.points.length, 2);
    s.points.forEach((p, k) => assert.equal(p?.key, `${c.patterns[k]} ${s.id}`));
  }
  assert.equal(c.dense, DENSE);
  const ft = c.series.find((s) => s.id === 'maxq fine-tune default')!;
  assert.ok(ft.points[0]!.std! > 0);
  assert.equal(c.series[0].points[0]!.std, null);
  // The zoom holds dense and every result within ZOOM_WINDOW of the best (with its whisker), not the collapsed one-shots.
  assert.ok(c.zoom.min <= 0.9565 - 0.01 && c.zoom.max >= DENSE && c.zoom.max <= 1, JSON.stringify(c.zoom));
  assert.ok(c.zoom.min > 0.73, 'collapsed one-shot rows fall below the zoomed axis');
  assert.ok(ZOOM_WINDOW === 0.1);
  // A pattern without some configuration leaves a gap (null), not a shifted bar.
  const partial = chartData(report.rows.filter((r) => r.key !== '1:4 maxq fine-tune none'), null);
  assert.equal(partial.series.find((s) => s.id === 'maxq fine-tune none')!.points[1], null);
  assert.equal(partial.dense, null);
  assert.deepEqual(chartData([], null).zoom, { min: 0, max: 1 });
});

test('labels: method and variant, the schedule named only where it tells configurations apart', () => {
  assert.equal(seriesLabel({ method: 'magnitude', kind: 'one-shot', scheduleVariant: null }), 'Magnitude · one-shot');
  assert.equal(seriesLabel({ method: 'srste', kind: 'one-shot-bn', scheduleVariant: null }), 'SR-STE · one-shot + BN');
  assert.equal(seriesLabel({ method: 'srste', kind: 'fine-tune', scheduleVariant: 'none' }), 'SR-STE · fine-tune');
  assert.equal(seriesLabel({ method: 'maxq', kind: 'fine-tune', scheduleVariant: 'none' }), 'MaxQ · fine-tune, no schedule');
  assert.equal(seriesLabel({ method: 'maxq', kind: 'fine-tune', scheduleVariant: 'default' }), 'MaxQ · fine-tune, default schedule');
  assert.equal(seriesIdOf({ method: 'maxq', kind: 'one-shot', scheduleVariant: null }), 'maxq one-shot');
});

test('the compared model: absolute, relative to the report folder, same name there, or <name>.onnx beside the report', () => {
  const files = new Set(['/abs/net.onnx', '/work/media/demo/mnist-cnn.onnx', '/reports/mnist-cnn.onnx', '/other/tiny.onnx']);
  const exists = (p: string) => files.has(p);
  assert.equal(locateComparedModel('/abs/net.onnx', '/reports/net.compare.json', exists), '/abs/net.onnx');
  assert.equal(locateComparedModel('media/demo/mnist-cnn.onnx', '/work/mnist-cnn.compare.json', exists), '/work/media/demo/mnist-cnn.onnx');
  assert.equal(locateComparedModel('media/demo/mnist-cnn.onnx', '/reports/r.json', exists), '/reports/mnist-cnn.onnx');
  assert.equal(locateComparedModel('/gone/moved.onnx', '/other/tiny.compare.json', exists), '/other/tiny.onnx');
  assert.equal(locateComparedModel('/gone/moved.onnx', '/nowhere/x.compare.json', exists), null);
});

test('view model: the preprocessing the runs used is a fact of the report', () => {
  assert.equal(describePreprocessing({ kind: 'npy', inputs: '/d/x.npy', labels: '/d/y.npy', normalize: '1/255,0.485:0.456:0.406,0.229:0.224:0.225' }), 'ImageNet mean/std');
  assert.equal(describePreprocessing({ kind: 'npy', inputs: '/d/x.npy', normalize: '1/255,0.5,0.25' }), '1/255,0.5,0.25');
  assert.equal(describePreprocessing({ kind: 'images', dir: '/d/train' }), 'values as stored');
  assert.equal(describePreprocessing({ kind: 'none' }), 'none (no data)');
});

test('view model: facts, metric wording, evaluation, and whether the model was found', () => {
  const report = fixtureReport();
  const v = toCompareView(report, { reportPath: '/r/mnist-cnn.compare.json', modelPath: '/r/mnist-cnn.onnx' });
  assert.equal(v.reportName, 'mnist-cnn.compare.json');
  assert.equal(v.modelName, 'mnist-cnn.onnx');
  assert.equal(v.modelFound, true);
  assert.equal(v.metric, 'accuracy');
  assert.equal(v.metricLabel, 'accuracy');
  assert.equal(v.dense, DENSE);
  assert.equal(v.rows.length, report.rows.length);
  const fact = (label: string) => v.facts.find((f) => f.label === label)?.value;
  assert.equal(fact('dense accuracy'), '97.50 %');
  assert.equal(fact('methods'), 'Magnitude, MaxQ');
  assert.equal(fact('data'), 'bundled MNIST demo');
  assert.equal(fact('preprocessing'), "MNIST mean/std (the demo's own)");
  assert.match(fact('fine-tune budget')!, /^1 epoch, batch 64, sgd lr 0\.01/);
  assert.equal(v.evaluation, 'validation data: 2000 samples of MNIST demo');
  assert.deepEqual(v.notes, report.notes);
  const lost = toCompareView(fixtureReport({}, 'agreement'), { reportPath: '/r/x.compare.json', modelPath: null });
  assert.equal(lost.modelFound, false);
  assert.equal(lost.modelPath, 'media/demo/mnist-cnn.onnx');
  assert.equal(lost.metricLabel, 'agreement with dense');
  assert.ok(lost.facts.some((f) => f.label === 'dense (reference)'));
});

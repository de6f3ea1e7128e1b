import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkCompareOptions } from '../../../src/core/compare/compareOptions';
import { planRuns } from '../../../src/core/compare/comparePlan';
import { CompareReport, CompareRun, runResult, summarizeRows } from '../../../src/core/compare/compareReport';
import { compareTable, markdownTable } from '../../../src/core/compare/compareTable';
import { RunSummary } from '../../../src/core/types';

const plan = planRuns(checkCompareOptions({ model: 'm.onnx', patterns: ['2:4'], methods: ['maxq'], seeds: 3, epochs: 4, scheduleVariants: ['default'], data: { kind: 'mnist-demo' } }));

function summary(finalAccuracy: number, seconds: number): RunSummary {
  return { output: 'x', pattern: '2:4', method: 'maxq', epochs: 4, sparsifiedLayers: 4, denseAccuracy: 0.975, finalAccuracy, metric: 'accuracy', validationPass: true, seconds };
}

const accuracies = [0.5, 0.9, 0.97, 0.96, 0.95];
const runs: CompareRun[] = plan.map((p, i) => runResult(p, summary(accuracies[i], 10 + i), 2 * (10 + i)));

test('rows: one per configuration, mean ± sample std over its seeds, Δ against dense', () => {
  const rows = summarizeRows(plan, runs);
  assert.deepEqual(rows.map((r) => r.key), ['2:4 maxq one-shot', '2:4 maxq one-shot-bn', '2:4 maxq fine-tune default']);
  const ft = rows[2];
  assert.deepEqual(ft.seeds, [0, 1, 2]);
  assert.ok(Math.abs(ft.accuracy!.mean - 0.96) < 1e-12);
  assert.ok(Math.abs(ft.accuracy!.std - 0.01) < 1e-12);
  assert.ok(Math.abs(ft.delta!.mean - (0.96 - 0.975)) < 1e-12);
  assert.ok(Math.abs(ft.delta!.std - 0.01) < 1e-12);
  assert.equal(ft.seconds.mean, 13);
  assert.equal(ft.cpuSeconds.mean, 26);
  assert.equal(ft.deterministic, false);
  assert.equal(rows[0].deterministic, true);
  assert.equal(rows[0].accuracy!.n, 1);
});

test('table: dense first, deterministic rows without a spread, Markdown escapes nothing it should not', () => {
  const report = { metric: 'accuracy', dense: { accuracy: 0.975 }, rows: summarizeRows(plan, runs) } as unknown as CompareReport;
  const t = compareTable(report);
  assert.equal(t.rows.length, 4);
  assert.deepEqual(t.rows[0].slice(0, 5), ['—', 'dense', 'original model', '1', '97.50']);
  assert.deepEqual(t.rows[1].slice(3), ['1 (deterministic)', '50.00', '−47.50', '10.0 s', '20.0 s']);
  assert.deepEqual(t.rows[3].slice(3), ['3', '96.00 ± 1.00', '−1.50 ± 1.00', '13.0 s', '26.0 s']);
  const md = markdownTable(t).split('\n');
  assert.equal(md.length, 6);
  assert.match(md[0], /^\| pattern \| method \| variant \| runs \| accuracy % \|/);
  assert.equal(md[1], '|---|---|---|---:|---:|---:|---:|---:|');
  const agreement = compareTable({ ...report, metric: 'agreement' } as CompareReport);
  assert.equal(agreement.header[4], 'agreement with dense %');
});

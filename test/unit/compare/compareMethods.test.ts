import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { compareMethods, CompareProgress } from '../../../src/core/compare/compareMethods';
import { CompareOptions } from '../../../src/core/compare/compareOptions';
import { isCancelled } from '../../../src/core/sparsify/cancellation';
import { tinyFixture } from './tinyFixture';

const fx = tinyFixture();
after(() => fx.remove());

function options(tempRoot: string): CompareOptions {
  fs.mkdirSync(tempRoot, { recursive: true });
  return {
    model: fx.model, patterns: ['2:4'], methods: ['magnitude', 'maxq'], seeds: 1, epochs: 1, tempRoot,
    data: { kind: 'npy', inputs: fx.inputs, labels: fx.labels, valInputs: fx.valInputs, valLabels: fx.valLabels },
    shared: { batchSize: 16, threads: 1 }, bnBatches: 2,
  };
}

test('compare on a tiny model: every row and run, the dense accuracy, and no temp files left', async () => {
  const tempRoot = path.join(fx.dir, 'tmp-ok');
  const events: CompareProgress[] = [];
  const report = await compareMethods(options(tempRoot), (p) => events.push(p));

  assert.equal(report.kind, 'maxq-compare');
  assert.equal(report.metric, 'accuracy');
  assert.equal(report.evaluation.sameForAllRuns, true);
  assert.deepEqual(report.rows.map((r) => r.key), [
    '2:4 magnitude one-shot', '2:4 magnitude one-shot-bn', '2:4 maxq one-shot', '2:4 maxq one-shot-bn',
    '2:4 magnitude fine-tune none', '2:4 maxq fine-tune default', '2:4 maxq fine-tune none',
  ]);
  assert.equal(report.runs.length, 7);
  const dense = report.dense.accuracy!;
  assert.ok(dense >= 0 && dense <= 1);
  for (const run of report.runs) {
    assert.equal(run.denseAccuracy, dense, 'every run is measured on the same validation files');
    assert.ok(run.accuracy! >= 0 && run.accuracy! <= 1);
    assert.ok(Math.abs(run.delta! - (run.accuracy! - dense)) < 1e-12);
    assert.equal(run.validationPass, true);
    assert.equal(run.sparsifiedLayers, 1);
    assert.ok(run.seconds > 0);
    assert.ok(run.cpuSeconds > 0);
  }
  for (const row of report.rows) {
    const mine = report.runs.filter((r) => r.key === row.key);
    assert.equal(row.accuracy!.mean, mine[0].accuracy);
    assert.equal(row.accuracy!.std, 0);
  }
  assert.deepEqual(report.config.budget, { epochs: 1, batchSize: 16, lr: 0.01, optimizer: 'sgd', momentum: 0.9, weightDecay: 1e-4, labelSmoothing: 0, scheduleGranularity: 'step', bnBatches: 2 });
  assert.equal(report.environment.cpuCount > 0, true);
  assert.equal(report.environment.node, process.version);
  assert.ok(report.notes.some((n) => /default schedule is no schedule/.test(n)));
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'the report is plain JSON');

  assert.equal(events[0].type, 'plan');
  assert.equal(events.filter((e) => e.type === 'run-start').length, 7);
  assert.equal(events.filter((e) => e.type === 'run-done').length, 7);
  assert.ok(events.some((e) => e.type === 'run-event' && e.event.type === 'step'));
  assert.deepEqual(fs.readdirSync(tempRoot), [], 'intermediate models are removed');
});

test('cancelling mid-way rejects with a cancellation and removes the temp folder', async () => {
  const tempRoot = path.join(fx.dir, 'tmp-cancel');
  const controller = new AbortController();
  let sawTempFiles = false;
  const run = compareMethods(options(tempRoot), (p) => {
    if (p.type === 'run-event' && p.event.type === 'phase' && p.event.phase === 'write') sawTempFiles = fs.readdirSync(tempRoot).length > 0;
    if (p.type === 'run-done' && p.index === 1) controller.abort();
  }, controller.signal);
  await assert.rejects(run, (e) => isCancelled(e));
  assert.equal(sawTempFiles, true);
  assert.deepEqual(fs.readdirSync(tempRoot), []);
});

test('a pattern no layer can take fails before any run', async () => {
  const tempRoot = path.join(fx.dir, 'tmp-bad');
  await assert.rejects(compareMethods({ ...options(tempRoot), patterns: ['1:16'] }), /no eligible layer for 1:16/);
  assert.deepEqual(fs.readdirSync(tempRoot), []);
});

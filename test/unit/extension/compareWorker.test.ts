/**
 * The extension's comparison worker thread (no vscode needed): a report comes back with progress on the way, and a
 * cancel really stops the runs and leaves no temp model behind.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { CompareProgress } from '../../../src/core/compare/compareMethods';
import type { CompareOptions } from '../../../src/core/compare/compareOptions';
import { isCancelled } from '../../../src/core/sparsify/cancellation';
import { startCompareWorker } from '../../../src/extension/compare/compareWorker';
import { tinyFixture } from '../compare/tinyFixture';

const fx = tinyFixture();
after(() => fx.remove());

function options(tempRoot: string, epochs: number): CompareOptions {
  fs.mkdirSync(tempRoot, { recursive: true });
  return {
    model: fx.model, patterns: ['2:4'], methods: ['magnitude', 'maxq'], seeds: 1, epochs, tempRoot,
    data: { kind: 'npy', inputs: fx.inputs, labels: fx.labels, valInputs: fx.valInputs, valLabels: fx.valLabels },
    shared: { batchSize: 16, threads: 1 }, bnBatches: 2,
  };
}

test('the worker runs the comparison off this thread and streams its progress', async () => {
  const tempRoot = path.join(fx.dir, 'w-ok');
  const seen: CompareProgress['type'][] = [];
  const job = startCompareWorker(options(tempRoot, 0), (p) => seen.push(p.type));
  const report = await job.done;
  assert.equal(report.kind, 'maxq-compare');
  assert.equal(report.rows.length, 4);
  assert.equal(seen[0], 'plan');
  assert.equal(seen.filter((t) => t === 'run-done').length, 4);
  assert.ok(seen.includes('run-event'));
  assert.deepEqual(fs.readdirSync(tempRoot), []);
});

test('cancel stops the comparison: the job rejects as cancelled and the temp models are gone', async () => {
  const tempRoot = path.join(fx.dir, 'w-cancel');
  let done = 0;
  let cancelAt = -1;
  const job = startCompareWorker(options(tempRoot, 2), (p) => {
    if (p.type === 'run-done') done++;
    // Cancel inside the first fine-tune (run 5 of 7), once it is training.
    if (p.type === 'run-event' && p.event.type === 'step' && p.index === 4 && cancelAt < 0) {
      cancelAt = p.index;
      job.cancel();
    }
  });
  await assert.rejects(job.done, (e) => isCancelled(e));
  assert.equal(cancelAt, 4);
  assert.equal(done, 4, 'no run finished after the cancel');
  assert.deepEqual(fs.readdirSync(tempRoot), [], 'the core removed its temp folder');
});

test('a bad request fails with the core\'s message, as a user error', async () => {
  const job = startCompareWorker({ ...options(path.join(fx.dir, 'w-bad'), 0), patterns: ['1:16'] }, () => undefined);
  await assert.rejects(job.done, (e: Error) => e.name === 'MaxqError' && /1:16/.test(e.message));
});

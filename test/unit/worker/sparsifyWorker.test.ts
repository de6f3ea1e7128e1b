/**
 * startSparsifyWorker (issue 3 "CPU work off the caller's thread"): a sparsify job in a worker thread streams
 * its events to the caller, resolves with the run summary, rejects with the core's error kinds, and cancel()
 * stops it with a CancelledError and no output.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { startSparsifyWorker } from '../../../src/core/worker/sparsifyWorker';
import { CancelledError } from '../../../src/core/sparsify/cancellation';
import { MaxqError } from '../../../src/core/errors';
import { SparsifyOptions } from '../../../src/core/sparsify/options';
import { RunEvent } from '../../../src/core/types';
import { validateModel } from '../../../src/core/validate/validateModel';
import { listDir, tempDir, tinyCnn, writeModelFile, writeSyntheticNpy } from '../fixtures';

let dir: string, model: string, data: { inputs: string; labels?: string };

before(() => {
  dir = tempDir('maxq-worker-');
  model = writeModelFile(dir, 'tiny.onnx', tinyCnn());
  data = writeSyntheticNpy(dir, 64, 23);
});

describe('sparsify worker', () => {
  it('one-shot with data: streams start → phases → done and resolves with the summary', async () => {
    const out = path.join(dir, 'w-oneshot.onnx');
    const events: RunEvent[] = [];
    const job = startSparsifyWorker({ model, out, pattern: '2:4', method: 'maxq', epochs: 0, batchSize: 16, data: { kind: 'npy', ...data } }, (e) => events.push(e));
    const summary = await job.done;
    assert.equal(summary.output, out);
    assert.equal(summary.validationPass, true);
    assert.equal(summary.sparsifiedLayers, 1);
    assert.equal(events[events.length - 1].type, 'done');
    const done = events[events.length - 1] as Extract<RunEvent, { type: 'done' }>;
    assert.deepEqual(done.summary, summary); // survived structured cloning intact
    const phases = events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase);
    // tinyCnn's sparsified conv has no BatchNorm after it: it is normalised for the run and folded back.
    assert.deepEqual(phases, ['data sanity check', 'dense evaluation', 'normalisation', 'masks', 'BN re-estimation', 'sparse evaluation', 'write', 'numeric check']);
    assert.equal(summary.normalisation?.normalised.length, 1);
    assert.equal((await validateModel(out, { pattern: '2:4' })).pass, true);
    job.cancel(); // after the end: a no-op, no throw
  });

  it('fine-tune: step and epoch events arrive while it runs', async () => {
    const out = path.join(dir, 'w-ft.onnx');
    const events: RunEvent[] = [];
    const summary = await startSparsifyWorker(
      { model, out, pattern: '2:4', method: 'srste', epochs: 2, batchSize: 16, threads: 1, data: { kind: 'npy', ...data } },
      (e) => events.push(e),
    ).done;
    assert.equal(summary.epochs, 2);
    assert.equal(events.filter((e) => e.type === 'epoch').length, 2);
    assert.ok(events.filter((e) => e.type === 'step').length >= 6);
    assert.ok(fs.existsSync(out));
  });

  it('bad options reject with the core usage error', async () => {
    const job = startSparsifyWorker({ model, out: path.join(dir, 'never.onnx'), pattern: '4:4', method: 'maxq', epochs: 0 }, () => undefined);
    await assert.rejects(job.done, (e: unknown) => e instanceof MaxqError && e.kind === 'usage' && /N must be smaller than M/.test(e.message));
    await assert.rejects(
      startSparsifyWorker({ model: path.join(dir, 'missing.onnx'), out: path.join(dir, 'never.onnx'), pattern: '2:4', method: 'maxq', epochs: 0 }, () => undefined).done,
      (e: unknown) => e instanceof MaxqError && e.kind === 'input' && /missing\.onnx: file not found/.test(e.message),
    );
    assert.ok(!fs.existsSync(path.join(dir, 'never.onnx')));
  });

  it('cancel() mid fine-tune rejects with CancelledError and leaves no output', async () => {
    const d = tempDir('maxq-worker-cancel-');
    const m = writeModelFile(d, 'm.onnx', tinyCnn());
    const before = listDir(d);
    const opts: SparsifyOptions = { model: m, out: path.join(d, 'out.onnx'), pattern: '2:4', method: 'maxq', epochs: 200, batchSize: 16, threads: 1, data: { kind: 'npy', ...data } };
    let steps = 0;
    const job = startSparsifyWorker(opts, (e) => {
      if (e.type === 'step' && ++steps === 3) job.cancel();
    });
    await assert.rejects(job.done, (e: unknown) => e instanceof CancelledError);
    assert.ok(steps >= 3 && steps < 200 * 3, `stopped after ${steps} steps`);
    assert.deepEqual(listDir(d), before);
  });
});

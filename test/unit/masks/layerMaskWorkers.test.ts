/**
 * LayerMaskWorkers (a layer per call, on worker threads, for streaming pipelines): the same masks as
 * `computeLayerMask`, more calls than workers queue, errors keep their kind and name the layer, and closing
 * leaves no worker and no pending call behind.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { isMaxqError } from '../../../src/core/errors';
import { computeLayerMask } from '../../../src/core/masks/layerMask';
import { LayerMaskWorkers } from '../../../src/core/masks/layerMaskWorkers';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { LayerJob } from '../../../src/core/masks/parallelJobs';
import { sharedMaskBuffers, sharedWeight } from '../../../src/core/masks/parallelMasks';
import { randomWeight } from './helpers';

const SHAPES: [number, number, number, number][] = [[16, 32, 3, 3], [64, 16, 1, 1], [8, 8, 3, 3], [32, 64, 1, 1], [4, 16, 1, 3], [24, 24, 3, 3], [2, 8, 1, 1]];

function jobs(seed: number): LayerJob[] {
  return SHAPES.map(([O, I, Kh, Kw], i) => {
    const w = sharedWeight(O, I, Kh, Kw);
    w.data.set(randomWeight(seed + i, O, I, Kh, Kw, i === 2 ? 'quantized' : 'normal', 0.05).data);
    return { ...w, ...sharedMaskBuffers(w.data.length), name: `conv${i}` };
  });
}

function workerHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length;
}

test('every layer gets computeLayerMask\'s masks, in place, with more layers in flight than workers', async () => {
  const before = workerHandles();
  for (const [pat, method, p] of [['2:4', 'maxq', 0], ['1:4', 'maxq', 0.3], ['2:8', 'srste', 0.2], ['2:4', 'magnitude', 0]] as const) {
    const pattern = NmPattern.parse(pat);
    const workers = new LayerMaskWorkers(2, pattern, method, p);
    try {
      const all = jobs(7);
      await Promise.all(all.map((j) => workers.compute(j)));
      for (const j of all) {
        const want = computeLayerMask(j, pattern, method, p);
        assert.deepEqual(Buffer.from(j.hard), Buffer.from(want.hard), `${pat} ${method} ${j.name} H`);
        assert.deepEqual(Buffer.from(new Uint8Array(j.soft.buffer, 0, j.soft.byteLength)), Buffer.from(want.soft.buffer), `${pat} ${method} ${j.name} S`);
      }
    } finally {
      await workers.close();
    }
  }
  assert.equal(workerHandles(), before, 'closed workers leave no handle');
});

test('errors: a NaN weight names its layer and keeps its kind; the workers stay usable; bad buffers and closed workers are refused', async () => {
  const pattern = NmPattern.parse('2:4');
  const workers = new LayerMaskWorkers(2, pattern, 'maxq', 0);
  const [good, other] = jobs(11);
  const bad = { ...sharedWeight(8, 8, 3, 3), ...sharedMaskBuffers(8 * 8 * 9), name: 'layer4.conv2' };
  bad.data.fill(0.01);
  bad.data[100] = NaN;
  await assert.rejects(workers.compute(bad), (e: unknown) => isMaxqError(e) && e.kind === 'usage' && /layer4\.conv2/.test(e.message));
  await workers.compute(good);
  assert.deepEqual(Buffer.from(good.hard), Buffer.from(computeLayerMask(good, pattern, 'maxq', 0).hard));
  await assert.rejects(workers.compute({ ...other, soft: new Float32Array(other.data.length) }), (e: unknown) => isMaxqError(e) && /shared memory/.test(e.message));
  await assert.rejects(workers.compute({ ...other, hard: sharedMaskBuffers(3).hard }), (e: unknown) => isMaxqError(e) && /3 entries/.test(e.message));
  // Closing rejects what is still queued or running instead of leaving it pending.
  const pending = [workers.compute(other), workers.compute(jobs(12)[5]), workers.compute(jobs(13)[0])].map((p) => p.then(() => 'done', (e: Error) => e.message));
  await workers.close();
  await workers.close(); // idempotent
  const outcomes = await Promise.all(pending);
  assert.ok(outcomes.every((o) => o === 'done' || /closed/.test(o)), outcomes.join('; '));
  assert.match(outcomes[2], /closed/, 'the third call was still queued behind two workers');
  await assert.rejects(workers.compute(good), /closed/);
  const wrongP = new LayerMaskWorkers(1, pattern, 'maxq', 1.5);
  await assert.rejects(wrongP.compute(jobs(14)[1]), (e: unknown) => isMaxqError(e) && /dense fraction/.test(e.message));
  await wrongP.close();
  assert.throws(() => new LayerMaskWorkers(0, pattern, 'maxq', 0), (e: unknown) => isMaxqError(e) && /workers/.test(e.message));
});

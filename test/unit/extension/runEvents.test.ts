import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { RunEvent } from '../../../src/core/types';
import { parseRunRecord } from '../../../src/extension/dashboard/runRecordFile';
import { RunEventBuffer } from '../../../src/extension/runs/runEventBuffer';

const step = (g: number): RunEvent => ({ type: 'step', epoch: 0, step: g, globalStep: g, loss: 1 / (g + 1), lr: 0.1, stepMs: 1, denseFraction: 0 });

test('event buffer: keeps every non-step event and at most maxSteps evenly spaced steps', () => {
  const b = new RunEventBuffer(100);
  b.add({ type: 'phase', phase: 'train' });
  let forwarded = 0;
  for (let g = 0; g < 1000; g++) if (b.add(step(g))) forwarded++;
  b.add({ type: 'log', level: 'info', message: 'x' });
  const events = b.events();
  const steps = events.filter((e) => e.type === 'step') as Extract<RunEvent, { type: 'step' }>[];
  assert.ok(steps.length <= 100 && steps.length >= 50, `${steps.length} steps`);
  assert.equal(events[0].type, 'phase');
  assert.equal(events[events.length - 1].type, 'log');
  for (const s of steps) assert.equal(s.globalStep % b.stepStride, 0);
  assert.ok(forwarded < 1000);
  for (let k = 1; k < steps.length; k++) assert.ok(steps[k].globalStep > steps[k - 1].globalStep);
});

test('run record: a valid record parses; anything else is an input error naming the file', () => {
  const rec = parseRunRecord(JSON.stringify({ version: 1, runId: 'r', createdAt: 'now', model: 'a.onnx', output: 'b.onnx', options: {}, events: [{ type: 'phase', phase: 'x' }, 5] }), 'b.onnx.run.json');
  assert.equal(rec.events.length, 1);
  assert.throws(() => parseRunRecord('{', 'f.run.json'), /f\.run\.json: not a MaxQ run record: invalid JSON/);
  assert.throws(() => parseRunRecord('{"version":2,"events":[]}', 'f.run.json'), /known version/);
  assert.throws(() => parseRunRecord('{"version":1}', 'f.run.json'), /no events/);
});

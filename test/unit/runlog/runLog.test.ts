/** Run-event logs (JSON lines): the line parser, the incremental reader, the writer and the live follower. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { parseRunEventLine } from '../../../src/core/runlog/runEventLine';
import { RunLogFollower } from '../../../src/core/runlog/runLogFollower';
import { readRunLog, RunLogParser } from '../../../src/core/runlog/runLogParser';
import { RunLogWriter } from '../../../src/core/runlog/runLogWriter';
import type { RunEvent } from '../../../src/core/types';
import { tempDir } from '../fixtures';

const start: RunEvent = { type: 'start', runId: 'r1', model: 'm.onnx', pattern: '2:4', method: 'maxq', epochs: 2, stepsPerEpoch: 3, layers: ['conv1', 'conv2'] };
const epoch = (e: number, coverage: number): RunEvent => ({
  type: 'epoch', epoch: e, denseFraction: 1 - coverage, trainLoss: 0.5 / (e + 1), trainAccuracy: 0.9, valLoss: 0.4, valAccuracy: 0.95 + e / 100, coverage, layerCoverage: { conv1: coverage, conv2: coverage },
});
const done: RunEvent = {
  type: 'done', output: 'm.sparse.onnx', record: '',
  summary: { output: 'm.sparse.onnx', pattern: '2:4', method: 'maxq', epochs: 2, sparsifiedLayers: 2, denseAccuracy: 0.97, finalAccuracy: 0.96, metric: 'accuracy', validationPass: true, seconds: 12 },
};
const line = (e: RunEvent) => JSON.stringify(e) + '\n';

describe('parseRunEventLine', () => {
  it('round-trips every event the engines write', () => {
    for (const e of [start, epoch(0, 0.5), done, { type: 'phase', phase: 'fine-tune', detail: '2 epochs' }, { type: 'log', level: 'warn', message: 'x' }, { type: 'error', message: 'boom' }, { type: 'cancelled' }] as RunEvent[]) {
      const r = parseRunEventLine(JSON.stringify(e));
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.event, e);
    }
  });
  it('fills what another engine may leave out, and refuses what the dashboard cannot draw', () => {
    const r = parseRunEventLine('{"type":"epoch","epoch":1,"coverage":0.75}');
    assert.ok(r.ok);
    assert.equal(r.event.type, 'epoch');
    if (r.event.type === 'epoch') {
      assert.equal(r.event.denseFraction, 0.25);
      assert.equal(r.event.valAccuracy, null);
      assert.deepEqual(r.event.layerCoverage, {});
    }
    const d = parseRunEventLine('{"type":"done","output":"a.onnx","summary":{"pattern":"2:4","finalAccuracy":0.9}}');
    assert.ok(d.ok && d.event.type === 'done');
    if (d.ok && d.event.type === 'done') {
      assert.equal(d.event.summary.output, 'a.onnx');
      assert.equal(d.event.summary.seconds, 0);
      assert.equal(d.event.summary.denseAccuracy, null);
      assert.equal(d.event.summary.validationPass, false);
    }
    assert.deepEqual(parseRunEventLine('{"type":"step","epoch":0}'), { ok: false, problem: "a 'step' event needs step (number), got undefined" });
    assert.deepEqual(parseRunEventLine('{"type":"bogus"}'), { ok: false, problem: 'unknown event type "bogus"' });
    assert.equal(parseRunEventLine('[1,2]').ok, false);
    assert.match((parseRunEventLine('{"type":') as { problem: string }).problem, /^not JSON/);
  });
});

describe('RunLogParser', () => {
  it('returns events only for whole lines, across chunk and UTF-8 boundaries', () => {
    const text = line(start) + line({ type: 'log', level: 'info', message: 'grüße — ✓' }) + line(epoch(0, 0.5));
    const bytes = Buffer.from(text, 'utf8');
    const p = new RunLogParser();
    const got: RunEvent[] = [];
    for (let i = 0; i < bytes.length; i += 7) got.push(...p.push(bytes.subarray(i, Math.min(bytes.length, i + 7))));
    assert.deepEqual(got, [start, { type: 'log', level: 'info', message: 'grüße — ✓' }, epoch(0, 0.5)]);
    assert.deepEqual(p.badLines, []);
    // A last line without a newline is read at end().
    assert.deepEqual(p.push(Buffer.from(JSON.stringify(done))), []);
    assert.deepEqual(p.end(), [done]);
  });
  it('counts bad lines by number and goes on', () => {
    const p = new RunLogParser();
    const got = p.push(Buffer.from(line(start) + 'garbage\n\n' + line(epoch(0, 0.5))));
    assert.equal(got.length, 2);
    assert.equal(p.badLines.length, 1);
    assert.equal(p.badLines[0].line, 2);
  });
  it('readRunLog: a file that holds no event is not a run log', () => {
    const dir = tempDir('runlog-');
    const f = path.join(dir, 'x.jsonl');
    fs.writeFileSync(f, 'hello\nworld\n');
    assert.throws(() => readRunLog(f), (e: Error) => e.message.includes(f) && /not a MaxQ run log.*line 1/.test(e.message));
    assert.throws(() => readRunLog(path.join(dir, 'missing.jsonl')), /run log not found/);
  });
});

describe('RunLogWriter + RunLogFollower', () => {
  /** Collects what a follower reports, and waits for a condition. */
  function collector() {
    const state = { events: [] as RunEvent[], resets: 0, problems: [] as string[] };
    const listener = { events: (e: RunEvent[]) => state.events.push(...e), reset: () => { state.resets++; state.events = []; }, problem: (m: string) => state.problems.push(m) };
    const until = async (what: string, ok: () => boolean, ms = 5000) => {
      const end = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return { state, listener, until };
  }

  it('follows a log as it grows, holds back a half-written line, and stops at the last event', async () => {
    const dir = tempDir('runlog-');
    const f = path.join(dir, 'run.events.jsonl');
    const w = new RunLogWriter(f);
    w.write(start);
    const c = collector();
    const follower = new RunLogFollower(f, c.listener, { intervalMs: 30 });
    await follower.start();
    assert.deepEqual(c.state.events, [start]);
    w.write(epoch(0, 0.5));
    await c.until('epoch 0', () => c.state.events.length === 2);
    // Half a line: nothing until the rest and its newline arrive.
    const text = line(epoch(1, 1));
    fs.appendFileSync(f, text.slice(0, 25));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(c.state.events.length, 2);
    fs.appendFileSync(f, text.slice(25));
    await c.until('epoch 1', () => c.state.events.length === 3);
    assert.equal(follower.ended, false);
    w.write(done);
    w.write({ type: 'log', level: 'info', message: 'after the end' });
    w.close();
    await c.until('done', () => follower.ended);
    assert.deepEqual(c.state.events, [start, epoch(0, 0.5), epoch(1, 1), done]);
    assert.deepEqual(c.state.problems, []);
  });

  it('waits for a log that does not exist yet, and starts over when the file is rewritten', async () => {
    const dir = tempDir('runlog-');
    const f = path.join(dir, 'later.jsonl');
    const c = collector();
    const follower = new RunLogFollower(f, c.listener, { intervalMs: 30 });
    await follower.start();
    assert.equal(c.state.problems.length, 1);
    assert.match(c.state.problems[0], /no such file yet/);
    fs.writeFileSync(f, line(start) + line(epoch(0, 0.5)) + line(epoch(1, 0.75)));
    await c.until('three events', () => c.state.events.length === 3);
    // A new run writes a new (shorter) log over the old one: the follower says reset and reads it from the start.
    const w = new RunLogWriter(f);
    w.write(start);
    await c.until('reset', () => c.state.resets === 1 && c.state.events.length === 1);
    w.write({ type: 'error', message: 'rank 1 died' });
    w.close();
    await c.until('error ends it', () => follower.ended);
    assert.deepEqual(c.state.events, [start, { type: 'error', message: 'rank 1 died' }]);
    follower.stop();
  });

  it('reports a bad line once, by number, and keeps following', async () => {
    const dir = tempDir('runlog-');
    const f = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(f, line(start) + '{"type":"step"}\n');
    const c = collector();
    const follower = new RunLogFollower(f, c.listener, { intervalMs: 30 });
    await follower.start();
    assert.deepEqual(c.state.events, [start]);
    assert.equal(c.state.problems.length, 1);
    assert.match(c.state.problems[0], /line 2 skipped: a 'step' event needs epoch/);
    fs.appendFileSync(f, line(done));
    await c.until('done', () => follower.ended);
    assert.equal(c.state.problems.length, 1);
  });
});

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  COMPARE_INPUT_DEFAULTS, compareRequestFrom, defaultPatterns, normalizePattern, plannedRunCount, runResultText, runTitle, toCompareOptions, wholeNumberProblem,
} from '../../../src/extension/compare/compareRequest';

test('patterns and numbers as typed', () => {
  assert.equal(normalizePattern(' 2 : 4 '), '2:4');
  assert.equal(normalizePattern('4:4'), null);
  assert.equal(normalizePattern('0:4'), null);
  assert.equal(normalizePattern('two'), null);
  assert.deepEqual(defaultPatterns('1:8'), ['1:8']);
  assert.deepEqual(defaultPatterns('nonsense'), ['2:4']);
  assert.equal(wholeNumberProblem('0', 0), null);
  assert.equal(wholeNumberProblem('3', 1), null);
  assert.match(wholeNumberProblem('0', 1)!, /≥ 1/);
  assert.match(wholeNumberProblem('1.5', 0)!, /whole number/);
  assert.match(wholeNumberProblem('', 1)!, /whole number/);
});

test('a request given to the command: defaults filled in, every field checked', () => {
  const r = compareRequestFrom({ data: { kind: 'mnist-demo' } }, '2:4');
  assert.deepEqual(r, { patterns: ['2:4'], methods: ['magnitude', 'srste', 'maxq'], epochs: COMPARE_INPUT_DEFAULTS.epochs, seeds: COMPARE_INPUT_DEFAULTS.seeds, data: { kind: 'mnist-demo' }, overwrite: false });
  assert.equal(COMPARE_INPUT_DEFAULTS.epochs, 1);
  assert.equal(COMPARE_INPUT_DEFAULTS.seeds, 1);
  const full = compareRequestFrom({ patterns: ['2:4', ' 2:4', '1:4'], methods: ['maxq', 'maxq'], epochs: 0, seeds: 3, data: { kind: 'npy', inputs: '/x.npy' }, overwrite: true }, '2:4');
  assert.deepEqual(full.patterns, ['2:4', '1:4']);
  assert.deepEqual(full.methods, ['maxq']);
  assert.equal(full.overwrite, true);
  const bad = (x: unknown, re: RegExp) => assert.throws(() => compareRequestFrom(x, '2:4'), re);
  bad(null, /must be an object/);
  bad({ data: { kind: 'mnist-demo' }, patterns: [] }, /non-empty/);
  bad({ data: { kind: 'mnist-demo' }, patterns: ['4:2'] }, /not N:M/);
  bad({ data: { kind: 'mnist-demo' }, methods: ['random'] }, /methods/);
  bad({ data: { kind: 'mnist-demo' }, epochs: -1 }, /epochs/);
  bad({ data: { kind: 'mnist-demo' }, seeds: 0 }, /seeds/);
  bad({ data: { kind: 'npy' } }, /data must be/);
  bad({}, /data must be/);
});

test('core options: threads and the temp root only when set; the run count is the core plan', () => {
  const req = compareRequestFrom({ data: { kind: 'mnist-demo' } }, '2:4');
  assert.deepEqual(toCompareOptions(req, '/m/net.onnx', { threads: 0 }), { model: '/m/net.onnx', patterns: ['2:4'], methods: ['magnitude', 'srste', 'maxq'], epochs: 1, seeds: 1, data: { kind: 'mnist-demo' } });
  const o = toCompareOptions(req, '/m/net.onnx', { threads: 2, tempRoot: '/tmp/x' });
  assert.deepEqual(o.shared, { threads: 2 });
  assert.equal(o.tempRoot, '/tmp/x');
  // Per pattern: one-shot ± BN for each method, then one fine-tune per seed (MaxQ: per schedule variant).
  assert.equal(plannedRunCount(req, '/m/net.onnx'), 6 + 4);
  assert.equal(plannedRunCount({ ...req, epochs: 0 }, '/m/net.onnx'), 6);
  assert.equal(plannedRunCount({ ...req, seeds: 2, patterns: ['2:4', '1:4'] }, '/m/net.onnx'), 2 * (6 + 8));
  assert.equal(plannedRunCount({ ...req, patterns: ['bad'] }, '/m/net.onnx'), null);
});

test('progress text', () => {
  assert.equal(runTitle(2, 12, { pattern: '2:4', method: 'maxq', label: 'fine-tune, no schedule', deterministic: false, seed: 1 }), '[3/12] 2:4 MaxQ · fine-tune, no schedule · seed 1');
  assert.equal(runTitle(0, 12, { pattern: '1:4', method: 'srste', label: 'one-shot', deterministic: true, seed: 0 }), '[1/12] 1:4 SR-STE · one-shot');
  assert.equal(runResultText({ accuracy: 0.9695, denseAccuracy: 0.975, seconds: 30.61, validationPass: true }), '→ 96.95 % (dense 97.50 %), 30.6 s');
  assert.match(runResultText({ accuracy: null, denseAccuracy: null, seconds: 1, validationPass: false }), /n\/a.*FAILED/);
});

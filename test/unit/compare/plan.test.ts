import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkCompareOptions, CompareOptions } from '../../../src/core/compare/compareOptions';
import { planRuns } from '../../../src/core/compare/comparePlan';
import { MaxqError } from '../../../src/core/errors';

const base: CompareOptions = { model: 'm.onnx', patterns: ['2:4'], data: { kind: 'mnist-demo' } };
const usage = (pattern: RegExp) => (e: unknown) => e instanceof MaxqError && e.kind === 'usage' && pattern.test(e.message);

test('usage errors: unknown method, bad pattern, seeds < 1, negative epochs, unknown variant, no data', () => {
  assert.throws(() => checkCompareOptions({ ...base, methods: ['magnitude', 'obd'] }), usage(/unknown method 'obd'/));
  assert.throws(() => checkCompareOptions({ ...base, patterns: ['4:2'] }), usage(/invalid N:M pattern "4:2"/));
  assert.throws(() => checkCompareOptions({ ...base, patterns: [] }), usage(/at least one N:M pattern/));
  assert.throws(() => checkCompareOptions({ ...base, seeds: 0 }), usage(/--seeds must be a whole number ≥ 1/));
  assert.throws(() => checkCompareOptions({ ...base, seeds: 1.5 }), usage(/--seeds/));
  assert.throws(() => checkCompareOptions({ ...base, epochs: -1 }), usage(/--epochs/));
  assert.throws(() => checkCompareOptions({ ...base, scheduleVariants: ['cubic'] }), usage(/unknown schedule variant 'cubic'/));
  assert.throws(() => checkCompareOptions({ ...base, data: { kind: 'none' } }), usage(/needs data/));
});

test('defaults are resolved into the budget; duplicates are dropped', () => {
  const o = checkCompareOptions({ ...base, patterns: ['2:4', ' 2 : 4 ', '1:4'], methods: ['maxq', 'maxq'] });
  assert.deepEqual(o.patterns, ['2:4', '1:4']);
  assert.deepEqual(o.methods, ['maxq']);
  assert.deepEqual(o.seeds, [0, 1, 2]);
  assert.deepEqual(o.scheduleVariants, ['default', 'none']);
  assert.deepEqual(o.budget, { epochs: 3, batchSize: 64, lr: 0.01, optimizer: 'sgd', momentum: 0.9, weightDecay: 1e-4, labelSmoothing: 0, scheduleGranularity: 'step', bnBatches: 20 });
  assert.equal(checkCompareOptions({ ...base, shared: { optimizer: 'adamw' } }).budget.lr, 1e-3);
  assert.deepEqual(checkCompareOptions({ ...base, seeds: 2, firstSeed: 5 }).seeds, [5, 6]);
});

test('plan: one-shot twice per method (deterministic), then fine-tunes per seed; MaxQ per schedule variant', () => {
  const runs = planRuns(checkCompareOptions({ ...base, methods: ['magnitude', 'maxq'], seeds: 2, epochs: 4 }));
  assert.deepEqual(runs.map((r) => `${r.key} #${r.seed}`), [
    '2:4 magnitude one-shot #0', '2:4 magnitude one-shot-bn #0', '2:4 maxq one-shot #0', '2:4 maxq one-shot-bn #0',
    '2:4 magnitude fine-tune none #0', '2:4 magnitude fine-tune none #1',
    '2:4 maxq fine-tune default #0', '2:4 maxq fine-tune default #1', '2:4 maxq fine-tune none #0', '2:4 maxq fine-tune none #1',
  ]);
  const oneShot = runs[1];
  assert.equal(oneShot.deterministic, true);
  assert.deepEqual(oneShot.recipe, { pattern: '2:4', method: 'magnitude', epochs: 0, bnRecalibrate: 20 });
  assert.deepEqual(runs[0].recipe.bnRecalibrate, false);
  const scheduled = runs[6];
  assert.deepEqual(scheduled.schedule, { kind: 'linear', decayStart: 0, decayEnd: 1, totalEpochs: 4 });
  assert.deepEqual(scheduled.recipe, { pattern: '2:4', method: 'maxq', epochs: 4, schedule: 'linear', decayStart: 0, decayEnd: 1 });
  assert.equal(scheduled.label, 'fine-tune, default schedule (linear 0→1)');
  assert.deepEqual(runs[8].schedule, { kind: 'linear', decayStart: 0, decayEnd: 0, totalEpochs: 4 });
  assert.equal(runs[8].label, 'fine-tune, no schedule');
});

test('plan: epochs 0 gives the one-shot rows only', () => {
  const runs = planRuns(checkCompareOptions({ ...base, patterns: ['2:4', '1:4'], methods: ['srste'], epochs: 0 }));
  assert.deepEqual(runs.map((r) => r.key), ['2:4 srste one-shot', '2:4 srste one-shot-bn', '1:4 srste one-shot', '1:4 srste one-shot-bn']);
});

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mean, sampleStd, seedStats } from '../../../src/core/compare/stats';

test('mean and sample std (n − 1) of given numbers', () => {
  assert.ok(Math.abs(mean([0.9, 0.92, 0.94]) - 0.92) < 1e-12);
  assert.ok(Math.abs(sampleStd([0.9, 0.92, 0.94]) - 0.02) < 1e-12);
  // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, sample variance 32/7.
  assert.equal(mean([2, 4, 4, 4, 5, 5, 7, 9]), 5);
  assert.ok(Math.abs(sampleStd([2, 4, 4, 4, 5, 5, 7, 9]) - Math.sqrt(32 / 7)) < 1e-12);
});

test('a single run has no spread; no runs have no statistics', () => {
  assert.deepEqual(seedStats([0.5]), { mean: 0.5, std: 0, n: 1, min: 0.5, max: 0.5 });
  assert.equal(seedStats([]), null);
  assert.throws(() => mean([]), RangeError);
  assert.throws(() => sampleStd([]), RangeError);
});

test('seedStats reports n, min and max', () => {
  const s = seedStats([0.97, 0.95, 0.96])!;
  assert.equal(s.n, 3);
  assert.equal(s.min, 0.95);
  assert.equal(s.max, 0.97);
  assert.ok(Math.abs(s.mean - 0.96) < 1e-12);
  assert.ok(Math.abs(s.std - 0.01) < 1e-12);
});

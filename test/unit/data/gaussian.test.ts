import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { gaussianFill } from '../../../src/core/data/gaussian';
import { mulberry32 } from '../../../src/core/data/random';

test('gaussianFill: seeded N(0, std²) samples', () => {
  const a = gaussianFill(100_001, 2, mulberry32(9));
  assert.equal(a.length, 100_001);
  assert.deepEqual(gaussianFill(100_001, 2, mulberry32(9)), a);
  let sum = 0;
  let sq = 0;
  let within1 = 0;
  for (const x of a) {
    assert.ok(Number.isFinite(x));
    sum += x;
    sq += x * x;
    if (Math.abs(x) < 2) within1++;
  }
  const mean = sum / a.length;
  const std = Math.sqrt(sq / a.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(std - 2) < 0.03, `std ${std}`);
  assert.ok(Math.abs(within1 / a.length - 0.6827) < 0.01, `share within one std ${within1 / a.length}`);
  // A generator that returns exactly 0 must not produce infinities.
  assert.ok(gaussianFill(4, 1, () => 0).every((x) => Number.isFinite(x)));
});

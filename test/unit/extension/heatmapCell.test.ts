import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeCell, softClass } from '../../../src/extension/heatmap/cellDetail';

test('soft class: 0 pruned, 1 kept, (1.5, 2] one term, above 2 both terms', () => {
  assert.equal(softClass(0), 'pruned');
  assert.equal(softClass(1), 'kept');
  assert.equal(softClass(1.73), 'kept+1 term');
  assert.equal(softClass(2), 'kept+1 term');
  assert.equal(softClass(2.6), 'kept+2 terms');
});

test('cell detail: weight, block index and the whole block of masks', () => {
  const dims = { O: 2, I: 8, Kh: 1, Kw: 2 };
  const n = 2 * 8 * 2;
  const weights = Float32Array.from({ length: n }, (_, k) => k / 10);
  const hard = Uint8Array.from({ length: n }, (_, k) => (k % 3 === 0 ? 1 : 0));
  const soft = Float32Array.from(hard, (h, k) => (h ? 1 + (k % 2) : 0));
  // Row 1, column 2·... : p = 1 (w = 1), i = 5 → block g = 1 covering channels 4..7.
  const cell = describeCell('conv', { dims, weights, hard, soft }, 4, 1, 8 + 5);
  const idx = (k: number) => (1 * 8 + k) * 2 + 1;
  assert.equal(cell.o, 1);
  assert.equal(cell.i, 5);
  assert.equal(cell.h, 0);
  assert.equal(cell.w, 1);
  assert.ok(Math.abs(cell.weight - idx(5) / 10) < 1e-6);
  assert.equal(cell.block, ((1 * 1 + 0) * 2 + 1) * 2 + 1);
  assert.equal(cell.blockFirstChannel, 4);
  assert.deepEqual(cell.blockHard, [4, 5, 6, 7].map((i) => hard[idx(i)]));
  assert.deepEqual(cell.blockSoft, [4, 5, 6, 7].map((i) => soft[idx(i)]));
  assert.equal(cell.hard, hard[idx(5)]);
  assert.throws(() => describeCell('conv', { dims, weights }, 4, 2, 0), /outside/);
});

test('cell detail: without a mask the block is one weight and mask fields are null', () => {
  const dims = { O: 1, I: 3, Kh: 1, Kw: 1 };
  const cell = describeCell('fc', { dims, weights: Float32Array.of(1, -2, 3) }, 4, 0, 1, 'I = 3 is not a multiple of 4');
  assert.equal(cell.block, null);
  assert.deepEqual(cell.blockWeights, [-2]);
  assert.equal(cell.blockHard, null);
  assert.equal(cell.softClass, null);
  assert.equal(cell.maskUnavailable, 'I = 3 is not a multiple of 4');
});

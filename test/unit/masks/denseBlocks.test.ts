import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { blockCount, blockL1, forceDenseBlocks, numDenseBlocks } from '../../../src/core/masks/denseBlocks';
import { hardNmMask } from '../../../src/core/masks/hardMask';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { canonicalWeight } from '../../../src/core/masks/canonicalWeight';
import { isMaxqError } from '../../../src/core/errors';
import { firstMismatch, naiveDense, naiveHard, randomWeight, WeightKind } from './helpers';

test('num_dense = floor(p · num_blocks) in doubles', () => {
  assert.equal(numDenseBlocks(0.5, 288), 144);
  assert.equal(numDenseBlocks(0.2962962962962964, 144), 42);
  assert.equal(numDenseBlocks(1, 72), 72);
  assert.equal(numDenseBlocks(0, 72), 0);
  // A product a hair above an integer floors to it (the spec's 192.00000000000003 example).
  const p = 192.00000000000003 / 576;
  assert.ok(p * 576 > 192);
  assert.equal(numDenseBlocks(p, 576), 192);
  for (const bad of [-0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => numDenseBlocks(bad, 10), (e: unknown) => isMaxqError(e) && e.kind === 'usage' && /dense fraction/.test(e.message));
  }
});

test('block index order is OHWI: b = ((o·Kh + h)·Kw + w)·(I/M) + g', () => {
  const w = randomWeight(3, 2, 8, 3, 3);
  const l1 = blockL1(w, NmPattern.parse('2:4'));
  assert.equal(l1.length, blockCount(w, NmPattern.parse('2:4')));
  assert.equal(l1.length, 2 * 9 * 2);
  const at = (o: number, i: number, h: number, x: number) => Math.abs(w.data[((o * 8 + i) * 3 + h) * 3 + x]);
  for (const [o, h, x, g] of [[0, 0, 0, 0], [1, 2, 1, 1], [0, 1, 2, 1]]) {
    let s = 0;
    for (let j = 0; j < 4; j++) s = Math.fround(s + at(o, g * 4 + j, h, x));
    assert.equal(l1[((o * 3 + h) * 3 + x) * 2 + g], s);
  }
});

test('the lowest-L1 blocks become dense; agrees with a naive sort for many shapes and p', () => {
  let seed = 40;
  const kinds: WeightKind[] = ['normal', 'quantized', 'sparse'];
  for (const [O, I, Kh, Kw, n, m] of [[4, 8, 3, 3, 2, 4], [8, 16, 1, 1, 1, 4], [3, 16, 1, 3, 2, 8], [5, 6, 1, 1, 1, 3]] as const) {
    for (const p of [0, 0.1, 0.2962962962962964, 0.5, 0.97, 1]) {
      for (const kind of kinds) {
        const w = randomWeight(seed++, O, I, Kh, Kw, kind);
        const pattern = new NmPattern(n, m);
        const hard = hardNmMask(w, pattern);
        const count = forceDenseBlocks(w, pattern, hard, p);
        const expected = naiveHard(w, n, m);
        const expectedCount = naiveDense(w, m, expected, p);
        assert.equal(count, expectedCount);
        assert.equal(firstMismatch(hard, expected), -1, `${kind} p=${p} [${O},${I},${Kh},${Kw}] ${n}:${m}`);
      }
    }
  }
});

test('ties in L1: the lower block index becomes dense first', () => {
  // 1 filter, I = 4, 1×3 kernel → 3 blocks (one per w position), all with the same L1.
  const w = canonicalWeight(Float32Array.from([1, 2, 3, 2, 3, 1, 3, 1, 2, 0, 0, 0].map((v) => v / 10)), 1, 4, 1, 3);
  const pattern = NmPattern.parse('1:4');
  for (const [p, dense] of [[1 / 3, [0]], [2 / 3, [0, 1]]] as const) {
    const hard = hardNmMask(w, pattern);
    assert.equal(forceDenseBlocks(w, pattern, hard, p), dense.length);
    for (let x = 0; x < 3; x++) {
      const block = [0, 1, 2, 3].map((i) => hard[i * 3 + x]);
      if ((dense as readonly number[]).includes(x)) assert.deepEqual(block, [1, 1, 1, 1], `block ${x} should be dense`);
      else assert.equal(block.reduce((a, b) => a + b, 0), 1, `block ${x} should stay 1:4`);
    }
  }
});

test('p = 0 leaves H alone, p = 1 makes everything dense', () => {
  const w = randomWeight(8, 4, 8, 3, 3);
  const pattern = NmPattern.parse('2:4');
  const hard = hardNmMask(w, pattern);
  const before = hard.slice();
  assert.equal(forceDenseBlocks(w, pattern, hard, 0), 0);
  assert.equal(firstMismatch(hard, before), -1);
  assert.equal(forceDenseBlocks(w, pattern, hard, 1), 72);
  assert.ok(hard.every((h) => h === 1));
});

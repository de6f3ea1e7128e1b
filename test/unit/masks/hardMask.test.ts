import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { hardNmMask } from '../../../src/core/masks/hardMask';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { canonicalWeight } from '../../../src/core/masks/canonicalWeight';
import { isMaxqError } from '../../../src/core/errors';
import { firstMismatch, naiveHard, randomWeight, WeightKind } from './helpers';

test('keeps the N largest |w| per block of M input channels', () => {
  // One filter, 8 input channels, 1×1: blocks [0..3], [4..7].
  const w = canonicalWeight(Float32Array.from([0.1, -0.4, 0.3, 0.2, -0.05, 0.01, 0.9, -0.8]), 1, 8);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('2:4'))], [0, 1, 1, 0, 0, 0, 1, 1]);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('1:4'))], [0, 1, 0, 0, 0, 0, 1, 0]);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('3:4'))], [0, 1, 1, 1, 1, 0, 1, 1]);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('1:2'))], [0, 1, 1, 0, 1, 0, 1, 0]);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('2:8'))], [0, 0, 0, 0, 0, 0, 1, 1]);
});

test('ties: the lower input-channel index wins (fast paths and generic path)', () => {
  const eq = Float32Array.from([0.5, -0.5, 0.5, -0.5, 0, -0, 0, 0]);
  const w = canonicalWeight(eq, 1, 8);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('2:4'))], [1, 1, 0, 0, 1, 1, 0, 0]);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('1:4'))], [1, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('3:4'))], [1, 1, 1, 0, 1, 1, 1, 0]);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('1:2'))], [1, 0, 1, 0, 1, 0, 1, 0]);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('3:8'))], [1, 1, 1, 0, 0, 0, 0, 0]);
  // A tie below the boundary does not matter; a tie across it goes to the lower index.
  const w2 = canonicalWeight(Float32Array.from([0.1, 0.3, 0.3, 0.9, 0.2, 0.2, 0.2, 0.2]), 1, 8);
  assert.deepEqual([...hardNmMask(w2, NmPattern.parse('2:4'))], [0, 1, 0, 1, 1, 1, 0, 0]);
  assert.deepEqual([...hardNmMask(w2, NmPattern.parse('5:8'))], [0, 1, 1, 1, 1, 1, 0, 0]);
});

test('blocks run along the input-channel axis at fixed (o, h, w) in OIHW memory', () => {
  // O=1, I=4, 1×2 kernel: block at w=0 is offsets 0,2,4,6; at w=1 offsets 1,3,5,7.
  const w = canonicalWeight(Float32Array.from([1, 0.1, 2, 0.2, 3, 0.3, 4, 0.4]), 1, 4, 1, 2);
  assert.deepEqual([...hardNmMask(w, NmPattern.parse('2:4'))], [0, 0, 0, 0, 1, 1, 1, 1]);
  const v = canonicalWeight(Float32Array.from([4, 0.4, 3, 0.1, 2, 0.3, 1, 0.2]), 1, 4, 1, 2);
  assert.deepEqual([...hardNmMask(v, NmPattern.parse('1:4'))], [1, 1, 0, 0, 0, 0, 0, 0]);
});

test('fast paths and the generic path agree with a naive sort on random weights', () => {
  const patterns: [number, number][] = [
    [1, 2], [1, 3], [2, 3], [1, 4], [2, 4], [3, 4], [1, 5], [2, 5], [4, 5], [1, 8], [2, 8], [4, 8], [7, 8], [1, 16], [8, 16], [15, 16], [3, 32],
  ];
  const shapes: [number, number, number][] = [[3, 1, 1], [2, 3, 3], [2, 1, 3], [1, 5, 5]];
  const kinds: WeightKind[] = ['normal', 'quantized', 'sparse'];
  let seed = 1;
  for (const [n, m] of patterns) {
    for (const [O, Kh, Kw] of shapes) {
      for (const kind of kinds) {
        const w = randomWeight(seed++, O, m * 3, Kh, Kw, kind);
        const fast = hardNmMask(w, new NmPattern(n, m));
        const naive = naiveHard(w, n, m);
        const at = firstMismatch(fast, naive);
        assert.equal(at, -1, `${n}:${m} ${kind} [${O},${m * 3},${Kh},${Kw}] differs at ${at}`);
      }
    }
  }
});

test('exactly N kept per block, including all-equal and all-zero blocks', () => {
  for (const [n, m] of [[2, 4], [1, 4], [3, 8], [5, 16], [1, 3]]) {
    for (const fill of [0, -0, 0.25]) {
      const w = canonicalWeight(new Float32Array(2 * m * 9).fill(fill), 2, m, 3, 3);
      const h = hardNmMask(w, new NmPattern(n, m));
      assert.equal(h.reduce((a, b) => a + b, 0), 2 * 9 * n);
      // Lowest channels win: channel j of each block is kept iff j < N.
      for (let i = 0; i < h.length; i++) assert.equal(h[i], Math.floor(i / 9) % m < n ? 1 : 0);
    }
  }
});

test('writes into a given buffer and rejects a wrong-sized one', () => {
  const w = randomWeight(7, 4, 8, 3, 3);
  const out = new Uint8Array(w.data.length).fill(9);
  const h = hardNmMask(w, NmPattern.parse('2:4'), out);
  assert.equal(h, out);
  assert.equal(firstMismatch(out, naiveHard(w, 2, 4)), -1);
  assert.throws(() => hardNmMask(w, NmPattern.parse('2:4'), new Uint8Array(3)), (e: unknown) => isMaxqError(e) && /buffer/.test(e.message));
});

test('rejects I % M ≠ 0 and non-finite weights as usage errors naming the layer', () => {
  const w = randomWeight(3, 2, 6);
  assert.throws(() => hardNmMask(w, NmPattern.parse('2:4'), undefined, 'conv7'), (e: unknown) => isMaxqError(e) && e.kind === 'usage' && /conv7.*6.*M=4/.test(e.message));
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    for (const [n, m] of [[2, 4], [1, 2], [2, 8]]) {
      const v = randomWeight(4, 2, 8, 3, 3);
      v.data[5 * 9 + 4] = bad; // o = 0, i = 5, h = 1, w = 1
      assert.throws(
        () => hardNmMask(v, new NmPattern(n, m), undefined, 'layer3.conv2'),
        (e: unknown) => isMaxqError(e) && e.kind === 'usage' && /layer3\.conv2/.test(e.message) && /\[0, 5, 1, 1\]/.test(e.message),
      );
    }
  }
  // The largest finite float is fine.
  const big = canonicalWeight(Float32Array.from([3.4028234663852886e38, -3.4028234663852886e38, 1, 2]), 1, 4);
  assert.deepEqual([...hardNmMask(big, NmPattern.parse('2:4'))], [1, 1, 0, 0]);
});

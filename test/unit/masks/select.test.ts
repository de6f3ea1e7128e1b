import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { quickselectFloat64, quickselectInt32 } from '../../../src/core/masks/select';
import { RankBoundary } from '../../../src/core/masks/rankBoundary';
import { rng } from './helpers';

test('quickselect (int32, float64) returns the k-th smallest and partitions around it', () => {
  const r = rng(11);
  for (const n of [1, 2, 3, 10, 100, 1000]) {
    for (const distinct of [3, 1000000]) {
      const base = Array.from({ length: n }, () => Math.floor(r() * distinct));
      const sorted = [...base].sort((a, b) => a - b);
      for (const k of [0, n >> 1, n - 1]) {
        const a = Int32Array.from(base);
        assert.equal(quickselectInt32(a, 0, n, k), sorted[k]);
        for (let i = 0; i < k; i++) assert.ok(a[i] <= a[k]);
        for (let i = k + 1; i < n; i++) assert.ok(a[i] >= a[k]);
        const f = Float64Array.from(base, (x) => x / 7);
        assert.equal(quickselectFloat64(f, 0, n, k), sorted[k] / 7);
      }
    }
  }
  // Sub-range only.
  const a = Int32Array.from([9, 9, 5, 4, 3, 9, 9]);
  assert.equal(quickselectInt32(a, 2, 5, 3), 4);
  assert.deepEqual([a[0], a[1], a[5], a[6]], [9, 9, 9, 9]);
  assert.throws(() => quickselectInt32(a, 2, 5, 5), RangeError);
});

test('quickselect survives adversarial orders (sorted, reversed, organ pipe, all equal)', () => {
  const n = 5000;
  const inputs = [
    Array.from({ length: n }, (_, i) => i),
    Array.from({ length: n }, (_, i) => n - i),
    Array.from({ length: n }, (_, i) => Math.min(i, n - i)),
    Array.from({ length: n }, () => 42),
  ];
  for (const base of inputs) {
    const sorted = [...base].sort((x, y) => x - y);
    for (const k of [0, 1, 2500, 4999]) assert.equal(quickselectInt32(Int32Array.from(base), 0, n, k), sorted[k]);
  }
});

/** Expected boundary by sorting. */
function expected(keys: number[], k: number) {
  const s = [...keys].sort((a, b) => a - b);
  return { vk: s[k - 1], vk1: s[k], countLE: s.filter((x) => x <= s[k - 1]).length };
}

const keyOf = (x: number) => new Int32Array(Float32Array.of(x).buffer)[0];

test('RankBoundary matches a sort: random rows, ties, signs, hints across rows of different scale', () => {
  const r = rng(5);
  const b = new RankBoundary();
  for (let row = 0; row < 250; row++) {
    const len = 2 + Math.floor(r() * (row % 7 === 0 ? 20000 : 600));
    const scale = Math.pow(10, -3 + 4 * r()); // rows of very different magnitude: hints must recover
    const mode = row % 4;
    const vals = Array.from({ length: len }, () => {
      const sign = r() < 0.5 ? -1 : 1;
      if (mode === 1) return sign * scale * Math.floor(r() * 4); // heavy ties incl. ±0
      if (mode === 2) return sign * scale; // all equal magnitude
      return sign * scale * r();
    });
    const raw = Int32Array.from(vals, keyOf); // raw bits incl. sign: find() masks them
    const mags = vals.map((v) => keyOf(Math.abs(v)));
    const ks = [1, len - 1, Math.max(1, Math.floor(len / 2)), Math.max(1, Math.floor(len * 0.75)), 1 + Math.floor(r() * (len - 1))];
    for (const k of ks) {
      if (row % 3 === 0) b.resetHint();
      b.find(raw, 0, len, k);
      const e = expected(mags, k);
      assert.deepEqual({ vk: b.vk, vk1: b.vk1, countLE: b.countLE }, e, `row ${row} len ${len} k ${k} mode ${mode}`);
    }
  }
});

test('RankBoundary on a sub-range, long rows (sampled bracket) with periodic structure', () => {
  const b = new RankBoundary();
  const len = 50000;
  const raw = new Int32Array(len + 20).fill(keyOf(1e30)); // outside the range: must be ignored
  for (let i = 0; i < len; i++) raw[10 + i] = keyOf(i % 9 === 4 ? 1 + (i % 97) : 0.001 * ((i * 7919) % 1000)); // strided big values
  const mags = Array.from(raw.subarray(10, 10 + len));
  for (const k of [1, 100, 25000, 44443, 44445, 49999]) {
    b.resetHint();
    b.find(raw, 10, len, k);
    assert.deepEqual({ vk: b.vk, vk1: b.vk1, countLE: b.countLE }, expected(mags, k), `k ${k}`);
  }
  assert.throws(() => b.find(raw, 0, 10, 10), RangeError);
  assert.throws(() => b.find(raw, 0, 10, 0), RangeError);
});

test('RankBoundary.guess/resolve: a collected bracket gives the same boundary as find, and a miss changes nothing', () => {
  const r = rng(11);
  const b = new RankBoundary();
  const ref = new RankBoundary();
  for (let row = 0; row < 120; row++) {
    const len = 8 + Math.floor(r() * (row % 5 === 0 ? 9000 : 700));
    const stride = 1 + (row % 3); // rows read with a stride, like the kernel-position axis
    const src = new Int32Array(len * stride);
    for (let j = 0; j < len; j++) src[j * stride] = keyOf((r() < 0.5 ? -1 : 1) * (row % 4 === 1 ? Math.floor(r() * 5) : r()) * 0.01 * (1 + (row % 7)));
    const mags = Array.from({ length: len }, (_, j) => src[j * stride] & 0x7fffffff);
    const k = 1 + Math.floor(r() * (len - 1));
    b.guess(len, k, src, 0, stride);
    assert.ok(b.lo <= b.hi);
    const buf = new Int32Array(len + 1);
    let nb = 0;
    let below = 0;
    for (const a of mags) {
      if (a < b.lo) below++;
      else if (a <= b.hi) buf[nb++] = a;
    }
    const e = expected(mags, k);
    if (b.resolve(buf, nb, below, b.lo, b.hi, k)) {
      assert.deepEqual({ vk: b.vk, vk1: b.vk1, countLE: b.countLE }, e, `row ${row}`);
    } else {
      // A miss: the bracket really lacks the k-th or the (k+1)-th value.
      assert.ok(below >= k || below + nb < k + 1, `row ${row}: resolve refused a good bracket`);
      const packed = Int32Array.from(mags);
      b.find(packed, 0, len, k);
      assert.deepEqual({ vk: b.vk, vk1: b.vk1, countLE: b.countLE }, e, `row ${row} (fallback)`);
    }
    ref.find(Int32Array.from(mags), 0, len, k);
    assert.deepEqual({ vk: ref.vk, vk1: ref.vk1, countLE: ref.countLE }, e);
  }
  // A bracket that misses on purpose.
  const keys = Int32Array.from([5, 1, 9, 7, 3].map((x) => keyOf(x)));
  const before = { vk: b.vk, vk1: b.vk1, countLE: b.countLE };
  assert.equal(b.resolve(keys.subarray(0, 0), 0, 5, keyOf(10), keyOf(11), 2), false);
  assert.deepEqual({ vk: b.vk, vk1: b.vk1, countLE: b.countLE }, before);
});

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { axisTerms, keptTerm, maxqMasks, softMask, topkDropped } from '../../../src/core/masks/softMask';
import { hardNmMask } from '../../../src/core/masks/hardMask';
import { forceDenseBlocks } from '../../../src/core/masks/denseBlocks';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { canonicalWeight, CanonicalWeight } from '../../../src/core/masks/canonicalWeight';
import { sigmoidNonNegative, SIGMOID_LAST, SIGMOID_STEPS } from '../../../src/core/masks/sigmoid';
import { MaskWorkspace } from '../../../src/core/masks/workspace';
import { firstMismatch, maxAbsDiff, naiveHard, naiveTerms, randomWeight, WeightKind } from './helpers';

const sigma = (z: number) => 1 / (1 + Math.exp(-z));

/** S composed from the terms exactly as specified: fround(fround(1 + F) + P) · H. */
function composed(hard: Uint8Array, f: Float32Array, p: Float32Array): Float32Array {
  return Float32Array.from(hard, (h, i) => Math.fround(Math.fround(1 + f[i]) + p[i]) * h);
}

test('sigmoid table: within 2e-8 of 1/(1+e^−z) everywhere on z ≥ 0', () => {
  let worst = 0;
  for (let z = 0; z < 30; z += 0.000731) worst = Math.max(worst, Math.abs(sigmoidNonNegative(z) - sigma(z)));
  for (let j = 0; j <= SIGMOID_LAST; j += 97) worst = Math.max(worst, Math.abs(sigmoidNonNegative(j / SIGMOID_STEPS) - sigma(j / SIGMOID_STEPS)));
  assert.ok(worst < 2e-8, `worst ${worst}`);
  assert.equal(sigmoidNonNegative(0), 0.5);
  assert.equal(Math.fround(sigmoidNonNegative(1e30)), 1);
  assert.equal(sigmoidNonNegative(-3), 0.5); // clamped, never garbage
  assert.equal(keptTerm(0.02, 0.02), 0.5);
  assert.ok(Math.abs(keptTerm(0.03, 0.02) - sigma(1)) < 1e-7);
});

test('k = max(1, floor(drop·L)) in doubles', () => {
  assert.equal(topkDropped(0.5, 576), 288);
  assert.equal(topkDropped(new NmPattern(1, 16).drop, 16), 15);
  // The double product can land just below an integer; the spec keeps the double form and clamps to 1.
  const drop = new NmPattern(48, 49).drop;
  assert.equal(Math.floor(drop * 49), 0);
  assert.equal(topkDropped(drop, 49), 1);
  assert.equal(topkDropped(new NmPattern(2, 3).drop, 3), Math.max(1, Math.floor((1 / 3) * 3)));
});

test('terms and soft mask match a naive sort + Math.exp implementation on random weights', () => {
  const shapes: [number, number, number, number][] = [[4, 8, 3, 3], [6, 16, 1, 1], [3, 12, 1, 3], [2, 8, 5, 5], [5, 24, 3, 3]];
  const patterns: [number, number][] = [[2, 4], [1, 4], [3, 4], [1, 2], [2, 8], [1, 3], [3, 8]];
  const kinds: WeightKind[] = ['normal', 'uniform', 'quantized', 'sparse'];
  let seed = 100;
  for (const [O, I, Kh, Kw] of shapes) {
    for (const [n, m] of patterns) {
      if (I % m !== 0) continue;
      for (const kind of kinds) {
        const w = randomWeight(seed++, O, I, Kh, Kw, kind, kind === 'normal' ? 0.03 : 0.1);
        const pattern = new NmPattern(n, m);
        const t = axisTerms(w, pattern);
        const ref = naiveTerms(w, n, m);
        const label = `${n}:${m} ${kind} [${O},${I},${Kh},${Kw}]`;
        assert.equal(t.filterTopk, ref.kF, label);
        assert.equal(t.positionTopk, ref.kP, label);
        assert.ok(maxAbsDiff(t.filter, ref.filter) < 1e-7, `${label}: F off by ${maxAbsDiff(t.filter, ref.filter)}`);
        assert.ok(maxAbsDiff(t.position, ref.position) < 1e-7, `${label}: P off by ${maxAbsDiff(t.position, ref.position)}`);
        // Dropped exactly where the naive ranking drops.
        for (let i = 0; i < w.data.length; i++) {
          assert.equal(t.filter[i] === 0, ref.filter[i] === 0, `${label}: F drop set differs at ${i}`);
          assert.equal(t.position[i] === 0, ref.position[i] === 0, `${label}: P drop set differs at ${i}`);
        }
        const hard = hardNmMask(w, pattern);
        const s = softMask(w, pattern, hard).soft;
        const naiveS = Float64Array.from(hard, (h, i) => h * (1 + ref.filter[i] + ref.position[i]));
        assert.ok(maxAbsDiff(s, naiveS) < 5e-7, `${label}: S off by ${maxAbsDiff(s, naiveS)}`);
        // The fused path equals the composition of the terms bit for bit.
        assert.equal(firstMismatch(s, composed(hard, t.filter, t.position)), -1, `${label}: fused S != composed terms`);
      }
    }
  }
});

test('soft-term ties: on equal |w| the higher flat index is dropped first; thr is the midpoint', () => {
  // One filter row of 8 (1×1, 2:4 → k = 4). Magnitudes: 0.1 ×3, 0.5 ×3 (indices 1, 4, 6), 0.9 ×2.
  const w = canonicalWeight(Float32Array.from([0.1, 0.5, -0.1, 0.9, -0.5, 0.1, 0.5, -0.9]), 1, 8);
  const t = axisTerms(w, NmPattern.parse('2:4'));
  // Sorted ascending with higher index first on ties: 0.1@5, 0.1@2, 0.1@0, 0.5@6 | 0.5@4, 0.5@1, 0.9@7, 0.9@3.
  const dropped = [...t.filter].map((v, i) => (v === 0 ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(dropped, [0, 2, 5, 6]);
  // thr = (0.5 + 0.5) / 2 → kept 0.5s get σ(0) = 0.5; the 0.9s get σ(40) ≈ 1.
  assert.equal(t.filter[1], 0.5);
  assert.equal(t.filter[4], 0.5);
  assert.equal(t.filter[3], 1);
  // The fused soft mask resolves the same ties.
  const hard = new Uint8Array(8).fill(1);
  const s = softMask(w, NmPattern.parse('2:4'), hard).soft;
  assert.deepEqual([...s], [1, 1.5, 1, 2, 1.5, 1, 1, 2]);
});

test('position-axis ties and rows tied on both axes agree with the naive ranking', () => {
  // Quantized magnitudes make ties at almost every boundary; check many shapes, including the scalar path.
  let seed = 900;
  for (const [O, I, Kh, Kw] of [[4, 8, 3, 3], [8, 4, 3, 3], [2, 16, 2, 2], [3, 4, 1, 5]] as const) {
    for (let rep = 0; rep < 5; rep++) {
      const w = randomWeight(seed++, O, I, Kh, Kw, 'quantized', 0.2);
      const ref = naiveTerms(w, 2, 4);
      const t = axisTerms(w, NmPattern.parse('2:4'));
      assert.ok(maxAbsDiff(t.filter, ref.filter) < 1e-7);
      assert.ok(maxAbsDiff(t.position, ref.position) < 1e-7);
      const hard = naiveHard(w, 2, 4);
      const s = softMask(w, NmPattern.parse('2:4'), hard).soft;
      assert.equal(firstMismatch(s, composed(hard, t.filter, t.position)), -1);
    }
  }
});

test('ranges: S = 0 exactly where H = 0; kept terms in [0.5, 1]; S ∈ {1} ∪ [1.5, 3]', () => {
  const w = randomWeight(31, 16, 32, 3, 3, 'normal', 0.04);
  const pattern = NmPattern.parse('2:4');
  const hard = hardNmMask(w, pattern);
  forceDenseBlocks(w, pattern, hard, 0.3);
  const s = softMask(w, pattern, hard).soft;
  const t = axisTerms(w, pattern);
  for (let i = 0; i < s.length; i++) {
    assert.equal(s[i] === 0, hard[i] === 0);
    for (const v of [t.filter[i], t.position[i]]) assert.ok(v === 0 || (v >= 0.5 && v <= 1));
    if (hard[i]) assert.ok(s[i] === 1 || (s[i] >= 1.5 && s[i] <= 3), `S[${i}] = ${s[i]}`);
  }
  // Each axis keeps density N/M per row: filter rows keep L − k weights.
  for (let o = 0; o < 16; o++) {
    let kept = 0;
    for (let i = o * 288; i < (o + 1) * 288; i++) kept += t.filter[i] > 0 ? 1 : 0;
    assert.equal(kept, 288 - t.filterTopk);
  }
});

test('workspaces are reusable across layers of different shapes and give identical results', () => {
  const ws = new MaskWorkspace();
  const layers: CanonicalWeight[] = [randomWeight(1, 8, 64, 3, 3), randomWeight(2, 32, 16), randomWeight(3, 4, 8, 3, 3), randomWeight(4, 64, 128)];
  const pattern = NmPattern.parse('2:4');
  for (const w of layers) {
    const hard = hardNmMask(w, pattern);
    const a = softMask(w, pattern, hard, undefined, ws).soft;
    const b = softMask(w, pattern, hard, undefined, new MaskWorkspace()).soft;
    assert.equal(firstMismatch(a, b), -1);
    const out = new Float32Array(w.data.length);
    assert.equal(softMask(w, pattern, hard, out, ws).soft, out);
    assert.equal(firstMismatch(out, a), -1);
  }
  ws.release();
  const w = layers[0];
  assert.throws(() => softMask(w, pattern, new Uint8Array(2)), /hard mask/);
  assert.throws(() => softMask(w, pattern, hardNmMask(w, pattern), new Float32Array(2)), /soft mask buffer/);
});

test('maxqMasks (H and S in one pass) equals hardNmMask + softMask, ties and all', () => {
  let seed = 3000;
  const kinds: WeightKind[] = ['normal', 'quantized', 'sparse', 'uniform'];
  for (const [O, I, Kh, Kw] of [[4, 8, 3, 3], [6, 16, 1, 1], [3, 12, 1, 3], [2, 8, 5, 5], [16, 64, 3, 3], [32, 128, 1, 1]] as const) {
    for (const [n, m] of [[2, 4], [1, 4], [3, 4], [2, 8], [1, 2]] as const) {
      if (I % m !== 0) continue;
      for (const kind of kinds) {
        const w = randomWeight(seed++, O, I, Kh, Kw, kind);
        const pattern = new NmPattern(n, m);
        const both = maxqMasks(w, pattern);
        const hard = hardNmMask(w, pattern);
        const label = `${n}:${m} ${kind} [${O},${I},${Kh},${Kw}]`;
        assert.equal(firstMismatch(both.hard, hard), -1, `${label}: H differs`);
        assert.equal(firstMismatch(both.soft, softMask(w, pattern, hard).soft), -1, `${label}: S differs`);
      }
    }
  }
});

test('maxqMasks rejects non-finite weights naming the layer, whichever row kernel sees them', () => {
  for (const [O, I, Kh, Kw] of [[4, 8, 3, 3], [4, 8, 1, 1]] as const) {
    for (const kind of ['normal', 'quantized'] as WeightKind[]) {
      const w = randomWeight(77, O, I, Kh, Kw, kind);
      w.data[w.data.length - 1] = Number.NEGATIVE_INFINITY;
      assert.throws(() => maxqMasks(w, NmPattern.parse('2:4'), undefined, undefined, undefined, 'blk'), /layer 'blk' has a non-finite value/);
    }
  }
});

test('a tie at one kernel position boundary: only the rows holding the tied magnitude take the scalar path, and S is exact', () => {
  // Real weights rarely tie within a filter row, but a position row of a 512×512 layer holds 262k weights, so a
  // tie across its boundary happens. Plant one (the smallest kept weight of positions 4 and 0 given the largest
  // dropped magnitude) in otherwise distinct weights, and compare with the per-axis terms composed as specified.
  const pattern = NmPattern.parse('2:4');
  for (const seed of [11, 12, 13]) {
    const w = randomWeight(seed, 16, 32, 3, 3, 'normal', 0.05);
    const KK = 9;
    const L = w.O * w.I;
    const k = topkDropped(pattern.drop, L);
    for (const p of [4, 0]) {
      const idx = Array.from({ length: L }, (_, j) => Math.floor(j / w.I) * w.I * KK + (j % w.I) * KK + p);
      // Dropped first: smaller |w|, and on equal |w| the higher flat index.
      idx.sort((a, b) => Math.abs(w.data[a]) - Math.abs(w.data[b]) || b - a);
      const dropped = idx[k - 1], kept = idx[k];
      w.data[kept] = Math.sign(w.data[kept]) * Math.abs(w.data[dropped]);
    }
    const t = axisTerms(w, pattern);
    const ref = naiveTerms(w, 2, 4);
    assert.ok(maxAbsDiff(t.position, ref.position) < 1e-7, 'the reference terms agree');
    const hard = hardNmMask(w, pattern);
    const want = composed(hard, t.filter, t.position);
    assert.equal(firstMismatch(softMask(w, pattern, hard).soft, want), -1, `seed ${seed}: softMask`);
    const both = maxqMasks(w, pattern);
    assert.equal(firstMismatch(both.hard, hard), -1);
    assert.equal(firstMismatch(both.soft, want), -1, `seed ${seed}: maxqMasks`);
  }
});

test('weights of bf16 precision (a tie at nearly every boundary): S equals the per-axis terms composed as specified', () => {
  // bf16 keeps 8 significant bits, so a filter row of 1152 weights holds the boundary magnitude several times.
  const pattern = NmPattern.parse('2:4');
  for (const [O, I, Kh, Kw] of [[32, 128, 3, 3], [64, 256, 1, 1]] as const) {
    const w = randomWeight(70 + O, O, I, Kh, Kw, 'normal', 0.05);
    const bits = new Uint32Array(w.data.buffer, w.data.byteOffset, w.data.length);
    for (let i = 0; i < bits.length; i++) bits[i] &= 0xffff0000;
    const t = axisTerms(w, pattern);
    const hard = hardNmMask(w, pattern);
    const label = `[${O},${I},${Kh},${Kw}]`;
    assert.equal(firstMismatch(maxqMasks(w, pattern).soft, composed(hard, t.filter, t.position)), -1, `${label}: maxqMasks`);
    // With dense blocks (mid-schedule) H is given and has more kept weights.
    const withDense = hardNmMask(w, pattern);
    forceDenseBlocks(w, pattern, withDense, 0.4);
    assert.equal(firstMismatch(softMask(w, pattern, withDense).soft, composed(withDense, t.filter, t.position)), -1, `${label}: softMask, p = 0.4`);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stageGradient } from '../../../src/core/training/trainStep';
import { guardStep, guardWithNorms, sumSquares } from '../../../src/core/training/stepGuard';
import { addSrsteDecay, SRSTE_LAMBDA } from '../../../src/core/masks/srsteDecay';

function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 4294967296) * 2 - 1) * scale;
  });
}

for (const n of [0, 1, 2, 7, 1000]) {
  test(`stageGradient (n = ${n}): the copy plus SR-STE decay bit for bit, and the guard's sums`, () => {
    const g = rand(n, 1, 1e-2);
    const w = rand(n, 2);
    const hard = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
    for (const h of [hard, null]) {
      const expected = Float32Array.from(g);
      if (h) addSrsteDecay(expected, w, h, SRSTE_LAMBDA);
      const grad = new Float32Array(n).fill(NaN);
      const s = stageGradient(grad, g, w, h, SRSTE_LAMBDA);
      assert.deepEqual(grad, expected);
      const g2 = expected.reduce((a, v) => a + v * v, 0);
      const w2 = w.reduce((a, v) => a + v * v, 0);
      assert.ok(Math.abs(s.g2 - g2) <= 1e-12 * Math.max(1, g2), `g2 ${s.g2} vs ${g2}`);
      assert.ok(Math.abs(s.w2 - w2) <= 1e-12 * Math.max(1, w2), `w2 ${s.w2} vs ${w2}`);
      assert.ok(Math.abs(sumSquares(expected) - g2) <= 1e-12 * Math.max(1, g2));
    }
  });
}

test('stageGradient refuses mismatched lengths', () => {
  assert.throws(() => stageGradient(new Float32Array(3), new Float32Array(3), new Float32Array(2), null, SRSTE_LAMBDA));
});

test('guardWithNorms decides and scales as guardStep does', () => {
  for (const scale of [1e-3, 1e3]) {
    const mk = () => [
      { name: 'a', data: rand(50, 3), grad: rand(50, 4, scale), decay: true },
      { name: 'b', data: rand(9, 5), grad: rand(9, 6, scale), decay: false },
    ];
    const p1 = mk();
    const p2 = mk();
    const r1 = guardStep(p1, 0.1);
    let g2 = 0, w2 = 0;
    for (const p of p2) {
      g2 += sumSquares(p.grad);
      w2 += sumSquares(p.data);
    }
    const r2 = guardWithNorms(p2, 0.1, g2, w2);
    assert.equal(r1, r2);
    assert.equal(r1, scale > 1 ? 'clipped' : 'ok');
    p1.forEach((p, i) => assert.deepEqual(p.grad, p2[i].grad));
  }
  const bad = [{ name: 'a', data: rand(4, 1), grad: Float32Array.from([1, NaN, 0, 0]), decay: true }];
  assert.equal(guardStep(bad, 0.1), 'non-finite');
});

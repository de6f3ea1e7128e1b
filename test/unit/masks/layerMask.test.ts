import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { computeLayerMask } from '../../../src/core/masks/layerMask';
import { hardNmMask } from '../../../src/core/masks/hardMask';
import { forceDenseBlocks } from '../../../src/core/masks/denseBlocks';
import { softMask } from '../../../src/core/masks/softMask';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { isMaxqError } from '../../../src/core/errors';
import { MaskMethod } from '../../../src/core/types';
import { firstMismatch, randomWeight } from './helpers';

const pattern = NmPattern.parse('2:4');

test('maxq: hard after the schedule and S = H ⊙ ((1 + F) + P)', () => {
  const w = randomWeight(1, 8, 16, 3, 3);
  const m = computeLayerMask(w, pattern, 'maxq', 0.25);
  const hard = hardNmMask(w, pattern);
  const dense = forceDenseBlocks(w, pattern, hard, 0.25);
  assert.equal(m.numBlocks, 8 * 9 * 4);
  assert.equal(m.numDenseBlocks, dense);
  assert.equal(m.numDenseBlocks, Math.floor(0.25 * 288));
  assert.equal(firstMismatch(m.hard, hard), -1);
  assert.equal(firstMismatch(m.soft, softMask(w, pattern, hard).soft), -1);
  assert.equal(m.filterTopk, 72);
  assert.equal(m.positionTopk, 64);
});

test('magnitude and srste: soft = hard as 0/1 floats; no position axis for 1×1', () => {
  const w = randomWeight(2, 16, 32);
  for (const method of ['magnitude', 'srste'] as MaskMethod[]) {
    const m = computeLayerMask(w, pattern, method, 0.5);
    assert.equal(m.positionTopk, null);
    assert.equal(m.filterTopk, 16);
    assert.equal(m.numDenseBlocks, 64);
    for (let i = 0; i < m.hard.length; i++) assert.equal(m.soft[i], m.hard[i]);
  }
  const p0 = computeLayerMask(w, pattern, 'magnitude');
  assert.equal(p0.numDenseBlocks, 0);
  assert.equal(p0.hard.reduce((a, b) => a + b, 0), w.data.length / 2);
});

test('reuses output buffers when given', () => {
  const w = randomWeight(3, 4, 8, 3, 3);
  const hardOut = new Uint8Array(w.data.length);
  const softOut = new Float32Array(w.data.length);
  for (const method of ['maxq', 'magnitude'] as MaskMethod[]) {
    const m = computeLayerMask(w, pattern, method, 0, 'l', { hardOut, softOut });
    assert.equal(m.hard, hardOut);
    assert.equal(m.soft, softOut);
  }
  assert.throws(() => computeLayerMask(w, pattern, 'magnitude', 0, 'l', { softOut: new Float32Array(1) }), /soft mask buffer/);
});

test('usage errors: non-finite weights name the layer, I % M ≠ 0, bad shape, bad p, unknown method', () => {
  const w = randomWeight(4, 4, 8, 3, 3);
  w.data[100] = Number.NaN;
  const usage = (re: RegExp) => (e: unknown) => isMaxqError(e) && e.kind === 'usage' && re.test(e.message);
  assert.throws(() => computeLayerMask(w, pattern, 'maxq', 0, 'layer2.0.conv1'), usage(/layer2\.0\.conv1.*non-finite/));
  assert.throws(() => computeLayerMask(w, pattern, 'maxq'), usage(/weight has a non-finite value/));
  assert.throws(() => computeLayerMask(randomWeight(5, 4, 6), pattern, 'maxq', 0, 'fc'), usage(/fc.*input channels 6.*M=4/));
  assert.throws(() => computeLayerMask({ ...randomWeight(6, 4, 8), O: 5 }, pattern, 'maxq', 0, 'x'), usage(/x.*needs 40/));
  assert.throws(() => computeLayerMask(randomWeight(7, 4, 8), pattern, 'maxq', 1.5), usage(/dense fraction/));
  assert.throws(() => computeLayerMask(randomWeight(7, 4, 8), pattern, 'prune' as MaskMethod), usage(/unknown mask method/));
});

test('the final export mask (p = 0) folds to a valid N:M weight', () => {
  const w = randomWeight(9, 8, 32, 3, 3);
  const m = computeLayerMask(w, NmPattern.parse('1:8'), 'maxq');
  for (let c = 0; c < (8 * 32) / 8; c++) {
    for (let p = 0; p < 9; p++) {
      let nz = 0;
      for (let j = 0; j < 8; j++) nz += w.data[(c * 8 + j) * 9 + p] * m.soft[(c * 8 + j) * 9 + p] !== 0 ? 1 : 0;
      assert.ok(nz <= 1);
    }
  }
});

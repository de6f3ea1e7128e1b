/**
 * The reference vectors (spec §10): regenerate every input with the spec's LCG, check it bit for bit against the
 * stored weights, then compare every output of the product code with the authors' values at the spec's
 * tolerances.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { computeLayerMask } from '../../../src/core/masks/layerMask';
import { axisTerms } from '../../../src/core/masks/softMask';
import { foldWeights } from '../../../src/core/masks/fold';
import { DenseFractionSchedule } from '../../../src/core/masks/denseFractionSchedule';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { toCanonical } from '../../../src/core/masks/layout';
import { ScheduleKind } from '../../../src/core/types';
import { firstMismatch, lcgWeights, loadVectors, maxAbsDiff } from './helpers';

const vectors = loadVectors();

test('LCG check value: seed 1, scale 0.1 → −0.05270889401435852', () => {
  assert.equal(lcgWeights(1, 0.1, 1)[0], -0.05270889401435852);
});

test('the file has the 7 developer cases', () => {
  assert.equal(vectors.cases.length, 7);
});

for (const c of vectors.cases) {
  test(`reference vector ${c.name}`, () => {
    const numel = c.shape.reduce((a, b) => a * b, 1);
    const regenerated = lcgWeights(c.seed, c.scale, numel);
    assert.equal(c.weight.length, numel);
    for (let i = 0; i < numel; i++) {
      // Bit equality: the JSON doubles are the exact float32 values.
      assert.ok(Object.is(regenerated[i], c.weight[i]), `weight[${i}]: generated ${regenerated[i]}, file ${c.weight[i]}`);
    }

    // Linear layers are stored [out, in] in the vectors, which is already canonical (no transpose).
    const [O, I, Kh, Kw] = c.shape.length === 4 ? c.shape : [c.shape[0], c.shape[1], 1, 1];
    const data = toCanonical(regenerated, c.shape, false);
    const w = { data, O, I, Kh, Kw };
    const pattern = new NmPattern(c.N, c.M);
    const s = c.schedule;
    const schedule = new DenseFractionSchedule({ kind: s.type as ScheduleKind, decayStart: s.decay_start, decayEnd: s.decay_end, totalEpochs: s.total_epochs });
    const p = schedule.at(s.cur_epoch);
    assert.ok(Math.abs(p - s.dense_fraction) <= 1e-12, `dense fraction ${p} vs ${s.dense_fraction}`);

    const mask = computeLayerMask(w, pattern, 'maxq', p, c.name);
    assert.equal(mask.numBlocks, c.num_blocks);
    assert.equal(mask.numDenseBlocks, c.num_dense_blocks);
    assert.equal(mask.filterTopk, c.filter_topk_dropped_per_row);
    assert.equal(mask.positionTopk, c.position_topk_dropped_per_row);
    assert.equal(firstMismatch(mask.hard, c.hard_mask), -1, 'hard mask differs');

    const terms = axisTerms(w, pattern);
    assert.equal(terms.filterTopk, c.filter_topk_dropped_per_row);
    assert.equal(terms.positionTopk, c.position_topk_dropped_per_row);
    assert.ok(maxAbsDiff(terms.filter, c.filter_term) <= 1e-5, `filter term off by ${maxAbsDiff(terms.filter, c.filter_term)}`);
    assert.ok(maxAbsDiff(terms.position, c.position_term) <= 1e-5, `position term off by ${maxAbsDiff(terms.position, c.position_term)}`);
    assert.ok(maxAbsDiff(mask.soft, c.soft_mask) <= 1e-5, `soft mask off by ${maxAbsDiff(mask.soft, c.soft_mask)}`);

    const folded = foldWeights(w, mask.soft);
    assert.ok(maxAbsDiff(folded, c.folded_weight) <= 1e-6, `folded weight off by ${maxAbsDiff(folded, c.folded_weight)}`);

    // Exactly zero where the reference prunes, and the soft mask is 0 exactly where H is 0 (spec §5 ranges).
    for (let i = 0; i < numel; i++) {
      assert.equal(mask.soft[i] === 0, c.hard_mask[i] === 0, `soft/hard disagree at ${i}`);
      if (c.folded_weight[i] === 0) assert.ok(folded[i] === 0, `folded[${i}] = ${folded[i]} should be ±0`);
    }
  });
}

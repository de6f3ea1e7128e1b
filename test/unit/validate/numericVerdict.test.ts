/** The numeric check judges: each verdict at its thresholds, the worst output decides, non-finite is blown up. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { judgeNumericCheck, VERDICT_THRESHOLDS } from '../../../src/core/validate/numericVerdict';
import { NumericOutputCheck } from '../../../src/core/types';

const base: NumericOutputCheck = { name: 'logits', maxAbsDiff: 0, cosine: 1, top1Agreement: 1, scaleRatio: 1, referenceRange: 10, finite: true };
const kind = (o: Partial<NumericOutputCheck>) => judgeNumericCheck({ outputs: [{ ...base, ...o }] }).kind;

describe('numeric verdict', () => {
  it('same function up to float noise; small drift beyond it', () => {
    assert.equal(kind({ maxAbsDiff: 1e-4 * 10 }), 'same-function');
    assert.equal(kind({ maxAbsDiff: 2e-3, cosine: 0.999 }), 'small-drift');
  });

  it('changed predictions: top-1 agreement or cosine under their thresholds', () => {
    assert.equal(kind({ maxAbsDiff: 1, top1Agreement: VERDICT_THRESHOLDS.top1Agreement - 0.01 }), 'changed-predictions');
    assert.equal(kind({ maxAbsDiff: 1, top1Agreement: null, cosine: 0.85 }), 'changed-predictions');
    assert.equal(kind({ maxAbsDiff: 1, top1Agreement: 0.9, cosine: 0.9 }), 'small-drift');
  });

  it('blown up: scale ratio outside [1/10, 10], max |Δ| over 10× the dense range, or non-finite outputs', () => {
    assert.equal(kind({ maxAbsDiff: 1, scaleRatio: 11 }), 'blown-up');
    assert.equal(kind({ maxAbsDiff: 1, scaleRatio: 0.09 }), 'blown-up');
    assert.equal(kind({ maxAbsDiff: 101, scaleRatio: 2 }), 'blown-up');
    assert.equal(kind({ maxAbsDiff: Infinity, finite: false }), 'blown-up');
    const v = judgeNumericCheck({ outputs: [{ ...base, maxAbsDiff: 3.2e13, scaleRatio: 1.1e12, cosine: 0.55, top1Agreement: 0 }] });
    assert.match(v.message, /^blown up: the outputs are no longer on the dense model's scale \(output 'logits': max \|Δ\| 3\.20e\+13 \(dense range 1\.00e\+1\), scale ×1\.10e\+12/);
    assert.deepEqual(v.thresholds, { ...VERDICT_THRESHOLDS });
  });

  it('a dense output that is not finite itself: nothing to compare against, a failed check that says the reference is broken', () => {
    // A NaN bias in the dense model (a corrupt file): the sparse model is NaN too, and it is not the sparsification's doing.
    const both = judgeNumericCheck({ outputs: [{ ...base, maxAbsDiff: Infinity, finite: false, referenceFinite: false }] });
    assert.equal(both.kind, 'blown-up');
    assert.match(both.message, /^blown up: the dense model's own output 'logits' is not finite on these inputs, so there is nothing to compare against \(the sparse model's is not finite either\): the dense model is broken/);
    assert.doesNotMatch(both.message, /Sparsify with data/);
    // Finite sparse outputs against a broken reference fail too: the ratios against NaN mean nothing.
    assert.equal(kind({ maxAbsDiff: 1e-6, referenceFinite: false }), 'blown-up');
    // Records written before referenceFinite existed judge as they did.
    assert.equal(kind({ maxAbsDiff: 1e-6 }), 'same-function');
  });

  it('differences at float-noise level are the same function, whatever the ratios of near-zero outputs say', () => {
    assert.equal(kind({ maxAbsDiff: 1.2e-7, referenceRange: 3.4e-9, scaleRatio: 36, cosine: 0.6, top1Agreement: 0.28 }), 'same-function');
    assert.equal(kind({ maxAbsDiff: 1.1e-5, referenceRange: 2.3e-7, scaleRatio: 84 }), 'same-function');
    assert.match(judgeNumericCheck({ outputs: [{ ...base, maxAbsDiff: 1.1e-5, referenceRange: 2.3e-7, scaleRatio: 84 }] }).message, /the dense outputs span only 2\.3e-7, too little to tell functions apart/);
    assert.equal(kind({ maxAbsDiff: 2e-3, referenceRange: 3.4e-9, scaleRatio: 36 }), 'blown-up');
  });

  it('the worst output decides', () => {
    const v = judgeNumericCheck({ outputs: [{ ...base, name: 'a', maxAbsDiff: 0.01 }, { ...base, name: 'b', maxAbsDiff: 1, cosine: 0.5 }, { ...base, name: 'c' }] });
    assert.equal(v.kind, 'changed-predictions');
    assert.match(v.message, /output 'b'/);
  });
});

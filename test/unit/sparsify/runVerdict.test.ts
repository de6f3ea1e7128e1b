/**
 * The numeric verdict as a run reports it: the verdict's own advice, except after a labelled fine-tune that
 * scores clearly above the dense model, where the drift is what the training did and the message says so.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { judgeNumericCheck } from '../../../src/core/validate/numericVerdict';
import { verdictForRun, LEARNED_MARGIN, RunScores } from '../../../src/core/sparsify/runVerdict';
import { NumericOutputCheck } from '../../../src/core/types';

function output(scaleRatio: number, cosine: number, top1: number): NumericOutputCheck {
  return { name: 'logits', maxAbsDiff: 8.4, referenceRange: 1.5, scaleRatio, cosine, top1Agreement: top1, finite: true };
}

const blownUp = judgeNumericCheck({ outputs: [output(14.3, 0.06, 0)] });
const fine = { epochs: 1, metric: 'accuracy' as const };
/** The warning sparsify logs for a blown-up or changed-predictions verdict. */
const warning = (run: RunScores) => `numeric check: ${verdictForRun(blownUp, run).message}`;

test('a blown-up model after a one-shot run or a fine-tune that did not beat the dense model: the verdict and its advice', () => {
  assert.equal(blownUp.kind, 'blown-up');
  for (const run of [{ ...fine, epochs: 0, denseAccuracy: 0.5, finalAccuracy: 0.9 }, { ...fine, denseAccuracy: 0.9, finalAccuracy: 0.9 + LEARNED_MARGIN / 2 }, { ...fine, denseAccuracy: null, finalAccuracy: 0.9 }]) {
    const w = warning(run);
    assert.equal(w, `numeric check: ${blownUp.message}`);
    assert.match(w, /Sparsify with data so BN-free layers are normalised/);
  }
});

test('after a labelled fine-tune clearly above the dense model the warning names the scores and drops the advice that does not apply', () => {
  const w = warning({ ...fine, denseAccuracy: 0, finalAccuracy: 0.2157 });
  assert.match(w, /^numeric check: blown up: the outputs are no longer on the dense model's scale \(output 'logits'/);
  assert.match(w, /scores 21\.57 % against the dense model's 0\.00 %/);
  assert.doesNotMatch(w, /Sparsify with data/);
  // The run's summary carries the same words (the CLI's last lines and the extension's end-of-run notice show it).
  const v = verdictForRun(blownUp, { ...fine, denseAccuracy: 0, finalAccuracy: 0.2157 });
  assert.equal(v.kind, 'blown-up');
  assert.equal(`numeric check: ${v.message}`, w);
  // Distillation measures agreement with the dense model: no such excuse there.
  assert.equal(warning({ ...fine, metric: 'agreement', denseAccuracy: 0, finalAccuracy: 0.5 }), `numeric check: ${blownUp.message}`);
});

test('small drift or the same function: the verdict as it is (sparsify warns only for the two above)', () => {
  const drift = judgeNumericCheck({ outputs: [{ ...output(0.95, 0.99, 0.99), maxAbsDiff: 0.3 }] });
  assert.equal(drift.kind, 'small-drift');
  assert.equal(verdictForRun(drift, { ...fine, denseAccuracy: 0, finalAccuracy: 0.9 }), drift);
});

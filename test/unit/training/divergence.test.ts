/** A non-finite loss gets the advice that fits: a scale blow-up is not fixed by a lower learning rate. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { divergenceMessage, EXTREME_WEIGHT, extremeWeight, maxAbs } from '../../../src/core/training/divergence';

const at = { epoch: 0, step: 5, lr: 0.01, loss: NaN };

describe('divergence advice', () => {
  it('logits that grew by orders of magnitude: a scale blow-up, naming the layers left unnormalised', () => {
    const m = divergenceMessage({ ...at, firstLogitScale: 3, lastLogitScale: 7e29, unnormalised: ['a.weight', 'b.weight'] });
    assert.equal(m, 'the loss became NaN at epoch 1, step 6: the output scale blew up (max |logit| 3.00 at the first step, 7.00e+29 before it diverged). 2 sparsified layers have no BatchNorm and were not normalised for the run (a.weight, b.weight); normalising BN-free layers keeps the scale: run with data and without --no-run-norm; a lower --lr only delays this');
  });

  it('logits on their scale until the step that diverged: the learning rate', () => {
    const m = divergenceMessage({ ...at, firstLogitScale: 3, lastLogitScale: 9, unnormalised: [] });
    assert.equal(m, 'the loss became NaN at epoch 1, step 6 while the outputs kept their scale (max |logit| 3.00 at the first step, 9.00 before it diverged): the learning rate 0.0100 is too high for this model; lower --lr (e.g. 0.0010)');
  });

  it('a loss already non-finite at the first step (no finite step to compare): neither blow-up nor learning rate', () => {
    // A corrupt file: one flipped exponent bit made a weight -1.57e35 (found by mutating the demo model).
    const m = divergenceMessage({ ...at, step: 0, firstLogitScale: -1, lastLogitScale: 0, unnormalised: [], extreme: { name: 'head.conv.weight', maxAbs: 1.57e35 } });
    assert.equal(m, "the loss became NaN at epoch 1, step 1, the first step of this run, before it updated any weight: the model with its masks does not compute a finite loss on this batch, so the learning rate is not the cause. 'head.conv.weight' started the run with a weight of magnitude 1.57e+35: the model file may be corrupt, or the model diverged before it was exported.");
    assert.doesNotMatch(m, /-1\.00|lower --lr/);
    const n = divergenceMessage({ ...at, step: 0, firstLogitScale: -1, lastLogitScale: 0, unnormalised: ['a.weight'] });
    assert.match(n, /1 sparsified layer has no BatchNorm and no normalisation for the run/);
  });

  it('names an extreme starting weight in the other advice too', () => {
    const m = divergenceMessage({ ...at, firstLogitScale: 3, lastLogitScale: 9, unnormalised: [], extreme: { name: 'fc.bias', maxAbs: Infinity } });
    assert.match(m, /lower --lr \(e\.g\. 0\.0010\)\. 'fc\.bias' started the run with a weight that is not finite: the model file may be corrupt/);
  });

  it('extremeWeight: the largest |w| at or above the limit, a non-finite one first; null for ordinary weights', () => {
    const p = (name: string, ...v: number[]) => ({ name, data: Float32Array.from(v) });
    assert.equal(extremeWeight([p('a', 1, -300), p('b', 0.5)]), null);
    assert.deepEqual(extremeWeight([p('a', 1, -EXTREME_WEIGHT), p('b', 2 ** 100), p('c', 3)]), { name: 'b', maxAbs: 2 ** 100 });
    assert.deepEqual(extremeWeight([p('a', 2 ** 100), p('b', 1, NaN)]), { name: 'b', maxAbs: Infinity });
  });

  it('maxAbs is Infinity as soon as a value is not finite', () => {
    assert.equal(maxAbs(Float32Array.of(1, -4, 2)), 4);
    assert.equal(maxAbs(Float32Array.of(1, NaN, 2)), Infinity);
    assert.equal(maxAbs(Float32Array.of(1, -Infinity)), Infinity);
  });
});

/** A non-finite loss gets the advice that fits: a scale blow-up is not fixed by a lower learning rate. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { divergenceMessage, maxAbs } from '../../../src/core/training/divergence';

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

  it('maxAbs is Infinity as soon as a value is not finite', () => {
    assert.equal(maxAbs(Float32Array.of(1, -4, 2)), 4);
    assert.equal(maxAbs(Float32Array.of(1, NaN, 2)), Infinity);
    assert.equal(maxAbs(Float32Array.of(1, -Infinity)), Infinity);
  });
});

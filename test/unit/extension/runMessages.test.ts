/** Run errors shown for a run started from the sparsify form say what to choose in the form, not CLI flags. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { noPreprocessingError } from '../../../src/core/data/open';
import { inFormTerms } from '../../../src/extension/sparsify/runMessages';
import { defaultFormValues, toSparsifyOptions } from '../../../src/extension/sparsify/formValues';

test('the data sanity stop names the preset to choose under Preprocessing and the form tick that overrides it', () => {
  const engine = 'dense accuracy 43.8 % under raw values on /d/x.npy; 99.2 % under MNIST mean/std (--normalize mnist); 61.0 % under [0, 1] (x ÷ 255) (--normalize unit) — the model expects other preprocessing (checked on 256 samples; --no-sanity-check to run anyway)';
  const ui = inFormTerms(engine);
  assert.equal(ui, 'dense accuracy 43.8 % under raw values on /d/x.npy; 99.2 % under MNIST mean/std (choose it under Preprocessing); 61.0 % under [0, 1] (x ÷ 255) (choose it under Preprocessing) — the model expects other preprocessing (checked on 256 samples; untick “Check the data first” in the form to run anyway)');
  assert.doesNotMatch(ui, /--/);
  const unlabelled = inFormTerms('data sanity check: the dense model is unsure on /d/x.npy under raw values (mean normalised entropy 0.91 on 256 samples, above 0.8); the dense model is most confident under ImageNet mean/std (entropy 0.20, --normalize imagenet); check the preprocessing');
  assert.match(unlabelled, /ImageNet mean\/std \(entropy 0\.20; choose it under Preprocessing\); check the preprocessing$/);
});

test('8-bit data without a preprocessing choice: choose one in the form', () => {
  const ui = inFormTerms(noPreprocessingError('/d/x.npy', 'the inputs (uint8)').message);
  assert.equal(ui, '/d/x.npy: the inputs (uint8) hold 8-bit values and no preprocessing was chosen; choose one under Preprocessing in the form (“none” keeps the raw values)');
});

test('the form’s “Check the data first” tick maps to the run’s sanityCheck option', () => {
  const v = defaultFormValues({ pattern: '2:4', method: 'maxq', epochs: 1, batchSize: 64, output: '/m/out.onnx', inputs: [] });
  assert.equal(v.sanityCheck, true);
  assert.equal(toSparsifyOptions(v, '/m/model.onnx', { threads: 0, overwrite: false }).sanityCheck, undefined);
  assert.equal(toSparsifyOptions({ ...v, sanityCheck: false }, '/m/model.onnx', { threads: 0, overwrite: false }).sanityCheck, false);
});

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { NumericCheck, RunSummary } from '../../../src/core/types';
import { isBadVerdict, runEndNotice } from '../../../src/extension/sparsify/runEndNotice';

function numeric(kind: NumericCheck['verdict']['kind'], message: string): NumericCheck {
  return { reference: '/m/net.onnx', inputsFrom: '64 samples of MNIST demo', samples: 64, outputs: [], verdict: { kind, message, thresholds: {} } };
}

const base: RunSummary = {
  output: '/m/net.maxq-2of4.onnx', pattern: '2:4', method: 'maxq', epochs: 0, sparsifiedLayers: 4, denseAccuracy: 0.99, finalAccuracy: 0.98,
  metric: 'accuracy', validationPass: true, seconds: 3.2,
};

test('end of a run: the normalisation line in the notification and the Output channel', () => {
  const n = runEndNotice({
    ...base,
    normalisation: { normalised: ['a', 'b', 'c', 'd'], followedByBn: 0, skipped: [], message: '4 of 4 sparsified layers had no BatchNorm: 4 normalised for the run, folded back' },
    numeric: numeric('small-drift', 'small drift: output \'y\': max |Δ| 1e-3'),
  });
  assert.equal(n.level, 'info');
  assert.equal(n.text, 'MaxQ: wrote net.maxq-2of4.onnx (2:4 maxq, accuracy 98.00%). 4 of 4 sparsified layers had no BatchNorm: 4 normalised for the run, folded back.');
  assert.deepEqual(n.log.map((l) => l.level), ['info', 'info']);
  assert.match(n.log[0].text, /^Run normalisation: 4 of 4 sparsified layers/);
  assert.match(n.log[1].text, /^Numeric check against \/m\/net\.onnx \(64 samples of 64 samples of MNIST demo\): small drift/);
});

test('end of a run: a warning when the written model blew up or changed its predictions', () => {
  for (const kind of ['blown-up', 'changed-predictions'] as const) {
    const s = { ...base, numeric: numeric(kind, `${kind}: the outputs are no longer on the dense model's scale`) };
    assert.equal(isBadVerdict(s), true);
    const n = runEndNotice(s);
    assert.equal(n.level, 'warning', kind);
    assert.match(n.text, new RegExp(`Numeric check: ${kind}: the outputs`));
    assert.equal(n.log.find((l) => l.text.startsWith('Numeric check'))?.level, 'warn');
  }
  const plain = runEndNotice({ ...base, finalAccuracy: null, validationPass: false });
  assert.deepEqual([plain.level, plain.text, plain.log], ['info', 'MaxQ: wrote net.maxq-2of4.onnx (2:4 maxq) — pattern check FAILED.', []]);
  assert.equal(isBadVerdict({ numeric: numeric('same-function', 'same function') }), false);
  const notNormalised = runEndNotice({ ...base, metric: 'agreement', normalisation: { normalised: [], followedByBn: 1, skipped: [{ layer: 'a', reason: 'no data to measure its statistics' }], message: '1 of 2 sparsified layers had no BatchNorm: 1 could be normalised for the run with data' } });
  assert.match(notNormalised.text, /agreement 98\.00%/);
  assert.equal(notNormalised.log[0].level, 'warn');
});

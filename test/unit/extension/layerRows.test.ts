import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { LayerInfo } from '../../../src/core/types';
import { inspectorRows, layerChecks } from '../../../src/extension/inspector/layerRows';
import { policyRows } from '../../../src/extension/sparsify/policyRows';

const conv: LayerInfo = {
  name: 'conv1.weight', nodeName: 'Conv_0', op: 'Conv', storageShape: [16, 3, 3, 3], canonicalShape: [16, 3, 3, 3], storageTransposed: false,
  via: [], dtype: 'float', params: 432, group: 1, eligible: false, reason: 'input channels 3 not a multiple of 4', selected: false,
};
const fc: LayerInfo = { ...conv, name: 'fc.weight', nodeName: 'Gemm_0', op: 'Gemm', storageShape: [10, 64], canonicalShape: [10, 64, 1, 1], eligible: true, selected: true, params: 640, reason: undefined };

test('inspector rows carry the heatmap grid of each layer', () => {
  const rows = inspectorRows([conv, fc]);
  assert.deepEqual(rows[0].grid, { rows: 16, cols: 27, inputChannels: 3, kh: 3, kw: 3 });
  assert.deepEqual(rows[1].grid, { rows: 10, cols: 64, inputChannels: 64, kh: 1, kw: 1 });
  assert.equal(rows[1].index, 1);
  assert.equal('reason' in rows[1], false);
});

test('checks and policy rows keep what the tables show', () => {
  const checks = layerChecks({
    file: 'm.onnx', pattern: '2:4', pass: false,
    layers: [
      { name: 'conv1.weight', op: 'Conv', status: 'skipped', reason: 'not eligible' },
      { name: 'fc.weight', op: 'Gemm', status: 'fail', n: 2, m: 4, totalGroups: 160, violatingGroups: 3, detected: null, zeroFraction: 0.1 },
    ],
  });
  assert.deepEqual(checks['fc.weight'], { status: 'fail', zeroFraction: 0.1, detected: null, violatingGroups: 3, totalGroups: 160 });
  assert.equal(checks['conv1.weight'].reason, 'not eligible');
  assert.deepEqual(policyRows([conv]).map((r) => [r.name, r.eligible, r.reason]), [['conv1.weight', false, 'input channels 3 not a multiple of 4']]);
});

/** The model's `maxq.preprocessing` metadata fills in npy/image data given without a normalisation. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { resolvePreprocessing } from '../../../src/core/sparsify/modelPreprocessing';
import { DataSpec } from '../../../src/core/sparsify/options';

const npy: DataSpec = { kind: 'npy', inputs: 'x.npy' };
const images: DataSpec = { kind: 'images', dir: 'imgs' };
const mnist = { 'maxq.preprocessing': '1/255,0.1307,0.3081' };

test('no normalisation given: the metadata is used, and an info note says so', () => {
  for (const data of [npy, images]) {
    const r = resolvePreprocessing(data, mnist);
    assert.deepEqual(r.data, { ...data, normalize: '1/255,0.1307,0.3081' });
    assert.equal(r.from, 'model metadata');
    assert.deepEqual(r.notes, [{ level: 'info', message: "preprocessing from the model's metadata: 1/255,0.1307,0.3081 (MNIST mean/std)" }]);
  }
  // A value that is no preset is named as it is.
  const custom = resolvePreprocessing(npy, { 'maxq.preprocessing': '1/255,0.5,0.25' });
  assert.equal(custom.notes[0].message, "preprocessing from the model's metadata: 1/255,0.5,0.25");
});

test('an explicit normalisation wins; a warning only when it differs from the metadata', () => {
  const same = resolvePreprocessing({ ...npy, normalize: 'mnist' }, mnist);
  assert.deepEqual(same, { data: { ...npy, normalize: 'mnist' }, from: 'option', notes: [] });
  const other = resolvePreprocessing({ ...npy, normalize: 'unit' }, mnist);
  assert.equal(other.data?.kind === 'npy' && other.data.normalize, 'unit');
  assert.equal(other.from, 'option');
  assert.equal(other.notes.length, 1);
  assert.equal(other.notes[0].level, 'warn');
  assert.match(other.notes[0].message, /^preprocessing 1\/255,0,1 \(\[0,1\]\) as given, but the model's metadata records 1\/255,0\.1307,0\.3081 \(MNIST mean\/std\) \(maxq\.preprocessing\); using the one given$/);
});

test('no metadata, the MNIST demo, no data, a broken value: nothing filled in', () => {
  assert.deepEqual(resolvePreprocessing(npy, {}), { data: npy, notes: [] });
  assert.deepEqual(resolvePreprocessing({ kind: 'mnist-demo' }, mnist), { data: { kind: 'mnist-demo' }, notes: [] });
  assert.deepEqual(resolvePreprocessing(undefined, mnist), { data: undefined, notes: [] });
  assert.deepEqual(resolvePreprocessing({ kind: 'none' }, mnist), { data: { kind: 'none' }, notes: [] });
  const broken = resolvePreprocessing(npy, { 'maxq.preprocessing': 'nonsense' });
  assert.deepEqual(broken.data, npy);
  assert.equal(broken.from, undefined);
  assert.deepEqual(broken.notes.map((n) => n.level), ['warn']);
  assert.match(broken.notes[0].message, /'nonsense' is not a valid preprocessing; ignored/);
});

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { defaultDecayEnd, defaultFormValues, formProblems, looksLikeMnist, toSparsifyOptions } from '../../../src/extension/sparsify/formValues';
import { suggestOutputPath } from '../../../src/extension/sparsify/outputName';

const mnistInputs = [{ name: 'x', shape: ['N', 1, 28, 28] as (number | string)[], dtype: 'float' }];
const imagenetInputs = [{ name: 'x', shape: [1, 3, 224, 224] as (number | string)[], dtype: 'float' }];

/** The form's defaults with the bundled demo picked (as a user must do explicitly), then `over`. */
function values(over: Partial<ReturnType<typeof defaultFormValues>> = {}) {
  return { ...defaultFormValues({ pattern: '2:4', method: 'maxq', epochs: 10, batchSize: 64, output: '/m/net.maxq-2of4.onnx', inputs: mnistInputs }), dataKind: 'mnist-demo' as const, ...over };
}

test('output name: the default template puts <name>.maxq-NofM.onnx beside the input', () => {
  assert.equal(suggestOutputPath('/models/resnet.onnx', '2:4', 'maxq', '${name}.maxq-${n}of${m}.onnx'), path.join('/models', 'resnet.maxq-2of4.onnx'));
  assert.equal(suggestOutputPath('/models/a.ONNX', ' 1 : 8 ', 'srste', '${name}-${method}-${n}-${m}.onnx'), path.join('/models', 'a-srste-1-8.onnx'));
});

test('defaults: every model starts on the user\'s own NumPy arrays (the MNIST demo only when picked); decay window = the core default', () => {
  assert.equal(looksLikeMnist(mnistInputs), true);
  assert.equal(looksLikeMnist([{ name: 'x', shape: [1, 784], dtype: 'float' }]), true);
  assert.equal(looksLikeMnist(imagenetInputs), false);
  const mnistDefaults = defaultFormValues({ pattern: '2:4', method: 'maxq', epochs: 3, batchSize: 8, output: 'o.onnx', inputs: mnistInputs });
  assert.equal(mnistDefaults.dataKind, 'npy', 'an MNIST-shaped model does not silently train on the demo digits');
  assert.equal(mnistDefaults.npyInputs, '');
  assert.match(formProblems(mnistDefaults, '/m/net.onnx').join(' '), /training inputs/, 'a fine-tune asks for the data');
  assert.equal(defaultFormValues({ pattern: '2:4', method: 'maxq', epochs: 3, batchSize: 8, output: 'o.onnx', inputs: imagenetInputs }).dataKind, 'npy');
  for (const e of [0, 1, 2, 3, 10, 120]) {
    const t = defaultDecayEnd(e);
    assert.ok(t >= 0 && (e === 0 || t < e), `epochs ${e}: end ${t}`);
  }
  assert.deepEqual([4, 8, 10, 120].map(defaultDecayEnd), [1, 2, 3, 30]);
  assert.deepEqual(formProblems(values(), '/m/net.onnx'), []);
});

test('problems: each bad field gets one sentence', () => {
  const p = (over: Parameters<typeof values>[0]) => formProblems(values(over), '/m/net.onnx').join(' ');
  assert.match(p({ pattern: '4:4' }), /N must be at least 1 and smaller than M/);
  assert.match(p({ pattern: 'two:four' }), /not N:M/);
  assert.match(p({ epochs: 2.5 }), /Epochs/);
  assert.match(p({ batchSize: 0 }), /Batch size/);
  assert.match(p({ lr: -1 }), /Learning rate/);
  assert.match(p({ decayStart: 3, decayEnd: 2 }), /Decay window/);
  assert.match(p({ decayEnd: 10 }), /Decay window/);
  assert.match(p({ dataKind: 'npy' }), /\.npy/);
  assert.match(p({ dataKind: 'images' }), /image folder/);
  assert.match(p({ output: '' }), /output file/);
  assert.match(p({ output: '/m/out.bin' }), /\.onnx/);
  assert.match(p({ output: '/m/net.onnx' }), /must not replace/);
  assert.equal(p({ epochs: 0, decayEnd: 99 }), '', 'one-shot runs have no decay window');
});

test('options: form values become the core SparsifyOptions', () => {
  const o = toSparsifyOptions(values({ dataKind: 'npy', npyInputs: ' /d/x.npy ', npyLabels: '', preprocess: 'mnist', lr: 0.01, optimizer: 'adamw', include: ['fc.weight'], exclude: [] }), '/m/net.onnx', { threads: 4, overwrite: true });
  assert.deepEqual(o, {
    model: '/m/net.onnx',
    out: '/m/net.maxq-2of4.onnx',
    pattern: '2:4',
    method: 'maxq',
    epochs: 10,
    batchSize: 64,
    lr: 0.01,
    optimizer: 'adamw',
    schedule: 'linear',
    decayStart: 0,
    decayEnd: 3,
    include: ['fc.weight'],
    data: { kind: 'npy', inputs: '/d/x.npy', normalize: '1/255,0.1307,0.3081' },
    valFraction: 0.1,
    bnRecalibrate: true,
    normalise: true,
    threads: 4,
    overwrite: true,
  });
  assert.deepEqual(toSparsifyOptions(values({ dataKind: 'distil', npyInputs: '/d/x.npy', npyLabels: '/d/y.npy', preprocess: 'none' }), '/m/net.onnx', { threads: 0, overwrite: false }).data, { kind: 'npy', inputs: '/d/x.npy', normalize: '1,0,1' });
  assert.match(formProblems(values({ dataKind: 'distil', npyInputs: '' }), '/m/net.onnx').join(' '), /training inputs/);
  assert.deepEqual(toSparsifyOptions(values({ dataKind: 'images', imagesDir: '/imgs', preprocess: 'imagenet' }), '/m/net.onnx', { threads: 0, overwrite: false }).data, { kind: 'images', dir: '/imgs', normalize: '1/255,0.485:0.456:0.406,0.229:0.224:0.225' });
  const plain = toSparsifyOptions(values(), '/m/net.onnx', { threads: 0, overwrite: false });
  assert.equal('lr' in plain || 'optimizer' in plain || 'threads' in plain || 'overwrite' in plain, false);
});

test('run normalisation: on by default, the checkbox maps to SparsifyOptions.normalise', () => {
  assert.equal(values().normalise, true);
  const opts = (over: Parameters<typeof values>[0]) => toSparsifyOptions(values(over), '/m/net.onnx', { threads: 0, overwrite: false });
  assert.equal(opts({}).normalise, true);
  assert.equal(opts({ normalise: false }).normalise, false);
  assert.equal(opts({ normalise: false, bnRecalibrate: false }).bnRecalibrate, false, 'independent of BN re-estimation');
  // Form state saved before the option existed has no `normalise`: the core's default.
  const old = values() as Partial<ReturnType<typeof values>>;
  delete old.normalise;
  assert.equal(toSparsifyOptions(old as ReturnType<typeof values>, '/m/net.onnx', { threads: 0, overwrite: false }).normalise, true);
});

test('data: a one-shot run with an empty data path runs without data; a filled-in choice is data', () => {
  const data = (over: Parameters<typeof values>[0]) => toSparsifyOptions(values(over), '/m/net.onnx', { threads: 0, overwrite: false }).data;
  assert.deepEqual(data({ epochs: 0, dataKind: 'npy', npyInputs: ' ' }), { kind: 'none' });
  assert.deepEqual(data({ epochs: 0, dataKind: 'images', imagesDir: '' }), { kind: 'none' });
  assert.equal(formProblems(values({ epochs: 0, dataKind: 'npy', npyInputs: '' }), '/m/net.onnx').length, 0, 'data is optional for one-shot');
  assert.deepEqual(data({ epochs: 0, dataKind: 'npy', npyInputs: '/d/x.npy', preprocess: 'unit' }), { kind: 'npy', inputs: '/d/x.npy', normalize: '1/255,0,1' });
  assert.deepEqual(data({ epochs: 0 }), { kind: 'mnist-demo' });
});

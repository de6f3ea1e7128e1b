/** The sparsify form's preprocessing, validation-data and Browse… choices, and the small texts around them. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import * as coreNormalize from '../../../src/core/data/normalize';
import { MNIST_NORMALIZATION } from '../../../src/core/data/mnist-demo';
import { browseStart, defaultDecayEnd, defaultFormValues, formProblems, toSparsifyOptions, validationText } from '../../../src/extension/sparsify/formValues';
import type { SparsifyFormValues } from '../../../src/protocol/messages';
import {
  completeFormValues, customFieldsOf, customPreprocessProblems, describeInputs, describeNormalize, epochsText, inputChannels, MNIST_DEMO_NORMALIZE,
  normalizeOf, PREPROCESS_CHOICES, PREPROCESS_PRESETS, scheduleOffNote,
} from '../../../src/protocol/preprocessing';

const mnistInputs = [{ name: 'input', shape: ['N', 1, 28, 28] as (number | string)[], dtype: 'float' }];
const MODEL = '/ws/models/net.onnx';

/** The user's own labelled .npy data, fine-tuning 10 epochs, MNIST mean/std unless `over` says otherwise. */
function values(over: Partial<SparsifyFormValues> = {}): SparsifyFormValues {
  const d = defaultFormValues({ pattern: '2:4', method: 'maxq', epochs: 10, batchSize: 64, output: '/ws/models/net.maxq-2of4.onnx', inputs: mnistInputs });
  return { ...d, npyInputs: '/d/x.npy', npyLabels: '/d/y.npy', preprocess: 'mnist', ...over };
}
const opts = (over: Partial<SparsifyFormValues> = {}) => toSparsifyOptions(values(over), MODEL, { threads: 0, overwrite: false });
const problems = (over: Partial<SparsifyFormValues> = {}, channels?: number) => formProblems(values(over), MODEL, channels).join(' ');

test('preprocessing presets: each maps to its exact SCALE,MEAN,STD string, which the core parses', () => {
  const expected: Record<string, string> = {
    none: '1,0,1',
    unit: '1/255,0,1',
    symmetric: '2/255,1,1',
    imagenet: '1/255,0.485:0.456:0.406,0.229:0.224:0.225',
    mnist: '1/255,0.1307,0.3081',
  };
  for (const [preset, normalize] of Object.entries(expected)) {
    const o = opts({ preprocess: preset as SparsifyFormValues['preprocess'] });
    assert.deepEqual(o.data, { kind: 'npy', inputs: '/d/x.npy', labels: '/d/y.npy', normalize }, preset);
    assert.doesNotThrow(() => coreNormalize.parseNormalization(normalize));
    assert.deepEqual(opts({ dataKind: 'images', imagesDir: '/imgs', preprocess: preset as SparsifyFormValues['preprocess'] }).data, { kind: 'images', dir: '/imgs', normalize }, `${preset} (images)`);
  }
  // [−1, 1] really is x / 127.5 − 1.
  const sym = coreNormalize.parseNormalization(expected.symmetric);
  const { mul, add } = coreNormalize.channelAffine(sym, 1);
  assert.ok(Math.abs(mul[0] * 0 + add[0] + 1) < 1e-12 && Math.abs(mul[0] * 255 + add[0] - 1) < 1e-12);
  assert.deepEqual(PREPROCESS_CHOICES.map((c) => c.value), ['unset', 'none', 'unit', 'symmetric', 'imagenet', 'mnist', 'custom']);
});

test('preprocessing presets: the form\'s list is the core\'s (names and strings)', (t) => {
  const core = (coreNormalize as Record<string, unknown>).PREPROCESSING_PRESETS as { name: string; normalize: string }[] | undefined;
  if (!core) {
    t.skip('the core has no PREPROCESSING_PRESETS table');
    return;
  }
  assert.deepEqual(PREPROCESS_PRESETS.map((p) => [p.name, p.normalize]), core.map((p) => [p.name, p.normalize]));
});

test('preprocessing: nothing chosen is a problem for the user\'s data, never for the MNIST demo (fixed) or a one-shot without data', () => {
  assert.match(problems({ preprocess: 'unset' }), /Choose how the inputs are preprocessed/);
  assert.match(problems({ preprocess: 'unset', dataKind: 'images', imagesDir: '/imgs' }), /preprocessed/);
  assert.equal(problems({ preprocess: 'unset', dataKind: 'mnist-demo' }), '');
  assert.equal(problems({ preprocess: 'unset', epochs: 0, npyInputs: '' }), '');
  assert.equal(opts({ preprocess: 'unset', dataKind: 'mnist-demo' }).data?.kind, 'mnist-demo');
  assert.deepEqual(opts({ preprocess: 'imagenet', dataKind: 'mnist-demo' }).data, { kind: 'mnist-demo' }, 'the demo keeps its own preprocessing');
  // What the form shows for the demo is the core's MNIST_NORMALIZATION.
  assert.deepEqual(coreNormalize.parseNormalization(MNIST_DEMO_NORMALIZE), MNIST_NORMALIZATION);
  assert.equal(describeNormalize(MNIST_DEMO_NORMALIZE), 'x · 1/255, then (x − 0.1307) ÷ 0.3081');
  assert.equal(describeNormalize('1,0,1'), 'values as stored');
  assert.equal(describeNormalize('1/255,0,1'), 'x · 1/255');
});

test('custom preprocessing: scale, mean and std fields (per-channel a:b:c) become one checked string', () => {
  const custom = (customScale: string, customMean: string, customStd: string) => ({ preprocess: 'custom' as const, customScale, customMean, customStd });
  assert.equal(opts(custom(' 1/255 ', '0.5 : 0.4:0.3', '0.25')).data?.kind === 'npy' && (opts(custom(' 1/255 ', '0.5 : 0.4:0.3', '0.25')).data as { normalize?: string }).normalize, '1/255,0.5:0.4:0.3,0.25');
  assert.equal(normalizeOf(custom('2', '0', '1')), '2,0,1');
  assert.doesNotThrow(() => coreNormalize.parseNormalization(normalizeOf(custom(' 1/255 ', '0.5 : 0.4:0.3', '0.25'))!));
  assert.equal(problems(custom('1/255', '0.1307', '0.3081')), '');
  assert.equal(problems(custom('1/255', '0.485:0.456:0.406', '0.229:0.224:0.225'), 3), '');
  assert.match(problems(custom('abc', '0', '1')), /Preprocessing scale/);
  assert.match(problems(custom('0', '0', '1')), /Preprocessing scale/);
  assert.match(problems(custom('1/0', '0', '1')), /Preprocessing scale/);
  assert.match(problems(custom('1', '', '1')), /Preprocessing mean/);
  assert.match(problems(custom('1', '0.1:x', '1')), /Preprocessing mean/);
  assert.match(problems(custom('1', '0', '0')), /Preprocessing std: Each std must be positive/);
  assert.match(problems(custom('1', '0', '1:-1')), /Preprocessing std/);
  assert.match(problems(custom('1', '0.1:0.2', '1'), 3), /2 values, but the model’s input has 3 channels/);
  assert.match(problems(custom('1', '0.1:0.2:0.3', '1'), 1), /3 values, but the model’s input has 1 channel \(give 1 or 1\)/);
  assert.equal(problems(custom('1', '0.1:0.2:0.3', '1')), '', 'channel count unknown: the core checks it when the data opens');
  assert.deepEqual(customPreprocessProblems({ customScale: '1', customMean: '0', customStd: '1' }), {});
  // A bad custom value in a field the run does not use (MNIST demo, another preset) does not block it.
  assert.equal(problems({ ...custom('x', 'y', 'z'), dataKind: 'mnist-demo' }), '');
  assert.equal(problems({ customScale: 'x', preprocess: 'unit' }), '');
  // Switching to custom starts from the chosen preset's values.
  assert.deepEqual(customFieldsOf('imagenet'), { customScale: '1/255', customMean: '0.485:0.456:0.406', customStd: '0.229:0.224:0.225' });
  assert.equal(inputChannels(mnistInputs), 1);
  assert.equal(inputChannels([{ name: 'x', shape: ['N', 3, 'H', 'W'], dtype: 'float' }]), 3);
  assert.equal(inputChannels([{ name: 'x', shape: ['N', 'C', 'H', 'W'], dtype: 'float' }]), undefined);
});

test('validation data: hold out N % (default 10, shown) as SparsifyOptions.valFraction', () => {
  assert.equal(values().valKind, 'holdout');
  assert.equal(values().valPercent, 10);
  assert.equal(opts().valFraction, 0.1);
  assert.equal(opts({ valPercent: 25 }).valFraction, 0.25);
  assert.equal(opts({ valPercent: 12.5 }).valFraction, 0.125);
  assert.equal(opts({ valPercent: 0 }).valFraction, 0, '0: nothing held out, said explicitly');
  assert.equal('valFraction' in opts({ epochs: 0, decayEnd: 0 }), false, 'one-shot runs hold nothing out');
  assert.equal('valFraction' in opts({ dataKind: 'mnist-demo' }), false, 'the demo has its fixed test split');
  assert.equal('valFraction' in opts({ valKind: 'separate', valInputs: '/d/vx.npy', valLabels: '/d/vy.npy' }), false);
  for (const bad of [NaN, -1, 95, null as unknown as number]) assert.match(problems({ valPercent: bad }), /hold-out share must be a number from 0 to 90/, String(bad));
  assert.equal(problems({ valPercent: NaN, epochs: 0, decayEnd: 0 }), '', 'not used by a one-shot run');
  assert.equal(validationText(values()), 'hold out 10 % of the training data');
  assert.equal(validationText(values({ dataKind: 'mnist-demo' })), 'the demo’s fixed 2,000-digit test split');
});

test('validation data: separate .npy inputs (+ labels) or image folder map to DataSpec valInputs/valLabels/valDir', () => {
  const sep = { valKind: 'separate' as const };
  assert.deepEqual(opts({ ...sep, valInputs: ' /d/vx.npy ', valLabels: '/d/vy.npy' }).data, { kind: 'npy', inputs: '/d/x.npy', labels: '/d/y.npy', valInputs: '/d/vx.npy', valLabels: '/d/vy.npy', normalize: '1/255,0.1307,0.3081' });
  assert.match(problems({ ...sep, valLabels: '/d/vy.npy' }), /validation inputs/);
  assert.match(problems({ ...sep, valInputs: '/d/vx.npy' }), /validation labels/, 'labelled training data needs labelled validation data (the core insists)');
  assert.match(problems({ ...sep, valInputs: '/d/x.npy', valLabels: '/d/y.npy' }), /must not be the training inputs/);
  // Unlabelled (npy without labels, distil): validation inputs alone; distil ignores the labels fields.
  assert.equal(problems({ ...sep, npyLabels: '', valInputs: '/d/vx.npy' }), '');
  assert.deepEqual(opts({ ...sep, dataKind: 'distil', valInputs: '/d/vx.npy', valLabels: '/d/vy.npy' }).data, { kind: 'npy', inputs: '/d/x.npy', valInputs: '/d/vx.npy', normalize: '1/255,0.1307,0.3081' });
  // Images.
  const img = { ...sep, dataKind: 'images' as const, imagesDir: '/imgs/train' };
  assert.deepEqual(opts({ ...img, valDir: '/imgs/val' }).data, { kind: 'images', dir: '/imgs/train', valDir: '/imgs/val', normalize: '1/255,0.1307,0.3081' });
  assert.match(problems(img), /validation image folder/);
  assert.match(problems({ ...img, valDir: '/imgs/train' }), /must not be the training folder/);
  // Hold-out leaves the separate paths out of the run, whatever they hold.
  assert.deepEqual(opts({ valInputs: '/d/vx.npy', valLabels: '/d/vy.npy' }).data, { kind: 'npy', inputs: '/d/x.npy', labels: '/d/y.npy', normalize: '1/255,0.1307,0.3081' });
  assert.equal(validationText(values({ ...sep, valInputs: '/d/vx.npy' })), '/d/vx.npy');
});

test('saved form state from before these fields: completed with the defaults', () => {
  const defaults = values();
  const old = { ...values({ npyInputs: '/keep.npy' }) } as Partial<SparsifyFormValues>;
  for (const k of ['preprocess', 'customScale', 'customMean', 'customStd', 'valKind', 'valPercent', 'valInputs', 'valLabels', 'valDir'] as const) delete old[k];
  const done = completeFormValues(old as SparsifyFormValues, { ...defaults, preprocess: 'unset' });
  assert.equal(done.preprocess, 'unset');
  assert.equal(done.valKind, 'holdout');
  assert.equal(done.valPercent, 10);
  assert.equal(done.valInputs, '');
  assert.equal(done.npyInputs, '/keep.npy', 'existing values stay');
  assert.equal(completeFormValues({ ...values(), preprocess: 'bogus' as 'none' }, defaults).preprocess, 'mnist');
});

test('Browse…: starts beside the chosen path, a related one, or the model\'s folder (the workspace when outside it), never a parent', () => {
  const empty = values({ npyInputs: '', npyLabels: '' });
  assert.equal(browseStart('npyInputs', empty, MODEL, '/ws'), '/ws/models', 'the model\'s folder, not /ws (its parent)');
  assert.equal(browseStart('npyInputs', empty, '/elsewhere/m/net.onnx', '/ws'), '/ws', 'a model outside the workspace: the workspace folder');
  assert.equal(browseStart('npyInputs', empty, '/elsewhere/m/net.onnx'), '/elsewhere/m');
  assert.equal(browseStart('npyInputs', values({ npyInputs: '/data/train/x.npy' }), MODEL, '/ws'), '/data/train');
  assert.equal(browseStart('npyLabels', values({ npyInputs: '/data/train/x.npy', npyLabels: '' }), MODEL, '/ws'), '/data/train', 'labels: beside the inputs');
  assert.equal(browseStart('valInputs', values({ npyInputs: '/data/train/x.npy' }), MODEL, '/ws'), '/data/train');
  assert.equal(browseStart('imagesDir', values({ dataKind: 'images', imagesDir: '/data/imgs/train' }), MODEL, '/ws'), '/data/imgs/train', 'a folder opens on itself');
  assert.equal(browseStart('valDir', values({ dataKind: 'images', imagesDir: '/data/imgs/train' }), MODEL, '/ws'), '/data/imgs', 'validation folder: beside the training folder');
  assert.equal(browseStart('npyInputs', values({ npyInputs: 'relative.npy', npyLabels: '' }), MODEL, '/ws'), '/ws/models');
  assert.equal(browseStart('output', values(), MODEL, '/ws'), '/ws/models/net.maxq-2of4.onnx', 'the save dialog starts on the suggested file');
  assert.equal(path.dirname(browseStart('output', values({ output: '' }), MODEL, '/ws') + '/x'), '/ws/models');
});

test('texts: input line, epoch plurals, and a schedule with no room to be gradual', () => {
  assert.equal(describeInputs(mnistInputs), 'input `input`: N × 1 × 28 × 28 float');
  assert.equal(describeInputs([...mnistInputs, { name: 'mask', shape: [1, 4], dtype: 'int64' }]), 'input `input`: N × 1 × 28 × 28 float; input `mask`: 1 × 4 int64');
  assert.deepEqual([0, 1, 2].map(epochsText), ['0 epochs', '1 epoch', '2 epochs']);
  // 1 epoch: the default window ceil(0.25·1) leaves 0→0.
  assert.equal(defaultDecayEnd(1), 0);
  const one = scheduleOffNote(1, 0, defaultDecayEnd(1));
  assert.ok(one && /With 1 epoch and the decay window 0→0 the gradual schedule is off/.test(one) && /100 % from the first step/.test(one), one ?? 'null');
  assert.match(scheduleOffNote(5, 0, 0) ?? '', /With 5 epochs/);
  assert.match(scheduleOffNote(5, 2, 2) ?? '', /single step.*dense until epoch 2/);
  for (const e of [2, 3, 4, 8, 10]) assert.equal(scheduleOffNote(e, 0, defaultDecayEnd(e)), null, `${e} epochs: the default window is gradual`);
  assert.equal(scheduleOffNote(0, 0, 0), null, 'one-shot: no schedule to speak of');
  assert.match(problems({ epochs: 1, decayEnd: 3 }), /with 1 epoch\)/);
});

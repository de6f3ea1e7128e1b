/**
 * Preprocessing recorded once and used everywhere, from the command line: `--normalize` presets, the data sanity
 * check before a run, the `maxq.*` metadata of a written model, and `maxq validate` picking its preprocessing up.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { writeNpy } from '../../../src/core/io/npy';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { writeModel } from '../../../src/core/onnx/modelWriter';
import { MnistDemoDataset } from '../../../src/core/data/mnist-demo';
import { DEMO_MODEL, MAXQ_BIN, REPO_ROOT, tempDir } from '../fixtures';

function maxq(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAXQ_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, MAXQ_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string, x: string, y: string;
before(() => {
  dir = tempDir();
  const digits = new MnistDemoDataset({ split: 'test', inputShape: [1, 28, 28], normalization: 'none' });
  const b = digits.getBatch(Array.from({ length: 300 }, (_, i) => i));
  x = path.join(dir, 'x.npy');
  y = path.join(dir, 'y.npy');
  writeNpy(x, [300, 1, 28, 28], Uint8Array.from(b.inputs, (v) => Math.round(v)));
  writeNpy(y, [300], b.labels!);
});

describe('maxq preprocessing', () => {
  it('sparsify: a wrong preset stops before the run; uint8 without --normalize is refused; the right one writes maxq.* metadata', async () => {
    const wrong = await maxq(['sparsify', DEMO_MODEL, '--pattern', '2:4', '--inputs', x, '--labels', y, '--normalize', 'none', '--out', path.join(dir, 'wrong.onnx')]);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /maxq sparsify: dense accuracy \d+\.\d % under raw values on .*x\.npy; .*\d+\.\d % under MNIST mean\/std \(--normalize mnist\).* — the model expects other preprocessing/);
    assert.equal(fs.existsSync(path.join(dir, 'wrong.onnx')), false);

    const unset = await maxq(['sparsify', DEMO_MODEL, '--pattern', '2:4', '--inputs', x, '--out', path.join(dir, 'unset.onnx')]);
    assert.equal(unset.code, 2, unset.stderr);
    assert.match(unset.stderr, /x\.npy: the inputs \(uint8\) hold 8-bit values and no preprocessing was chosen; give --normalize/);

    const out = path.join(dir, 'sparse.onnx');
    const ok = await maxq(['sparsify', DEMO_MODEL, '--pattern', '2:4', '--method', 'magnitude', '--inputs', x, '--labels', y, '--normalize', 'mnist', '--bn-recalibrate', '2', '--out', out]);
    assert.equal(ok.code, 0, ok.stderr);
    const props = Object.fromEntries(((await OnnxModel.load(out)).model.metadataProps ?? []).map((p) => [p.key, p.value]));
    assert.equal(props['maxq.preprocessing'], '1/255,0.1307,0.3081');
    assert.equal(props['maxq.pattern'], '2:4');
    assert.equal(props['maxq.method'], 'magnitude');
    assert.equal(props['maxq.source'], path.basename(DEMO_MODEL));
    const record = JSON.parse(fs.readFileSync(`${out}.run.json`, 'utf8'));
    assert.equal(record.options.preprocessing, '1/255,0.1307,0.3081');

    // The MNIST demo has its own fixed preprocessing: no flag needed, and it is recorded too.
    const demoOut = path.join(dir, 'demo.onnx');
    const demo = await maxq(['sparsify', DEMO_MODEL, '--pattern', '2:4', '--mnist-demo', '--bn-recalibrate', '2', '--out', demoOut]);
    assert.equal(demo.code, 0, demo.stderr);
    assert.equal((await OnnxModel.load(demoOut)).model.metadataProps?.find((p) => p.key === 'maxq.preprocessing')?.value, '1/255,0.1307,0.3081');

    // validate picks the recorded preprocessing up, on a bounded sample.
    const v = await maxq(['validate', out, '--pattern', '2:4', '--reference', DEMO_MODEL, '--inputs', x]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /numeric check against .* on the first 256 of 300 samples of .*x\.npy:\n  preprocessing MNIST mean\/std \(1\/255,0\.1307,0\.3081\), from the model's maxq\.preprocessing metadata\n/);
    const all = JSON.parse((await maxq(['validate', out, '--reference', DEMO_MODEL, '--inputs', x, '--normalize', 'unit', '--samples', 'all', '--json'])).stdout);
    assert.equal(all.numeric.samples, 300);
    assert.deepEqual(all.numeric.preprocessing, { normalize: '1/255,0,1', label: '[0,1]', from: 'option' });
    const some = JSON.parse((await maxq(['validate', out, '--reference', DEMO_MODEL, '--inputs', x, '--samples', '10', '--json'])).stdout);
    assert.equal(some.numeric.samples, 10);
    assert.equal(some.numeric.preprocessing.from, 'model metadata');
  });

  it('sparsify, bn-recalibrate and compare take the preprocessing from the model\'s metadata; --normalize wins with a warning', async () => {
    // The dense demo model with the metadata a run writes.
    const tagged = path.join(dir, 'tagged.onnx');
    await writeModel(await OnnxModel.load(DEMO_MODEL), new Map(), tagged, { metadata: { 'maxq.preprocessing': '1/255,0.1307,0.3081' } });
    const line = "preprocessing from the model's metadata: 1/255,0.1307,0.3081 (MNIST mean/std)\n";

    const out = path.join(dir, 'from-meta.onnx');
    const s = await maxq(['sparsify', tagged, '--pattern', '2:4', '--method', 'magnitude', '--inputs', x, '--labels', y, '--bn-recalibrate', '2', '--out', out]);
    assert.equal(s.code, 0, s.stderr);
    assert.ok(s.stderr.includes(line), s.stderr);
    assert.doesNotMatch(s.stderr, /warning: preprocessing/);
    const record = JSON.parse(fs.readFileSync(`${out}.run.json`, 'utf8'));
    assert.equal(record.options.preprocessing, '1/255,0.1307,0.3081');
    assert.equal(record.options.preprocessingFrom, 'model metadata');
    assert.equal(record.options.data.normalize, '1/255,0.1307,0.3081');
    assert.ok(record.events.some((e: { type: string; topic?: string; message?: string }) => e.type === 'log' && e.topic === 'preprocessing' && `${e.message}\n` === line));
    assert.equal((await OnnxModel.load(out)).model.metadataProps?.find((p) => p.key === 'maxq.preprocessing')?.value, '1/255,0.1307,0.3081');

    // An explicit --normalize wins; differing from the metadata, it is warned about.
    const over = path.join(dir, 'override.onnx');
    const o = await maxq(['sparsify', tagged, '--pattern', '2:4', '--method', 'magnitude', '--inputs', x, '--normalize', 'unit', '--no-sanity-check', '--bn-recalibrate', '2', '--out', over]);
    assert.equal(o.code, 0, o.stderr);
    assert.match(o.stderr, /warning: preprocessing 1\/255,0,1 \(\[0,1\]\) as given, but the model's metadata records 1\/255,0\.1307,0\.3081 \(MNIST mean\/std\)/);
    assert.ok(!o.stderr.includes(line));
    assert.equal(JSON.parse(fs.readFileSync(`${over}.run.json`, 'utf8')).options.preprocessing, '1/255,0,1');
    // The same preprocessing given explicitly: no warning.
    const same = await maxq(['sparsify', tagged, '--pattern', '2:4', '--method', 'magnitude', '--inputs', x, '--normalize', 'mnist', '--no-sanity-check', '--no-bn-recalibrate', '--out', path.join(dir, 'same.onnx')]);
    assert.equal(same.code, 0, same.stderr);
    assert.doesNotMatch(same.stderr, /preprocessing/);

    const b = await maxq(['bn-recalibrate', out, '--inputs', x, '--labels', y, '--batches', '2', '--out', path.join(dir, 'from-meta.bn.onnx'), '--json']);
    assert.equal(b.code, 0, b.stderr);
    assert.ok(b.stderr.includes(line), b.stderr);
    assert.deepEqual(JSON.parse(b.stdout).preprocessing, { normalize: '1/255,0.1307,0.3081', from: 'model metadata' });
    const bw = await maxq(['bn-recalibrate', out, '--inputs', x, '--normalize', 'unit', '--batches', '2', '--out', path.join(dir, 'unit.bn.onnx'), '--json']);
    assert.equal(bw.code, 0, bw.stderr);
    assert.match(bw.stderr, /warning: preprocessing 1\/255,0,1 \(\[0,1\]\) as given, but the model's metadata records/);
    assert.deepEqual(JSON.parse(bw.stdout).preprocessing, { normalize: '1/255,0,1', from: 'option' });

    const report = path.join(dir, 'tagged.compare.json');
    const c = await maxq(['compare', tagged, '--patterns', '2:4', '--methods', 'magnitude', '--epochs', '0', '--seeds', '1', '--inputs', x, '--labels', y, '--bn-recalibrate', '2', '--out', report]);
    assert.equal(c.code, 0, c.stderr);
    // Said once for the whole comparison, not once per run.
    assert.equal(c.stderr.split(line).length, 2, c.stderr);
    const r = JSON.parse(fs.readFileSync(report, 'utf8'));
    assert.equal(r.config.data.normalize, '1/255,0.1307,0.3081');
    assert.ok(r.notes.includes(line.trim()));
  });

  it('validate: uint8 inputs without metadata or --normalize are refused; --normalize needs --inputs', async () => {
    const r = await maxq(['validate', DEMO_MODEL, '--reference', DEMO_MODEL, '--inputs', x]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /x\.npy: the inputs \(uint8\) hold 8-bit values and no preprocessing was chosen/);
    // Exit 1: the dense model has no N:M layers; the numeric check still ran on the preprocessed digits.
    const ok = await maxq(['validate', DEMO_MODEL, '--reference', DEMO_MODEL, '--inputs', x, '--normalize', '1/255,0.1307,0.3081']);
    assert.equal(ok.code, 1, ok.stderr);
    assert.match(ok.stdout, /\n  preprocessing MNIST mean\/std \(1\/255,0\.1307,0\.3081\)\n/);
    const lone = await maxq(['validate', DEMO_MODEL, '--normalize', 'mnist']);
    assert.equal(lone.code, 2);
    assert.match(lone.stderr, /--normalize is for the numeric check's --inputs/);
    const bad = await maxq(['validate', DEMO_MODEL, '--reference', DEMO_MODEL, '--inputs', x, '--normalize', 'mnsit']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /preset: none, unit, symmetric, imagenet, mnist/);
  });
});

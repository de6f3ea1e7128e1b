import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CompareReport } from '../../../src/core/compare/compareReport';
import { tinyFixture } from './tinyFixture';

const fx = tinyFixture();
after(() => fx.remove());

const bin = path.resolve(__dirname, '../../../../bin/maxq.js');

/** Runs the real `maxq` command line in a child process. */
async function maxq(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

const data = ['--inputs', fx.inputs, '--labels', fx.labels, '--val-inputs', fx.valInputs, '--val-labels', fx.valLabels, '--batch', '16', '--threads', '1'];

test('maxq compare usage errors exit 2 with one clear line', async () => {
  const cases: [string[], RegExp][] = [
    [[fx.model, ...data], /--patterns is required/],
    [[fx.model, '--patterns', '2:4', '--methods', 'magnitude,prune', ...data], /unknown method 'prune'/],
    [[fx.model, '--patterns', '2:4,3:3', ...data], /invalid N:M pattern "3:3"/],
    [[fx.model, '--patterns', '2:4', '--seeds', '0', ...data], /--seeds must be a whole number ≥ 1/],
    [[fx.model, '--patterns', '2:4', '--schedule-variants', 'fast', ...data], /unknown schedule variant 'fast'/],
    [[fx.model, '--patterns', '2:4'], /needs data/],
    [[fx.model, '--patterns', '2:4', '--decay-end', '2', ...data], /Unknown option '--decay-end'/],
    [[fx.model, '--patterns', '2:4', '--out', path.join(fx.dir, 'missing', 'r.json'), ...data], /folder .* does not exist/],
  ];
  const results = await Promise.all(cases.map(([args]) => maxq(['compare', ...args])));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, cases[i][0].join(' '));
    assert.match(r.stderr, cases[i][1]);
    assert.equal(r.stdout, '');
  });
});

test('maxq compare --epochs 0 prints the table, writes the report and exits 0', async () => {
  const report = path.join(fx.dir, 'report.json');
  const r = await maxq(['compare', fx.model, '--patterns', '2:4', '--methods', 'magnitude', '--epochs', '0', '--out', report, ...data]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /dense accuracy %: \d+\.\d\d/);
  assert.match(r.stdout, /2:4 +magnitude +one-shot \+ BN re-estimation/);
  assert.match(r.stderr, /\[2\/2\] 2:4 magnitude, one-shot \+ BN re-estimation/);
  const written = JSON.parse(fs.readFileSync(report, 'utf8')) as CompareReport;
  assert.equal(written.runs.length, 2);
  assert.deepEqual(written.config.seeds, [0, 1, 2]);
  assert.equal(written.config.budget.batchSize, 16);
  assert.deepEqual(fs.readdirSync(fx.dir).filter((n) => n.startsWith('.report.json')), [], 'no temp file of the atomic write is left');
});

test('Ctrl-C during a fine-tune exits 130 and leaves no intermediate model behind', async () => {
  const tmp = path.join(fx.dir, 'sigint-tmp');
  fs.mkdirSync(tmp);
  // Other libraries may drop files in TMPDIR too; only the comparison's own folder matters.
  const compareDirs = () => fs.readdirSync(tmp).filter((n) => n.startsWith('maxq-compare-'));
  const child = spawn(process.execPath, [bin, 'compare', fx.model, '--patterns', '2:4', '--methods', 'maxq', '--seeds', '1', '--epochs', '500', ...data], {
    env: { ...process.env, TMPDIR: tmp },
  });
  let stderr = '';
  let sawModels = false;
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
    if (/\[3\/4\]/.test(stderr) && !child.killed) {
      sawModels = compareDirs().length > 0;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 130, stderr);
  assert.equal(sawModels, true, 'the temp folder existed while running');
  assert.match(stderr, /cancelled; nothing was written/);
  assert.deepEqual(compareDirs(), []);
});

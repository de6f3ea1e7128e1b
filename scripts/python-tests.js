#!/usr/bin/env node
// Runs the maxq_torch test suite (python/tests) with a Python that has torch:
//   node scripts/python-tests.js [extra pytest args]
// Prefers /usr/bin/python3 (Debian's python3-torch), else `python3` on PATH. Prints pytest's output and ends
// with one line `N passed, N failed`. Exits non-zero when torch or pytest is missing (CI installs them) or
// when any test fails.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const candidates = ['/usr/bin/python3', 'python3'].filter((p) => !p.startsWith('/') || fs.existsSync(p));

function probe(python) {
  const r = spawnSync(python, ['-c', 'import torch, pytest; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? { ok: true, version: r.stdout.trim() } : { ok: false, why: (r.error ? r.error.message : r.stderr.trim().split('\n').pop()) || `exit ${r.status}` };
}

let python = null;
const tried = [];
for (const c of candidates) {
  const p = probe(c);
  if (p.ok) {
    python = c;
    console.log(`python-tests: ${c} (torch ${p.version})`);
    break;
  }
  tried.push(`${c}: ${p.why}`);
}
if (!python) {
  console.error('python-tests: no Python with torch and pytest found; the maxq_torch tests need them.');
  for (const t of tried) console.error(`  ${t}`);
  console.error('  Debian/Ubuntu: sudo apt-get install -y python3-torch python3-torchvision python3-onnx python3-pytest');
  console.log('0 passed, 0 failed');
  process.exit(2);
}

const started = Date.now();
const r = spawnSync(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'python/tests', ...process.argv.slice(2)], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  maxBuffer: 64 * 1024 * 1024,
});
process.stdout.write(r.stdout || '');
process.stderr.write(r.stderr || '');
const text = `${r.stdout || ''}\n${r.stderr || ''}`;
const count = (word) => {
  const m = new RegExp(`(\\d+) ${word}`).exec(text.split('\n').filter((l) => /\b(passed|failed|error)/.test(l)).pop() || '');
  return m ? Number(m[1]) : 0;
};
const passed = count('passed');
const failed = count('failed') + count('errors?');
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (r.status !== 0 && failed === 0) {
  console.log(`python-tests: pytest exited with ${r.status} (${r.error ? r.error.message : 'see the output above'}) after ${seconds} s`);
  console.log(`${passed} passed, 1 failed`);
  process.exit(1);
}
console.log(`python-tests: ${seconds} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || r.status !== 0 ? 1 : 0);

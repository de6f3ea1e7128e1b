#!/usr/bin/env node
// Runs every compiled unit/integration test under out/test with node's test runner (Node 20 has no --test
// globs). Usage: node scripts/run-tests.js [substring filter]. Builds first unless MAXQ_SKIP_BUILD=1.
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
if (process.env.MAXQ_SKIP_BUILD !== '1') {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: 'inherit', cwd: root });
}
const filter = process.argv[2] || '';
const files = [];
(function walk(dir) {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'e2e' && e.name !== 'vscode') walk(p);
    } else if (e.name.endsWith('.test.js') && p.includes(filter)) files.push(p);
  }
})(path.join(root, 'out', 'test'));
files.sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);

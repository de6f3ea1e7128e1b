#!/usr/bin/env node
// Writes the bundled MNIST demo split (the samples `maxq sparsify --mnist-demo` trains and validates on) as .npy:
//   node scripts/cross-engine/export-mnist-npy.js <dir>
// -> <dir>/mnist-demo-{train,val}-{inputs,labels}.npy (uint8 [N,1,28,28], int64 [N]); preprocessing 1/255,0.1307,0.3081.
// Uses the compiled core (out/src/core; build with `npx tsc -p .`). Each file is written atomically by the core.
'use strict';
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/cross-engine/export-mnist-npy.js <dir>');
  process.exit(2);
}
const file = path.join(__dirname, '..', '..', 'out', 'src', 'core', 'data', 'mnist-demo.js');
if (!fs.existsSync(file)) {
  console.error(`export-mnist-npy: ${file} is missing; build the TypeScript core first (npx tsc -p .)`);
  process.exit(2);
}
const { writeMnistDemoNpy } = require(file);
if (typeof writeMnistDemoNpy !== 'function') {
  console.error(`export-mnist-npy: ${file} has no writeMnistDemoNpy; rebuild the TypeScript core (npx tsc -p .)`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(writeMnistDemoNpy(path.resolve(dir))));
} catch (e) {
  console.error(`export-mnist-npy: ${e.message}`);
  process.exit(1);
}

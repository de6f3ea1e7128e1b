#!/usr/bin/env node
// Masks from the TypeScript engine for the Python cross-engine test (python/tests/test_cross_engine.py).
//
//   node scripts/cross-engine/ts-masks.js <cases.json> <masks.json>
//
// cases.json: { "cases": [ { "name", "shape": [O,I,Kh,Kw] | [out,in], "transposed"?: bool, "pattern": "2:4",
//               "method": "maxq"|"magnitude"|"srste", "denseFraction": p, "weight": [numbers] } ] }
// masks.json: { "cases": [ { "name", "hard": [0/1], "soft": [numbers], "numBlocks", "numDenseBlocks",
//               "filterTopk", "positionTopk" } ] }, both masks in the weight's stored layout.
// Loads the compiled core from out/src/core (build it with `npx tsc -p .`). Writes a temp file, then renames.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const core = path.join(root, 'out', 'src', 'core', 'masks');
function load(name) {
  const file = path.join(core, `${name}.js`);
  if (!fs.existsSync(file)) {
    console.error(`ts-masks: ${file} is missing; build the TypeScript core first (npx tsc -p . in ${root})`);
    process.exit(2);
  }
  return require(file);
}
const { computeLayerMask } = load('layerMask');
const { NmPattern } = load('nmPattern');
const { toCanonical, fromCanonical, canonicalShapeOf } = load('layout');

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/cross-engine/ts-masks.js <cases.json> <masks.json>');
  process.exit(2);
}
let spec;
try {
  spec = JSON.parse(fs.readFileSync(input, 'utf8'));
} catch (e) {
  console.error(`ts-masks: cannot read ${input}: ${e.message}`);
  process.exit(2);
}
if (!spec || !Array.isArray(spec.cases)) {
  console.error(`ts-masks: ${input} has no "cases" array`);
  process.exit(2);
}

const results = [];
for (const c of spec.cases) {
  const transposed = Boolean(c.transposed);
  const stored = Float32Array.from(c.weight);
  const [O, I, Kh, Kw] = canonicalShapeOf(c.shape, transposed);
  const data = toCanonical(stored, c.shape, transposed);
  let mask;
  try {
    mask = computeLayerMask({ data, O, I, Kh, Kw }, NmPattern.parse(c.pattern), c.method, c.denseFraction ?? 0, c.name);
  } catch (e) {
    results.push({ name: c.name, error: e.message });
    continue;
  }
  results.push({
    name: c.name,
    hard: Array.from(fromCanonical(mask.hard, c.shape, transposed)),
    soft: Array.from(fromCanonical(mask.soft, c.shape, transposed)),
    numBlocks: mask.numBlocks,
    numDenseBlocks: mask.numDenseBlocks,
    filterTopk: mask.filterTopk,
    positionTopk: mask.positionTopk,
  });
}
const tmp = `${output}.tmp-${process.pid}`;
fs.writeFileSync(tmp, JSON.stringify({ cases: results }));
fs.renameSync(tmp, output);

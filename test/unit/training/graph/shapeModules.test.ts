/**
 * shapes.ts spreads the rule groups of mathShapes.ts and indexShapes.ts into `shapeRules` at load time. The
 * rule-group files take their helpers from shapeHelpers.ts, so whichever module a process loads first, the
 * table holds every group's rules (an import cycle through shapes.ts used to leave them out silently).
 * Each load order runs in a fresh node process (the module cache decides the order only once per process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { spawnSync } from 'child_process';

const graphDir = path.resolve(__dirname, '../../../../src/core/training/graph');

function tableAfterLoading(first: string): { missing: string[]; math: number; index: number } {
  const script = `
    const first = require(${JSON.stringify(path.join(graphDir, first))});
    const { shapeRules } = require(${JSON.stringify(path.join(graphDir, 'shapes'))});
    const { mathShapeRules } = require(${JSON.stringify(path.join(graphDir, 'mathShapes'))});
    const { indexShapeRules } = require(${JSON.stringify(path.join(graphDir, 'indexShapes'))});
    void first;
    const groups = [...Object.keys(mathShapeRules), ...Object.keys(indexShapeRules)];
    const missing = groups.filter((op) => shapeRules[op] === undefined);
    process.stdout.write(JSON.stringify({ missing, math: Object.keys(mathShapeRules).length, index: Object.keys(indexShapeRules).length }));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { missing: string[]; math: number; index: number };
}

for (const first of ['mathShapes', 'indexShapes', 'shapeHelpers', 'shapes', 'mathRules']) {
  test(`shapeRules holds every math and index shape rule when ${first}.ts is loaded first`, () => {
    const t = tableAfterLoading(first);
    assert.ok(t.math > 0, 'mathShapeRules is populated');
    assert.ok(t.index > 0, 'indexShapeRules is populated');
    assert.deepEqual(t.missing, []);
  });
}

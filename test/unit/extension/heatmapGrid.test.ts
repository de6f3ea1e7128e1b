import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { blockIndex, cellToWeight, heatmapGrid, weightToCell } from '../../../src/extension/heatmap/grid';

const conv = { O: 3, I: 8, Kh: 2, Kw: 3 };

test('grid: rows are output channels, columns kernel positions × input channels', () => {
  assert.deepEqual(heatmapGrid(conv), { rows: 3, cols: 48, inputChannels: 8, kh: 2, kw: 3 });
  assert.deepEqual(heatmapGrid({ O: 10, I: 20, Kh: 1, Kw: 1 }), { rows: 10, cols: 20, inputChannels: 20, kh: 1, kw: 1 });
});

test('grid: cell ↔ OIHW coordinates round-trip and match the flat OIHW offset', () => {
  for (let row = 0; row < conv.O; row++) {
    for (let col = 0; col < 48; col++) {
      const c = cellToWeight(conv, row, col);
      assert.equal(c.index, ((c.o * conv.I + c.i) * conv.Kh + c.h) * conv.Kw + c.w);
      assert.deepEqual(weightToCell(conv, c), { row, col });
    }
  }
  assert.deepEqual(cellToWeight(conv, 1, 8 * 4 + 5), { o: 1, i: 5, h: 1, w: 1, index: ((1 * 8 + 5) * 2 + 1) * 3 + 1 });
});

test('grid: block index follows the spec (OHWI runs of M) and is M adjacent cells of a row', () => {
  const m = 4;
  // b = ((o·Kh + h)·Kw + w)·(I/M) + g
  assert.equal(blockIndex(conv, m, { o: 2, i: 5, h: 1, w: 2 }), ((2 * 2 + 1) * 3 + 2) * 2 + 1);
  for (let row = 0; row < conv.O; row++) {
    for (let col = 0; col < 48; col++) {
      const b = blockIndex(conv, m, cellToWeight(conv, row, col));
      assert.equal(b, row * (48 / m) + Math.floor(col / m));
    }
  }
  assert.equal(blockIndex({ O: 2, I: 3, Kh: 3, Kw: 3 }, 4, { o: 0, i: 0, h: 0, w: 0 }), null, 'I not divisible by M');
});

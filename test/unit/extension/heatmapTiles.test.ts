import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cellToWeight, heatmapGrid, LayerDims } from '../../../src/extension/heatmap/grid';
import { MAX_TILES_PER_AXIS, planTiles } from '../../../src/extension/heatmap/tilePlan';
import { aggregateTiles, LayerValues, maxAbs, scaleMaxFor } from '../../../src/extension/heatmap/tileValues';

function layer(d: LayerDims, f: (idx: number) => number): LayerValues {
  const n = d.O * d.I * d.Kh * d.Kw;
  const weights = new Float32Array(n);
  for (let k = 0; k < n; k++) weights[k] = f(k);
  return { dims: d, weights };
}

/** Reference: aggregate cell by cell through the public coordinate mapping. */
function naive(values: LayerValues, plan: ReturnType<typeof planTiles>, src: ArrayLike<number>, useMax: boolean): number[] {
  const out: number[] = [];
  for (let tr = 0; tr < plan.tileRows; tr++) {
    for (let tc = 0; tc < plan.tileCols; tc++) {
      let acc = 0;
      let n = 0;
      for (let r = plan.row0 + tr * plan.tileH; r < Math.min(plan.row0 + (tr + 1) * plan.tileH, plan.rowEnd); r++) {
        for (let c = Math.max(plan.col0 + tc * plan.tileW, plan.col0); c < Math.min(plan.col0 + (tc + 1) * plan.tileW, plan.colEnd); c++) {
          const v = Math.abs(src[cellToWeight(values.dims, r, c).index]);
          acc = useMax ? Math.max(acc, v) : acc + v;
          n++;
        }
      }
      out.push(useMax ? acc : n ? acc / n : 0);
    }
  }
  return out;
}

test('plan: a view that fits is one cell per tile', () => {
  const p = planTiles({ rows: 64, cols: 576 }, { row0: 0, col0: 0, rows: 64, cols: 576 }, 512, 1024, 4);
  assert.equal(p.tileH, 1);
  assert.equal(p.tileRows, 64);
  assert.ok(p.tileCols <= MAX_TILES_PER_AXIS, 'requests above the cap are clamped');
  assert.equal(p.tileW % 4, 0, 'wide tiles hold whole blocks');
});

test('plan: ResNet-50-sized layer is cut into ≤ 512×512 tiles of whole blocks, aligned to block starts', () => {
  const grid = { rows: 512, cols: 4608 };
  for (const [maxR, maxC] of [[512, 512], [300, 700], [97, 131], [1, 1]]) {
    const p = planTiles(grid, { row0: 0, col0: 0, rows: 512, cols: 4608 }, maxR, maxC, 4);
    assert.ok(p.tileRows <= Math.min(maxR, 512) && p.tileCols <= Math.min(maxC, 512), `${maxR}×${maxC}: ${p.tileRows}×${p.tileCols}`);
    if (p.tileW > 1) assert.equal(p.tileW % 4, 0);
    assert.equal(p.col0 % p.tileW, 0);
    assert.ok(p.row0 + p.tileRows * p.tileH >= 512 && p.col0 + p.tileCols * p.tileW >= 4608, 'covers the view');
  }
});

test('plan: a panned, fractional view is clipped to the grid and aligned down', () => {
  const p = planTiles({ rows: 100, cols: 400 }, { row0: 10.5, col0: 350.2, rows: 200, cols: 100 }, 20, 8, 8);
  assert.equal(p.rowEnd, 100);
  assert.equal(p.colEnd, 400);
  assert.ok(p.row0 <= 10 && p.col0 <= 350);
  assert.equal(p.col0 % p.tileW, 0);
  assert.ok(p.tileRows <= 20 && p.tileCols <= 8);
  const neg = planTiles({ rows: 5, cols: 5 }, { row0: -3, col0: -9, rows: 2, cols: 1 }, 10, 10, 1);
  assert.equal(neg.row0, 0);
  assert.equal(neg.col0, 0);
  assert.equal(neg.tileRows, 1);
});

test('aggregate: max and mean of |w| match a cell-by-cell reference', () => {
  const d = { O: 13, I: 12, Kh: 3, Kw: 3 };
  const values = layer(d, (k) => Math.sin(k * 1.7) * (k % 5));
  const grid = heatmapGrid(d);
  for (const [view, maxR, maxC] of [
    [{ row0: 0, col0: 0, rows: 13, cols: 108 }, 5, 10],
    [{ row0: 2.4, col0: 17.5, rows: 7, cols: 50 }, 3, 4],
    [{ row0: 0, col0: 0, rows: 13, cols: 108 }, 512, 512],
  ] as const) {
    const plan = planTiles(grid, view, maxR, maxC, 4);
    for (const agg of ['max', 'mean'] as const) {
      const got = Array.from(aggregateTiles(plan, values, 'magnitude', agg));
      const want = naive(values, plan, values.weights, agg === 'max');
      got.forEach((g, t) => assert.ok(Math.abs(g - want[t]) < 1e-5, `${agg} tile ${t}: ${g} vs ${want[t]}`));
    }
  }
});

test('aggregate: kept fraction of a 2:4 mask is exactly 0.5 on tiles of whole blocks', () => {
  const d = { O: 8, I: 16, Kh: 3, Kw: 3 };
  const values = layer(d, (k) => k + 1);
  const hard = new Uint8Array(values.weights.length);
  // Keep the 2 largest (= last 2) of every block of 4 input channels.
  for (let k = 0; k < hard.length; k++) {
    const i = Math.floor(k / 9) % 16;
    hard[k] = i % 4 >= 2 ? 1 : 0;
  }
  values.hard = hard;
  const plan = planTiles(heatmapGrid(d), { row0: 0, col0: 0, rows: 8, cols: 144 }, 4, 9, 4);
  assert.ok(plan.tileW > 1);
  const kept = aggregateTiles(plan, values, 'kept', 'max');
  for (const v of kept) assert.equal(v, 0.5);
});

test('aggregate: soft mode needs a soft mask; scale tops follow the mode', () => {
  const d = { O: 2, I: 4, Kh: 1, Kw: 1 };
  const values = layer(d, (k) => k - 4);
  const plan = planTiles(heatmapGrid(d), { row0: 0, col0: 0, rows: 2, cols: 4 }, 8, 8, 4);
  assert.throws(() => aggregateTiles(plan, values, 'soft', 'mean'), /no soft mask/);
  assert.equal(maxAbs(values.weights), 4);
  assert.equal(scaleMaxFor('magnitude', values, 4), 4);
  assert.equal(scaleMaxFor('soft', values, 4), 2);
  assert.equal(scaleMaxFor('soft', { ...values, dims: { O: 2, I: 4, Kh: 3, Kw: 3 } }, 4), 3);
  assert.equal(scaleMaxFor('kept', values, 4), 1);
});

test('aggregate: a ResNet-50 3×3 layer (512×512×3×3) aggregates well under 100 ms', () => {
  const d = { O: 512, I: 512, Kh: 3, Kw: 3 };
  const values = layer(d, (k) => ((k * 2654435761) % 1000) / 1000 - 0.5);
  const plan = planTiles(heatmapGrid(d), { row0: 0, col0: 0, rows: 512, cols: 4608 }, 512, 512, 4);
  aggregateTiles(plan, values, 'magnitude', 'max'); // warm-up
  const t0 = process.hrtime.bigint();
  aggregateTiles(plan, values, 'magnitude', 'mean');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < 100, `took ${ms.toFixed(1)} ms`);
});

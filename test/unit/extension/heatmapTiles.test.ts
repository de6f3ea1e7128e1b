import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cellToWeight, heatmapGrid, LayerDims } from '../../../src/extension/heatmap/grid';
import { MAX_TILES_PER_AXIS, planTiles } from '../../../src/extension/heatmap/tilePlan';
import { colourTiles, isFlat, percentileScale, quantileOfSorted, scalePosition } from '../../../src/extension/heatmap/tileScale';
import { aggregateTiles, keptShareTiles, LayerValues, maxAbs, scaleMaxFor } from '../../../src/extension/heatmap/tileValues';

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

/** Hard 2:4 mask along input channels: keep the 2 largest |w| of each block of 4 (ties: the first ones). */
function mask24(values: LayerValues, dense?: (o: number, i: number) => boolean): Uint8Array {
  const { O, I, Kh, Kw } = values.dims;
  const kk = Kh * Kw;
  const hard = new Uint8Array(values.weights.length);
  for (let o = 0; o < O; o++) {
    for (let p = 0; p < kk; p++) {
      for (let g = 0; g < I; g += 4) {
        const idx = [0, 1, 2, 3].map((j) => (o * I + g + j) * kk + p);
        if (dense?.(o, g)) {
          for (const k of idx) hard[k] = 1;
          continue;
        }
        idx.sort((a, b) => Math.abs(values.weights[b]) - Math.abs(values.weights[a]));
        hard[idx[0]] = 1;
        hard[idx[1]] = 1;
      }
    }
  }
  return hard;
}

function spread(a: Float32Array): number {
  return Math.max(...a) - Math.min(...a);
}

test('plan: the last tile covers its whole extent, so a view ending mid-block still tiles whole blocks', () => {
  const p = planTiles({ rows: 30, cols: 400 }, { row0: 0, col0: 0, rows: 13.2, cols: 101.5 }, 2, 4, 4);
  assert.equal(p.colEnd, p.col0 + p.tileCols * p.tileW);
  assert.equal(p.rowEnd, p.row0 + p.tileRows * p.tileH);
  assert.equal(p.colEnd % 4, 0);
  const edge = planTiles({ rows: 30, cols: 400 }, { row0: 20, col0: 390, rows: 10, cols: 10 }, 1, 1, 4);
  assert.equal(edge.rowEnd, 30, 'clipped to the grid');
  assert.equal(edge.colEnd, 400);
});

test('aggregate: an outlier in every tile makes max flat while mean |w| keeps the structure', () => {
  // 24 outputs × 80 inputs, cut into 12×40 tiles; |w| grows with the output row, plus one 1.0 per tile.
  const d = { O: 24, I: 80, Kh: 1, Kw: 1 };
  const values = layer(d, (k) => {
    const o = Math.floor(k / 80), i = k % 80;
    return i % 40 === 0 && o % 12 === 0 ? -1 : 0.01 * (o + 1) * (i % 2 ? 1 : -1);
  });
  const plan = planTiles(heatmapGrid(d), { row0: 0, col0: 0, rows: 24, cols: 80 }, 2, 2, 4);
  assert.deepEqual([plan.tileH, plan.tileW], [12, 40]);
  const max = aggregateTiles(plan, values, 'magnitude', 'max');
  const mean = aggregateTiles(plan, values, 'magnitude', 'mean');
  assert.ok(isFlat(max), `max is one flat colour: ${Array.from(max)}`);
  assert.ok(!isFlat(mean));
  assert.ok(mean[2] > mean[0] && mean[3] > mean[1], 'lower rows (larger |w|) have a larger mean');
  const c = colourTiles(plan, values, 'magnitude', 'mean', 0.5, '2:4');
  assert.equal(c.pixel, 'mean |w| of a 12×40 tile, colours by percentile');
  assert.equal(c.scale.kind, 'percentile');
  assert.deepEqual(Array.from(c.values), Array.from(mean));
  const t = Array.from(c.values, (v) => scalePosition(c.scale, c.quantity, 1, v));
  assert.ok(t[0] < 0.05 && t[2] > 0.95, `stretched to the whole ramp: ${t}`);
  assert.equal(colourTiles(plan, values, 'magnitude', 'max', 0.5, '2:4').pixel, 'max |w| of a 12×40 tile, colours by percentile');
});

test('scale: quantiles interpolate; the 2nd–98th percentile maps onto the ramp and clamps outliers', () => {
  const sorted = Float32Array.from({ length: 101 }, (_, k) => k);
  assert.equal(quantileOfSorted(sorted, 0.02), 2);
  assert.equal(quantileOfSorted(sorted, 0.5), 50);
  assert.equal(quantileOfSorted(sorted, 0.98), 98);
  assert.equal(quantileOfSorted(Float32Array.of(0, 10), 0.25), 2.5);
  assert.equal(quantileOfSorted(new Float32Array(0), 0.5), 0);
  // Shuffled values with one huge outlier: the outlier does not set the scale.
  const v = Float32Array.from({ length: 101 }, (_, k) => (k * 37) % 101);
  v[5] = 1e6;
  const s = percentileScale(v);
  assert.ok(s.lo >= 1 && s.lo <= 3 && s.hi >= 97 && s.hi <= 100, `${s.lo}..${s.hi}`);
  assert.equal(scalePosition(s, 'magnitude', 1e6, s.lo), 0);
  assert.equal(scalePosition(s, 'magnitude', 1e6, s.hi), 1);
  assert.equal(scalePosition(s, 'magnitude', 1e6, 1e6), 1);
  assert.equal(scalePosition(s, 'magnitude', 1e6, -5), 0);
  assert.ok(Math.abs(scalePosition(s, 'magnitude', 1e6, s.mid) - 0.5) < 0.05);
  // All equal: the full range is empty too, so everything sits mid-ramp instead of dividing by zero.
  const flat = percentileScale(new Float32Array(10).fill(3));
  assert.equal(scalePosition(flat, 'magnitude', 3, 3), 0.5);
  // Deviation scale: target mid-ramp, ±span to the ends.
  const dev = { kind: 'deviation' as const, target: 0.5, span: 0.25 };
  assert.equal(scalePosition(dev, 'keptFraction', 1, 0.5), 0.5);
  assert.equal(scalePosition(dev, 'keptFraction', 1, 0.75), 1);
  assert.equal(scalePosition(dev, 'keptFraction', 1, 0.25), 0);
  // Absolute (one weight per pixel): |w| on the square-root scale of the layer max, kept 0/1.
  assert.equal(scalePosition({ kind: 'absolute' }, 'magnitude', 4, 1), 0.5);
  assert.equal(scalePosition({ kind: 'absolute' }, 'keptFraction', 1, 1), 1);
});

test('colour: one weight per tile keeps the exact per-weight rendering', () => {
  const d = { O: 4, I: 8, Kh: 1, Kw: 1 };
  const values = layer(d, (k) => k - 16);
  values.hard = mask24(values);
  const plan = planTiles(heatmapGrid(d), { row0: 0, col0: 0, rows: 4, cols: 8 }, 512, 512, 4);
  assert.equal(plan.tileH * plan.tileW, 1);
  const mag = colourTiles(plan, values, 'magnitude', 'mean', 0.5, '2:4');
  assert.deepEqual(mag.scale, { kind: 'absolute' });
  assert.deepEqual(Array.from(mag.values), Array.from(values.weights, Math.abs));
  const kept = colourTiles(plan, values, 'kept', 'mean', 0.5, '2:4');
  assert.deepEqual(kept.scale, { kind: 'absolute' });
  assert.equal(kept.quantity, 'keptFraction');
  assert.deepEqual(Array.from(kept.values), Array.from(values.hard));
});

test('colour: 2:4 on tiles of whole blocks (every tile exactly 50 % kept) shows the share of |w| kept, not one flat colour', () => {
  // 64 outputs × 64 inputs × 3×3. Top half: the 4 weights of a block are equal (the mask keeps half of |w|);
  // bottom half: two large, two tiny (the mask keeps nearly all of |w|); plus a left/right difference.
  const d = { O: 64, I: 64, Kh: 3, Kw: 3 };
  const values = layer(d, (k) => {
    const o = Math.floor(k / (64 * 9)), i = Math.floor(k / 9) % 64;
    const big = o < 32 ? 1 : i % 4 < 2 ? 1 : 0.01;
    return (i < 32 ? 0.5 : 1) * big * (k % 2 ? 1 : -1);
  });
  values.hard = mask24(values);
  const plan = planTiles(heatmapGrid(d), { row0: 0, col0: 0, rows: 64, cols: 576 }, 8, 24, 4);
  assert.ok(plan.tileH * plan.tileW > 1 && plan.tileW % 4 === 0);
  const fractions = aggregateTiles(plan, values, 'kept', 'mean');
  assert.ok(isFlat(fractions) && fractions[0] === 0.5, 'an exact kept-fraction scale would be one flat colour');
  const c = colourTiles(plan, values, 'kept', 'mean', 0.5, '2:4');
  assert.equal(c.quantity, 'keptShare');
  assert.equal(c.scale.kind, 'percentile');
  assert.match(c.pixel, /^share of \|w\| kept in a \d+×\d+ tile \(every tile keeps exactly 50 %\), colours by percentile$/);
  assert.deepEqual(Array.from(c.values), Array.from(keptShareTiles(plan, values)));
  const t = Array.from(c.values, (v) => scalePosition(c.scale, c.quantity, 1, v));
  const topRow = t[0], bottomRow = t[(plan.tileRows - 1) * plan.tileCols];
  assert.ok(Math.abs(c.values[0] - 0.5) < 1e-6, 'equal weights: half of |w| kept');
  assert.ok(c.values[(plan.tileRows - 1) * plan.tileCols] > 0.95, 'two large, two tiny: nearly all of |w| kept');
  assert.ok(bottomRow - topRow > 0.9, `not flat: ${topRow} vs ${bottomRow}`);
});

test('colour: kept fractions that differ (dense blocks) are shown relative to N/M, contrast-stretched', () => {
  const d = { O: 16, I: 32, Kh: 1, Kw: 1 };
  const values = layer(d, (k) => Math.sin(k));
  // Rows 0–3 keep their first block dense: 6/8 kept in the first 4×8 tile, 50 % elsewhere.
  values.hard = mask24(values, (o, g) => o < 4 && g === 0);
  const plan = planTiles(heatmapGrid(d), { row0: 0, col0: 0, rows: 16, cols: 32 }, 4, 4, 4);
  assert.deepEqual([plan.tileH, plan.tileW], [4, 8]);
  const c = colourTiles(plan, values, 'kept', 'mean', 0.5, '2:4');
  assert.equal(c.quantity, 'keptFraction');
  assert.deepEqual(c.scale, { kind: 'deviation', target: 0.5, span: c.scale.kind === 'deviation' ? c.scale.span : NaN });
  assert.equal(c.values[0], 0.75);
  // 1 of 16 tiles deviates by 25 points: the 98th percentile of the deviations lies between 0 and that.
  assert.ok(c.scale.kind === 'deviation' && c.scale.span > 0 && c.scale.span <= 0.25, `span ${JSON.stringify(c.scale)}`);
  assert.equal(c.pixel, 'kept fraction of a 4×8 tile relative to 2:4 (50 %), contrast-stretched');
  const t = Array.from(c.values, (v) => scalePosition(c.scale, c.quantity, 1, v));
  assert.equal(t[0], 1, 'the dense tile is at the top of the ramp');
  assert.equal(t[1], 0.5, 'a plain 2:4 tile sits at N/M, mid-ramp');
  assert.ok(spread(Float32Array.from(t)) >= 0.5);
});

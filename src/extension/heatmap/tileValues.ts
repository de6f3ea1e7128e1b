/**
 * Aggregates a layer's weights or masks into the tiles of a TilePlan: max or mean of |w|, max or mean of the soft
 * mask, the fraction of kept weights, or the share of |w| kept. One pass over the visible cells; a ResNet-50 3×3 layer (2.4 M weights)
 * takes a few milliseconds. Pure: no vscode import.
 */
import type { HeatmapMode, TileAggregate } from '../../protocol/messages';
import type { LayerDims } from './grid';
import type { TilePlan } from './tilePlan';

export interface LayerValues {
  dims: LayerDims;
  /** Canonical OIHW float32 weights. */
  weights: Float32Array;
  /** Hard mask H (0/1), OIHW; absent when the layer has no mask for the pattern. */
  hard?: Uint8Array;
  /** Soft mask S = H⊙(1+F+P), OIHW. */
  soft?: Float32Array;
}

/** For each visible column: its OIHW offset within a row (i·Kh·Kw + p) and its tile column. */
function columnMaps(plan: TilePlan, d: LayerDims): { offset: Int32Array; tileCol: Int32Array } {
  const n = plan.colEnd - plan.col0;
  const offset = new Int32Array(n);
  const tileCol = new Int32Array(n);
  const kk = d.Kh * d.Kw;
  for (let j = 0; j < n; j++) {
    const col = plan.col0 + j;
    const p = Math.floor(col / d.I);
    const i = col - p * d.I;
    offset[j] = i * kk + p;
    tileCol[j] = Math.floor(j / plan.tileW);
  }
  return { offset, tileCol };
}

function sourceOf(values: LayerValues, mode: HeatmapMode): ArrayLike<number> {
  if (mode === 'magnitude') return values.weights;
  const src = mode === 'soft' ? values.soft : values.hard;
  if (!src) throw new Error(`no ${mode === 'soft' ? 'soft' : 'hard'} mask for this layer`);
  return src;
}

export function aggregateTiles(plan: TilePlan, values: LayerValues, mode: HeatmapMode, aggregate: TileAggregate): Float32Array {
  const d = values.dims;
  const src = sourceOf(values, mode);
  const useMax = aggregate === 'max' && mode !== 'kept'; // "kept" is always a fraction
  const tiles = plan.tileRows * plan.tileCols;
  const acc = new Float64Array(tiles);
  const count = new Uint32Array(tiles);
  const { offset, tileCol } = columnMaps(plan, d);
  const rowStride = d.I * d.Kh * d.Kw;
  const startRow = Math.max(plan.row0, 0);
  for (let r = startRow; r < plan.rowEnd; r++) {
    const base = r * rowStride;
    const tileRowBase = Math.floor((r - plan.row0) / plan.tileH) * plan.tileCols;
    for (let j = 0; j < offset.length; j++) {
      const v = Math.abs(src[base + offset[j]]);
      const t = tileRowBase + tileCol[j];
      if (useMax) {
        if (v > acc[t]) acc[t] = v;
      } else acc[t] += v;
      count[t]++;
    }
  }
  const out = new Float32Array(tiles);
  for (let t = 0; t < tiles; t++) out[t] = useMax ? acc[t] : count[t] > 0 ? acc[t] / count[t] : 0;
  return out;
}

/**
 * Per tile, the share of its |w| that the hard mask keeps: Σ|w|·H / Σ|w| (the kept fraction of weights when the
 * tile's weights are all zero). Shows where a mask keeps the large weights and where it cuts into them when every
 * tile keeps the same number of weights.
 */
export function keptShareTiles(plan: TilePlan, values: LayerValues): Float32Array {
  const d = values.dims;
  const hard = values.hard;
  if (!hard) throw new Error('no hard mask for this layer');
  const tiles = plan.tileRows * plan.tileCols;
  const kept = new Float64Array(tiles);
  const total = new Float64Array(tiles);
  const keptCount = new Uint32Array(tiles);
  const count = new Uint32Array(tiles);
  const { offset, tileCol } = columnMaps(plan, d);
  const rowStride = d.I * d.Kh * d.Kw;
  for (let r = Math.max(plan.row0, 0); r < plan.rowEnd; r++) {
    const base = r * rowStride;
    const tileRowBase = Math.floor((r - plan.row0) / plan.tileH) * plan.tileCols;
    for (let j = 0; j < offset.length; j++) {
      const k = base + offset[j];
      const v = Math.abs(values.weights[k]);
      const t = tileRowBase + tileCol[j];
      total[t] += v;
      count[t]++;
      if (hard[k]) {
        kept[t] += v;
        keptCount[t]++;
      }
    }
  }
  const out = new Float32Array(tiles);
  for (let t = 0; t < tiles; t++) out[t] = total[t] > 0 ? kept[t] / total[t] : count[t] > 0 ? keptCount[t] / count[t] : 0;
  return out;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    const v = Math.abs(a[k]);
    if (v > m) m = v;
  }
  return m;
}

export function meanOf(a: Uint8Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k];
  return a.length > 0 ? s / a.length : 0;
}

/** The colour scale's top for a mode: the layer's max |w|, 3 (1+F+P) or 2 (no position axis), or 1. */
export function scaleMaxFor(mode: HeatmapMode, values: LayerValues, layerMaxAbs: number): number {
  if (mode === 'magnitude') return layerMaxAbs > 0 ? layerMaxAbs : 1;
  if (mode === 'soft') return values.dims.Kh * values.dims.Kw > 1 ? 3 : 2;
  return 1;
}

/**
 * Colouring of heatmap tiles. At one weight per tile the colours are exact (|w| on a square-root scale from 0 to
 * the layer's max, the mask's own values). When a tile aggregates several weights, exact colours go flat (a max
 * over 12–40 weights is near the layer's max everywhere; a 2:4 mask keeps exactly 50 % of every tile), so:
 *  - |w| (and a kept-|w| share) is contrast-stretched by quantiles of the tiles: 2nd percentile → 0, 98th → 1;
 *  - the kept fraction is shown relative to N/M, stretched to the 98th percentile of the deviations;
 *  - when every tile keeps exactly the same fraction, the tiles show the share of their |w| the mask keeps.
 * Pure: no vscode import (the webview imports `scalePosition`).
 */
import type { HeatmapMode, TileAggregate, TileQuantity, TileScale } from '../../protocol/messages';
import type { TilePlan } from './tilePlan';
import { aggregateTiles, keptShareTiles, LayerValues } from './tileValues';

export const LOW_QUANTILE = 0.02;
export const HIGH_QUANTILE = 0.98;

/** Quantile q in [0, 1] of ascending `sorted`, linearly interpolated between neighbours. */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const x = Math.min(1, Math.max(0, q)) * (n - 1);
  const k = Math.floor(x);
  const f = x - k;
  return k + 1 < n ? sorted[k] + (sorted[k + 1] - sorted[k]) * f : sorted[k];
}

/** The 2nd–98th percentile stretch of `values`; when that range is empty, the full range. */
export function percentileScale(values: Float32Array, low = LOW_QUANTILE, high = HIGH_QUANTILE): Extract<TileScale, { kind: 'percentile' }> {
  const sorted = Float32Array.from(values).sort();
  let lo = quantileOfSorted(sorted, low);
  let hi = quantileOfSorted(sorted, high);
  if (!(hi > lo) && sorted.length > 0) {
    lo = sorted[0];
    hi = sorted[sorted.length - 1];
  }
  return { kind: 'percentile', lo, mid: quantileOfSorted(sorted, 0.5), hi };
}

/** Kept fractions relative to `target`: the span is the 98th percentile of |fraction − target| (else the largest). */
export function deviationScale(values: Float32Array, target: number): Extract<TileScale, { kind: 'deviation' }> {
  const dev = Float32Array.from(values, (v) => Math.abs(v - target)).sort();
  let span = quantileOfSorted(dev, HIGH_QUANTILE);
  if (!(span > 0)) span = dev.length > 0 ? dev[dev.length - 1] : 0;
  return { kind: 'deviation', target, span };
}

/** True when all values are equal (within float rounding): an exact colour scale would paint one flat colour. */
export function isFlat(values: Float32Array, eps = 1e-6): boolean {
  let lo = Infinity, hi = -Infinity;
  for (let k = 0; k < values.length; k++) {
    if (values[k] < lo) lo = values[k];
    if (values[k] > hi) hi = values[k];
  }
  return !(hi - lo > eps);
}

/** Position on the colour ramp, t in [0, 1], of a tile value. */
export function scalePosition(scale: TileScale, quantity: TileQuantity, scaleMax: number, v: number): number {
  const clamp = (t: number) => (t > 1 ? 1 : t > 0 ? t : 0);
  if (scale.kind === 'percentile') return scale.hi > scale.lo ? clamp((v - scale.lo) / (scale.hi - scale.lo)) : 0.5;
  if (scale.kind === 'deviation') return scale.span > 0 ? clamp(0.5 + (v - scale.target) / (2 * scale.span)) : 0.5;
  const top = scaleMax > 0 ? scaleMax : 1;
  if (quantity === 'magnitude') return clamp(Math.sqrt(Math.max(0, v) / top));
  if (quantity === 'soft') return clamp(v / top);
  return clamp(v);
}

export interface ColouredTiles {
  values: Float32Array;
  quantity: TileQuantity;
  scale: TileScale;
  pixel: string;
}

function percent(x: number): string {
  const p = x * 100;
  return `${Number.isInteger(p) ? p.toFixed(0) : p.toFixed(1)} %`;
}

/**
 * The values, scale and legend line for the tiles of `plan`. `keptTarget` is N/M for the pattern (the expected
 * kept fraction); `patternLabel` names it ("2:4").
 */
export function colourTiles(
  plan: TilePlan,
  values: LayerValues,
  mode: HeatmapMode,
  aggregate: TileAggregate,
  keptTarget: number,
  patternLabel: string,
): ColouredTiles {
  const single = plan.tileH * plan.tileW === 1;
  const tile = `a ${plan.tileH}×${plan.tileW} tile`;
  if (mode === 'magnitude') {
    const v = aggregateTiles(plan, values, mode, aggregate);
    if (single) return { values: v, quantity: 'magnitude', scale: { kind: 'absolute' }, pixel: '|w| of one weight (square-root scale)' };
    return { values: v, quantity: 'magnitude', scale: percentileScale(v), pixel: `${aggregate} |w| of ${tile}, colours by percentile` };
  }
  if (mode === 'soft') {
    const v = aggregateTiles(plan, values, mode, aggregate);
    return {
      values: v,
      quantity: 'soft',
      scale: { kind: 'absolute' },
      pixel: single ? 'MaxQ soft mask S = H⊙(1+F+P) of one weight' : `${aggregate} soft mask S = H⊙(1+F+P) of ${tile}`,
    };
  }
  const kept = aggregateTiles(plan, values, 'kept', 'mean');
  if (single) return { values: kept, quantity: 'keptFraction', scale: { kind: 'absolute' }, pixel: 'one weight: kept or pruned' };
  if (!isFlat(kept)) {
    return {
      values: kept,
      quantity: 'keptFraction',
      scale: deviationScale(kept, keptTarget),
      pixel: `kept fraction of ${tile} relative to ${patternLabel} (${percent(keptTarget)}), contrast-stretched`,
    };
  }
  const share = keptShareTiles(plan, values);
  return {
    values: share,
    quantity: 'keptShare',
    scale: percentileScale(share),
    pixel: `share of |w| kept in ${tile} (every tile keeps exactly ${percent(kept[0] ?? 0)}), colours by percentile`,
  };
}

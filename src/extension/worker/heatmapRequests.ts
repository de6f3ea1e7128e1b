/** Answers the inspector's heatmap requests inside the worker: tiles for a view, details for one cell. */
import type { CellDetail, CellRequest, HeatmapTiles, TileRequest } from '../../protocol/messages';
import { NmPattern } from '../../core/masks/nmPattern';
import { describeCell } from '../heatmap/cellDetail';
import { hasBlocks, heatmapGrid } from '../heatmap/grid';
import { planTiles } from '../heatmap/tilePlan';
import { colourTiles } from '../heatmap/tileScale';
import { LayerValues, scaleMaxFor } from '../heatmap/tileValues';
import { LayerStore } from './layerStore';

export async function answerTiles(store: LayerStore, path: string, req: TileRequest): Promise<HeatmapTiles> {
  const { n, m } = NmPattern.parse(req.pattern);
  const layer = await store.layerWeights(path, req.layer);
  // |w| needs no mask; compute it only for the mask modes (the first maxq mask of a big layer is the slow part).
  const outcome = req.mode === 'magnitude' ? null : await store.layerMask(path, req.layer, req.pattern, req.method);
  const mask = outcome && 'mask' in outcome ? outcome.mask : null;
  if (outcome && !mask) throw new Error(`layer '${req.layer}' has no ${req.pattern} mask: ${'unavailable' in outcome ? outcome.unavailable : ''}`);
  const values: LayerValues = mask ? { ...layer.values, hard: mask.hard, soft: mask.soft } : layer.values;
  const dims = layer.values.dims;
  const blockWidth = hasBlocks(dims, m) ? m : 0;
  const plan = planTiles(heatmapGrid(dims), req.view, req.maxTileRows, req.maxTileCols, blockWidth);
  const coloured = colourTiles(plan, values, req.mode, req.aggregate, n / m, `${n}:${m}`);
  return {
    layer: req.layer,
    pattern: req.pattern,
    method: req.method,
    mode: req.mode,
    aggregate: req.aggregate,
    row0: plan.row0,
    col0: plan.col0,
    tileH: plan.tileH,
    tileW: plan.tileW,
    tileRows: plan.tileRows,
    tileCols: plan.tileCols,
    values: coloured.values,
    scaleMax: scaleMaxFor(req.mode, values, layer.maxAbs),
    quantity: coloured.quantity,
    scale: coloured.scale,
    pixel: coloured.pixel,
    blockWidth,
    mask: mask ? { keptFraction: mask.keptFraction, numBlocks: mask.numBlocks, numDenseBlocks: mask.numDenseBlocks } : null,
  };
}

export async function answerCell(store: LayerStore, path: string, req: CellRequest): Promise<CellDetail> {
  const m = NmPattern.parse(req.pattern).m;
  const layer = await store.layerWeights(path, req.layer);
  const outcome = await store.layerMask(path, req.layer, req.pattern, req.method);
  if ('mask' in outcome) {
    return describeCell(req.layer, { ...layer.values, hard: outcome.mask.hard, soft: outcome.mask.soft }, m, req.row, req.col);
  }
  return describeCell(req.layer, layer.values, m, req.row, req.col, outcome.unavailable);
}

/**
 * Which tiles answer a view request: the visible cell rectangle is clipped to the grid and cut into at most
 * maxTileRows × maxTileCols tiles. When a tile spans several columns its width is a whole number of N:M blocks
 * and tiles start on block boundaries, so a tile never splits a block. Pure: no vscode import.
 */
import type { CellRect, HeatmapGridInfo } from '../../protocol/messages';

export interface TilePlan {
  row0: number;
  col0: number;
  /** First row/column past the tiled area: the visible area extended to whole tiles, clipped to the grid. */
  rowEnd: number;
  colEnd: number;
  tileH: number;
  tileW: number;
  tileRows: number;
  tileCols: number;
}

/** Never more tiles than this per axis, whatever the webview asks for. */
export const MAX_TILES_PER_AXIS = 512;

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Smallest tile size ≥ `minSize` (a multiple of `unit` when above 1) giving at most `maxTiles` aligned tiles. */
function tileSize(start: number, end: number, maxTiles: number, unit: number): number {
  let size = Math.max(1, Math.ceil((end - start) / maxTiles));
  const step = () => (size > 1 && unit > 1 ? Math.ceil(size / unit) * unit : size);
  size = step();
  // Aligning the start down to a tile boundary can add one tile; grow until the count fits.
  while (Math.ceil((end - Math.floor(start / size) * size) / size) > maxTiles) {
    size = size + 1;
    size = step();
  }
  return size;
}

export function planTiles(grid: Pick<HeatmapGridInfo, 'rows' | 'cols'>, view: CellRect, maxTileRows: number, maxTileCols: number, blockWidth: number): TilePlan {
  const maxR = clampInt(Math.floor(maxTileRows) || 1, 1, MAX_TILES_PER_AXIS);
  const maxC = clampInt(Math.floor(maxTileCols) || 1, 1, MAX_TILES_PER_AXIS);
  const r0 = clampInt(Math.floor(view.row0), 0, grid.rows - 1);
  const c0 = clampInt(Math.floor(view.col0), 0, grid.cols - 1);
  const rEnd = clampInt(Math.ceil(view.row0 + view.rows), r0 + 1, grid.rows);
  const cEnd = clampInt(Math.ceil(view.col0 + view.cols), c0 + 1, grid.cols);
  const tileH = tileSize(r0, rEnd, maxR, 1);
  const tileW = tileSize(c0, cEnd, maxC, blockWidth);
  const row0 = Math.floor(r0 / tileH) * tileH;
  const col0 = Math.floor(c0 / tileW) * tileW;
  const tileRows = Math.ceil((rEnd - row0) / tileH);
  const tileCols = Math.ceil((cEnd - col0) / tileW);
  // The last tile of each axis covers its whole extent (clipped to the grid only), not just the visible part:
  // a tile's value then does not depend on where the view's edge falls, and it always holds whole N:M blocks.
  return {
    row0,
    col0,
    rowEnd: Math.min(grid.rows, row0 + tileRows * tileH),
    colEnd: Math.min(grid.cols, col0 + tileCols * tileW),
    tileH,
    tileW,
    tileRows,
    tileCols,
  };
}

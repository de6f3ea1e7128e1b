/**
 * Zoom and pan of the heatmap, in cells. Each axis has its own scale (px per cell): the fitted layer fills the
 * canvas, zooming multiplies both scales, and each axis is clamped between its fit and MAX_CELL_PX so a layer
 * with 10 rows and 4608 columns never stretches one row over the whole screen. Pure functions.
 */
import type { CellRect } from '../../src/protocol/messages';

export interface Viewport {
  /** Top-left visible cell (fractional). */
  x0: number;
  y0: number;
  /** Pixels per cell. */
  sx: number;
  sy: number;
}

export interface Surface {
  rows: number;
  cols: number;
  /** Canvas size in CSS pixels. */
  width: number;
  height: number;
}

export const MAX_CELL_PX = 48;

export function fitViewport(s: Surface): Viewport {
  return { x0: 0, y0: 0, sx: s.width / s.cols, sy: s.height / s.rows };
}

function axisLimits(fit: number): [number, number] {
  return [fit, Math.max(fit, MAX_CELL_PX)];
}

export function clampViewport(v: Viewport, s: Surface): Viewport {
  const fit = fitViewport(s);
  const [sxMin, sxMax] = axisLimits(fit.sx);
  const [syMin, syMax] = axisLimits(fit.sy);
  const sx = Math.min(sxMax, Math.max(sxMin, v.sx));
  const sy = Math.min(syMax, Math.max(syMin, v.sy));
  const visCols = s.width / sx;
  const visRows = s.height / sy;
  return {
    sx,
    sy,
    x0: Math.min(Math.max(0, s.cols - visCols), Math.max(0, v.x0)),
    y0: Math.min(Math.max(0, s.rows - visRows), Math.max(0, v.y0)),
  };
}

export function visibleCells(v: Viewport, s: Surface): CellRect {
  return { row0: v.y0, col0: v.x0, rows: s.height / v.sy, cols: s.width / v.sx };
}

/** Zoom by `factor` keeping the cell under (px, py) where it is. */
export function zoomAt(v: Viewport, s: Surface, factor: number, px: number, py: number): Viewport {
  const cx = v.x0 + px / v.sx;
  const cy = v.y0 + py / v.sy;
  const z = clampViewport({ ...v, sx: v.sx * factor, sy: v.sy * factor }, s);
  return clampViewport({ ...z, x0: cx - px / z.sx, y0: cy - py / z.sy }, s);
}

export function panBy(v: Viewport, s: Surface, dxPx: number, dyPx: number): Viewport {
  return clampViewport({ ...v, x0: v.x0 - dxPx / v.sx, y0: v.y0 - dyPx / v.sy }, s);
}

/** Zoom so that cells are at least `minCellPx` wide (a block is a run of columns) and centre the rectangle. */
export function focusOn(v: Viewport, s: Surface, rect: CellRect, minCellPx: number): Viewport {
  const factor = Math.max(1, minCellPx / v.sx);
  const z = clampViewport({ ...v, sx: v.sx * factor, sy: v.sy * factor }, s);
  const cx = rect.col0 + rect.cols / 2;
  const cy = rect.row0 + rect.rows / 2;
  return clampViewport({ ...z, x0: cx - s.width / z.sx / 2, y0: cy - s.height / z.sy / 2 }, s);
}

/** Pans the least needed so the cell is visible. */
export function ensureVisible(v: Viewport, s: Surface, row: number, col: number): Viewport {
  const r = visibleCells(v, s);
  let { x0, y0 } = v;
  if (col < r.col0) x0 = col;
  else if (col + 1 > r.col0 + r.cols) x0 = col + 1 - r.cols;
  if (row < r.row0) y0 = row;
  else if (row + 1 > r.row0 + r.rows) y0 = row + 1 - r.rows;
  return clampViewport({ ...v, x0, y0 }, s);
}

/** The cell at canvas point (px, py), or null outside the layer. */
export function cellAt(v: Viewport, s: Surface, px: number, py: number): { row: number; col: number } | null {
  const col = Math.floor(v.x0 + px / v.sx);
  const row = Math.floor(v.y0 + py / v.sy);
  if (row < 0 || col < 0 || row >= s.rows || col >= s.cols) return null;
  return { row, col };
}

/** Viewport kept across a canvas resize: same top-left cell and zoom relative to the fit. */
export function rescale(v: Viewport, before: Surface, after: Surface): Viewport {
  const f0 = fitViewport(before);
  const f1 = fitViewport(after);
  return clampViewport({ x0: v.x0, y0: v.y0, sx: (v.sx / f0.sx) * f1.sx, sy: (v.sy / f0.sy) * f1.sy }, after);
}

/**
 * Paints the heatmap: the host's tiles as one bitmap (one pixel per tile, scaled up without smoothing), then the
 * N:M block boundaries, kernel-position separators and row lines when they are far enough apart to read, then
 * the highlighted block and the keyboard cursor.
 */
import type { CellHighlight, HeatmapGridInfo, HeatmapTiles } from '../../src/protocol/messages';
import { rgbaString } from '../components/theme';
import { ColorFn, Palette } from './colorScale';
import { Surface, Viewport } from './viewport';

export function tileBitmap(tiles: HeatmapTiles, color: ColorFn): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = tiles.tileCols;
  c.height = tiles.tileRows;
  const ctx = c.getContext('2d');
  if (!ctx) return c;
  const img = ctx.createImageData(tiles.tileCols, tiles.tileRows);
  const px = img.data;
  for (let t = 0; t < tiles.values.length; t++) {
    const rgba = color(tiles.values[t]);
    px[t * 4] = rgba.r;
    px[t * 4 + 1] = rgba.g;
    px[t * 4 + 2] = rgba.b;
    px[t * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

export interface Scene {
  surface: Surface;
  viewport: Viewport;
  grid: HeatmapGridInfo;
  tiles: HeatmapTiles | null;
  bitmap: HTMLCanvasElement | null;
  palette: Palette;
  highlight: CellHighlight | null;
  cursor: { row: number; col: number } | null;
  hover: { row: number; col: number } | null;
}

/** x in CSS px of column boundary `col`, y of row boundary `row`. */
function xOf(v: Viewport, col: number): number {
  return (col - v.x0) * v.sx;
}
function yOf(v: Viewport, row: number): number {
  return (row - v.y0) * v.sy;
}

function verticalLines(ctx: CanvasRenderingContext2D, v: Viewport, s: Surface, every: number, top: number, bottom: number): void {
  const first = Math.max(every, Math.ceil(v.x0 / every) * every);
  const last = Math.min(s.cols - 1, v.x0 + s.width / v.sx);
  ctx.beginPath();
  for (let c = first; c <= last; c += every) {
    const x = Math.round(xOf(v, c)) + 0.5;
    ctx.moveTo(x, top);
    ctx.lineTo(x, bottom);
  }
  ctx.stroke();
}

function outline(ctx: CanvasRenderingContext2D, v: Viewport, row: number, col: number, rows: number, cols: number, minPx: number): void {
  let x = xOf(v, col), y = yOf(v, row), w = cols * v.sx, h = rows * v.sy;
  if (w < minPx) { x -= (minPx - w) / 2; w = minPx; }
  if (h < minPx) { y -= (minPx - h) / 2; h = minPx; }
  ctx.strokeRect(Math.round(x) + 0.5, Math.round(y) + 0.5, Math.round(w), Math.round(h));
}

export function drawScene(ctx: CanvasRenderingContext2D, scene: Scene, dpr: number): void {
  const { surface: s, viewport: v, palette: p, tiles } = scene;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = rgbaString(p.background, 1);
  ctx.fillRect(0, 0, s.width, s.height);
  const gridLeft = Math.max(0, xOf(v, 0)), gridTop = Math.max(0, yOf(v, 0));
  const gridRight = Math.min(s.width, xOf(v, s.cols)), gridBottom = Math.min(s.height, yOf(v, s.rows));
  ctx.save();
  ctx.beginPath();
  ctx.rect(gridLeft, gridTop, gridRight - gridLeft, gridBottom - gridTop);
  ctx.clip();
  if (tiles && scene.bitmap) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(
      scene.bitmap,
      xOf(v, tiles.col0),
      yOf(v, tiles.row0),
      tiles.tileCols * tiles.tileW * v.sx,
      tiles.tileRows * tiles.tileH * v.sy,
    );
  }
  ctx.lineWidth = 1;
  // Rows, when each is at least 6 px tall.
  if (v.sy >= 6) {
    ctx.strokeStyle = rgbaString(p.blockLine, 0.6);
    ctx.beginPath();
    for (let r = Math.max(1, Math.ceil(v.y0)); r < Math.min(s.rows, v.y0 + s.height / v.sy); r++) {
      const y = Math.round(yOf(v, r)) + 0.5;
      ctx.moveTo(gridLeft, y);
      ctx.lineTo(gridRight, y);
    }
    ctx.stroke();
  }
  // N:M blocks, when a block is at least 6 px wide and tiles are single cells.
  const m = tiles?.blockWidth ?? 0;
  if (m > 0 && m * v.sx >= 6 && (tiles?.tileW ?? 1) === 1) {
    ctx.strokeStyle = rgbaString(p.blockLine, 1);
    verticalLines(ctx, v, s, m, gridTop, gridBottom);
  }
  // Kernel positions (h, w): every I columns.
  const kk = scene.grid.kh * scene.grid.kw;
  if (kk > 1 && scene.grid.inputChannels * v.sx >= 3) {
    ctx.strokeStyle = rgbaString(p.separator, 1);
    ctx.lineWidth = v.sx * scene.grid.inputChannels >= 24 ? 2 : 1;
    verticalLines(ctx, v, s, scene.grid.inputChannels, gridTop, gridBottom);
    ctx.lineWidth = 1;
  }
  ctx.restore();
  if (scene.hover) {
    ctx.strokeStyle = rgbaString(p.foreground, 0.8);
    outline(ctx, v, scene.hover.row, scene.hover.col, 1, 1, 4);
  }
  if (scene.highlight) {
    ctx.strokeStyle = rgbaString(p.highlight, 1);
    ctx.lineWidth = 2;
    outline(ctx, v, scene.highlight.row, scene.highlight.col, 1, scene.highlight.cols, 8);
    ctx.lineWidth = 1;
  }
  if (scene.cursor) {
    ctx.strokeStyle = rgbaString(p.cursor, 1);
    ctx.lineWidth = 2;
    outline(ctx, v, scene.cursor.row, scene.cursor.col, 1, 1, 6);
    ctx.lineWidth = 1;
  }
}

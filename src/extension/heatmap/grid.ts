/**
 * Heatmap geometry of a layer. Rows are output channels o; columns run over kernel positions p = h·Kw + w
 * (outer) and input channels i (inner): col = p·I + i. An N:M block — M consecutive input channels at a fixed
 * (o, h, w) — is then M adjacent cells of one row, starting at a multiple of M. This is the OHWI order the
 * block index b = ((o·Kh + h)·Kw + w)·(I/M) + g counts in. Pure functions: no vscode import.
 */
import type { HeatmapGridInfo } from '../../protocol/messages';

/** Canonical OIHW weight dimensions (linear layers are [out, in, 1, 1]). */
export interface LayerDims {
  O: number;
  I: number;
  Kh: number;
  Kw: number;
}

export function heatmapGrid(d: LayerDims): HeatmapGridInfo {
  return { rows: d.O, cols: d.Kh * d.Kw * d.I, inputChannels: d.I, kh: d.Kh, kw: d.Kw };
}

export function dimsOfShape(shape: readonly [number, number, number, number]): LayerDims {
  return { O: shape[0], I: shape[1], Kh: shape[2], Kw: shape[3] };
}

export interface WeightCoords {
  o: number;
  i: number;
  h: number;
  w: number;
  /** Flat OIHW offset ((o·I + i)·Kh + h)·Kw + w. */
  index: number;
}

export function cellToWeight(d: LayerDims, row: number, col: number): WeightCoords {
  const p = Math.floor(col / d.I);
  const i = col - p * d.I;
  const h = Math.floor(p / d.Kw);
  const w = p - h * d.Kw;
  return { o: row, i, h, w, index: (row * d.I + i) * d.Kh * d.Kw + p };
}

export function weightToCell(d: LayerDims, c: { o: number; i: number; h: number; w: number }): { row: number; col: number } {
  return { row: c.o, col: (c.h * d.Kw + c.w) * d.I + c.i };
}

/** True when the layer splits into M-blocks along its input channels. */
export function hasBlocks(d: LayerDims, m: number): boolean {
  return m > 1 && d.I % m === 0;
}

export function blockIndex(d: LayerDims, m: number, c: { o: number; i: number; h: number; w: number }): number | null {
  if (!hasBlocks(d, m)) return null;
  return ((c.o * d.Kh + c.h) * d.Kw + c.w) * (d.I / m) + Math.floor(c.i / m);
}

export function isInsideGrid(d: LayerDims, row: number, col: number): boolean {
  return Number.isInteger(row) && Number.isInteger(col) && row >= 0 && row < d.O && col >= 0 && col < d.Kh * d.Kw * d.I;
}

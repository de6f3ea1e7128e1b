/**
 * The heatmap canvas of one layer with its interactions: wheel or +/− to zoom, drag or Shift+arrows to pan,
 * arrows to move a cursor cell, Enter to read it out, hover for a tooltip. Tiles are re-requested (debounced)
 * whenever the visible area changes; until they arrive the last tiles are redrawn at the new position.
 */
import type { CellDetail, CellHighlight, CellRect, HeatmapTiles, InspectorLayerRow } from '../../src/protocol/messages';
import { button } from '../components/button';
import { h } from '../components/dom';
import { onThemeChange } from '../components/theme';
import { cellContent, cellLines, tileSummary } from './cellTooltip';
import { colorFunction, Palette, readPalette } from './colorScale';
import { drawScene, tileBitmap } from './heatmapCanvas';
import { Legend } from './legend';
import { cellAt, clampViewport, ensureVisible, fitViewport, focusOn, panBy, rescale, Surface, Viewport, visibleCells, zoomAt } from './viewport';

export interface HeatmapRequests {
  /** Ask for tiles of the visible area; returns the request id. */
  tiles(view: CellRect, maxTileRows: number, maxTileCols: number): number;
  cell(row: number, col: number): number;
  /** The view moved (to persist it). */
  viewChanged(v: Viewport): void;
  /** Drawing finished or failed: the page status may change. */
  settled(): void;
}

const TILE_DEBOUNCE_MS = 60;
const HOVER_DEBOUNCE_MS = 40;
const MAX_TILES = 512;

export class HeatmapView {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private readonly readout: HTMLElement;
  private readonly info: HTMLElement;
  private readonly errorBox: HTMLElement;
  private readonly legend = new Legend();
  private palette: Palette = readPalette();
  private layer: InspectorLayerRow | null = null;
  private surface: Surface = { rows: 1, cols: 1, width: 1, height: 1 };
  private viewport: Viewport = { x0: 0, y0: 0, sx: 1, sy: 1 };
  private tiles: HeatmapTiles | null = null;
  private bitmap: HTMLCanvasElement | null = null;
  private highlight: CellHighlight | null = null;
  private cursor: { row: number; col: number } | null = null;
  private hover: { row: number; col: number } | null = null;
  private tileRequest = 0;
  private cellRequest = 0;
  private cellTarget: { row: number; col: number; px: number; py: number; keyboard: boolean } | null = null;
  private tileTimer: number | undefined;
  private hoverTimer: number | undefined;
  private drag: { x: number; y: number; id: number } | null = null;
  private failed: string | null = null;
  /** 1 while a tile request is scheduled or in flight. */
  private pendingTiles = 0;

  constructor(private readonly requests: HeatmapRequests) {
    this.canvas = h('canvas', {
      id: 'heatmap',
      tabindex: 0,
      role: 'img',
      'aria-label': 'Weight heatmap. Arrow keys move the cursor, Shift+arrows pan, plus and minus zoom, 0 fits, Enter reads the cell.',
      'aria-describedby': 'heatmap-readout',
    });
    this.tooltip = h('div', { id: 'heatmap-tooltip', role: 'tooltip', hidden: true });
    this.readout = h('div', { id: 'heatmap-readout', class: 'visually-hidden', 'aria-live': 'polite' });
    this.info = h('div', { id: 'heatmap-info', class: 'muted' });
    this.errorBox = h('div', { id: 'heatmap-error', role: 'alert', hidden: true });
    const zoom = h('div', { class: 'actions zoom-buttons' },
      button({ id: 'zoom-in', label: 'Zoom in', appearance: 'icon', glyph: '+', onClick: () => this.zoomCentre(2) }),
      button({ id: 'zoom-out', label: 'Zoom out', appearance: 'icon', glyph: '−', onClick: () => this.zoomCentre(0.5) }),
      button({ id: 'zoom-fit', label: 'Fit layer', appearance: 'icon', glyph: '⤢', onClick: () => this.fit() }));
    const stage = h('div', { class: 'heatmap-stage' }, this.canvas, this.tooltip);
    this.element = h('div', { class: 'heatmap' }, h('div', { class: 'heatmap-bar' }, this.info, zoom), stage, this.errorBox, this.legend.element, this.readout);
    this.listen();
    new ResizeObserver(() => this.resize()).observe(stage);
    onThemeChange(() => {
      this.palette = readPalette();
      this.rebuildBitmap();
      this.draw();
    });
  }

  /** The layer whose tiles are drawn now (tests read `#heatmap[data-layer]`). */
  get drawnLayer(): string | null {
    return this.tiles?.layer ?? null;
  }

  /** True when nothing is pending: tiles for the current layer are drawn, or failed. */
  get settled(): boolean {
    return !this.layer || this.failed !== null || (this.tiles !== null && this.pendingTiles === 0);
  }

  setLayer(layer: InspectorLayerRow | null, restore: Viewport | null): void {
    const same = this.layer?.name === layer?.name;
    this.layer = layer;
    if (!same) {
      this.tiles = null;
      this.bitmap = null;
      this.highlight = null;
      this.cursor = null;
      this.hideTooltip();
    }
    this.failed = null;
    this.errorBox.hidden = true;
    this.canvas.dataset.layer = layer?.name ?? '';
    if (!layer) {
      this.info.textContent = 'Select a layer to see its weights.';
      this.draw();
      return;
    }
    this.measure();
    this.viewport = restore ? clampViewport(restore, this.surface) : same ? clampViewport(this.viewport, this.surface) : fitViewport(this.surface);
    this.draw();
    this.requestTiles(0);
  }

  /** Mode, aggregate, pattern or method changed: same view, new tiles. */
  refresh(): void {
    if (this.layer) this.requestTiles(0);
  }

  setHighlight(hl: CellHighlight | null): void {
    this.highlight = hl;
    if (hl) {
      this.cursor = { row: hl.row, col: hl.col };
      this.viewport = focusOn(this.viewport, this.surface, { row0: hl.row, col0: hl.col, rows: 1, cols: hl.cols }, 14);
      this.viewChanged();
    }
    this.draw();
  }

  receiveTiles(requestId: number, tiles: HeatmapTiles): void {
    if (requestId !== this.tileRequest || tiles.layer !== this.layer?.name) return;
    this.pendingTiles = 0;
    this.tiles = tiles;
    this.failed = null;
    this.errorBox.hidden = true;
    this.rebuildBitmap();
    this.canvas.dataset.mode = tiles.mode;
    this.canvas.dataset.tiles = `${tiles.tileRows}x${tiles.tileCols}`;
    this.canvas.dataset.drawn = 'true';
    this.canvas.dataset.scale = tiles.scale.kind;
    this.updateInfo();
    this.draw();
    // A tooltip open over the new tiles (after a zoom or pan) says their tile size, not the old one's.
    if (this.cellTarget && !this.tooltip.hidden) this.refreshTileSummary(this.cellTarget.row, this.cellTarget.col);
    this.requests.settled();
  }

  receiveCell(requestId: number, cell: CellDetail): void {
    const t = this.cellTarget;
    if (requestId !== this.cellRequest || !t || t.row !== cell.row || t.col !== cell.col) return;
    this.tooltip.replaceChildren(cellContent(cell));
    this.refreshTileSummary(cell.row, cell.col);
    this.placeTooltip(t.px, t.py);
    if (t.keyboard) this.readout.textContent = cellLines(cell).join('. ');
  }

  /** A request of ours failed: returns true when it was the current tile request. */
  requestFailed(requestId: number, message: string): boolean {
    if (requestId === this.cellRequest) {
      this.tooltip.replaceChildren(h('div', {}, message));
      return false;
    }
    if (requestId !== this.tileRequest) return false;
    this.pendingTiles = 0;
    this.failed = message;
    this.errorBox.textContent = message;
    this.errorBox.hidden = false;
    this.tiles = null;
    this.bitmap = null;
    this.canvas.dataset.drawn = 'false';
    this.draw();
    this.requests.settled();
    return true;
  }

  fit(): void {
    this.viewport = fitViewport(this.surface);
    this.viewChanged();
  }

  zoomCentre(factor: number): void {
    this.viewport = zoomAt(this.viewport, this.surface, factor, this.surface.width / 2, this.surface.height / 2);
    this.viewChanged();
  }

  /** The tooltip's "tile of H×W" line from the tiles drawn now (none while the view's tiles are on their way). */
  private refreshTileSummary(row: number, col: number): void {
    this.tooltip.querySelector('.tile-summary')?.remove();
    const summary = this.tiles && this.pendingTiles === 0 ? tileSummary(this.tiles, row, col) : null;
    if (summary) this.tooltip.append(h('div', { class: 'muted tile-summary' }, summary));
  }

  private viewChanged(): void {
    // The zoom changes the tile size: the open tooltip's tile line is stale until the new tiles arrive.
    this.tooltip.querySelector('.tile-summary')?.remove();
    this.draw();
    this.updateInfo();
    this.requests.viewChanged(this.viewport);
    this.requestTiles(TILE_DEBOUNCE_MS);
  }

  private requestTiles(delay: number): void {
    if (!this.layer) return;
    window.clearTimeout(this.tileTimer);
    this.pendingTiles = 1;
    this.tileTimer = window.setTimeout(() => {
      this.tileTimer = undefined;
      const dpr = window.devicePixelRatio || 1;
      const maxRows = Math.min(MAX_TILES, Math.ceil(this.surface.height * dpr));
      const maxCols = Math.min(MAX_TILES, Math.ceil(this.surface.width * dpr));
      this.tileRequest = this.requests.tiles(visibleCells(this.viewport, this.surface), maxRows, maxCols);
    }, delay);
  }

  private rebuildBitmap(): void {
    this.bitmap = this.tiles ? tileBitmap(this.tiles, colorFunction(this.tiles, this.palette)) : null;
    if (this.tiles) this.legend.show(this.tiles, this.palette);
  }

  private measure(): void {
    const stage = this.canvas.parentElement as HTMLElement;
    const rows = this.layer?.grid.rows ?? 1;
    const cols = this.layer?.grid.cols ?? 1;
    const width = Math.max(120, stage.clientWidth);
    // Tall enough to separate rows of small layers, never taller than a screenful.
    const height = Math.round(Math.min(520, Math.max(220, rows * 6)));
    this.surface = { rows, cols, width, height };
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
  }

  private resize(): void {
    if (!this.layer) return;
    const before = this.surface;
    this.measure();
    if (before.width === this.surface.width && before.height === this.surface.height) return;
    this.viewport = rescale(this.viewport, before, this.surface);
    this.viewChanged();
  }

  private draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx || !this.layer) {
      ctx?.clearRect(0, 0, this.canvas.width, this.canvas.height);
      return;
    }
    drawScene(ctx, {
      surface: this.surface,
      viewport: this.viewport,
      grid: this.layer.grid,
      tiles: this.tiles,
      bitmap: this.bitmap,
      palette: this.palette,
      highlight: this.highlight,
      cursor: document.activeElement === this.canvas ? this.cursor : null,
      hover: this.hover,
    }, window.devicePixelRatio || 1);
  }

  private updateInfo(): void {
    const l = this.layer;
    if (!l) return;
    const r = visibleCells(this.viewport, this.surface);
    const rows = `${Math.floor(r.row0)}–${Math.min(l.grid.rows, Math.ceil(r.row0 + r.rows)) - 1}`;
    const cols = `${Math.floor(r.col0)}–${Math.min(l.grid.cols, Math.ceil(r.col0 + r.cols)) - 1}`;
    const t = this.tiles;
    const tile = t && (t.tileW > 1 || t.tileH > 1) ? ` · tiles of ${t.tileH}×${t.tileW}` : '';
    const mask = t?.mask ? ` · ${(t.mask.keptFraction * 100).toFixed(1)}% kept` : t?.maskUnavailable ? ` · no mask: ${t.maskUnavailable}` : '';
    const kernel = l.grid.kh * l.grid.kw > 1 ? `${l.grid.kh}×${l.grid.kw} positions × ${l.grid.inputChannels} inputs` : `${l.grid.inputChannels} inputs`;
    this.info.textContent = `rows = ${l.grid.rows} outputs (showing ${rows}) · columns = ${kernel} (showing ${cols})${tile}${mask}`;
  }

  // ── interaction ──

  private point(e: MouseEvent): { px: number; py: number } {
    const r = this.canvas.getBoundingClientRect();
    return { px: e.clientX - r.left, py: e.clientY - r.top };
  }

  private listen(): void {
    const c = this.canvas;
    c.addEventListener('wheel', (e) => {
      if (!this.layer) return;
      e.preventDefault();
      const { px, py } = this.point(e);
      if (e.shiftKey) this.viewport = panBy(this.viewport, this.surface, -e.deltaY, 0);
      else this.viewport = zoomAt(this.viewport, this.surface, Math.exp(-e.deltaY * 0.0015), px, py);
      this.viewChanged();
    }, { passive: false });
    c.addEventListener('pointerdown', (e) => {
      if (!this.layer || e.button !== 0) return;
      c.setPointerCapture(e.pointerId);
      this.drag = { x: e.clientX, y: e.clientY, id: e.pointerId };
    });
    c.addEventListener('pointerup', (e) => {
      if (this.drag?.id === e.pointerId) this.drag = null;
    });
    c.addEventListener('pointermove', (e) => {
      if (!this.layer) return;
      if (this.drag) {
        this.viewport = panBy(this.viewport, this.surface, e.clientX - this.drag.x, e.clientY - this.drag.y);
        this.drag.x = e.clientX;
        this.drag.y = e.clientY;
        this.hideTooltip();
        this.viewChanged();
        return;
      }
      const { px, py } = this.point(e);
      const cell = cellAt(this.viewport, this.surface, px, py);
      if (!cell) {
        this.hideTooltip();
        return;
      }
      if (this.hover?.row === cell.row && this.hover?.col === cell.col) return;
      this.hover = cell;
      this.draw();
      this.askCell(cell.row, cell.col, px, py, false);
    });
    c.addEventListener('pointerleave', () => this.hideTooltip());
    c.addEventListener('dblclick', (e) => {
      const { px, py } = this.point(e);
      this.viewport = zoomAt(this.viewport, this.surface, e.shiftKey ? 0.5 : 2, px, py);
      this.viewChanged();
    });
    c.addEventListener('focus', () => {
      if (!this.cursor && this.layer) {
        const r = visibleCells(this.viewport, this.surface);
        this.cursor = { row: Math.floor(r.row0), col: Math.floor(r.col0) };
      }
      this.draw();
    });
    c.addEventListener('blur', () => {
      this.hideTooltip();
      this.draw();
    });
    c.addEventListener('keydown', (e) => this.onKey(e));
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.layer) return;
    const cur = this.cursor ?? { row: 0, col: 0 };
    // One arrow press moves about 8 px worth of cells, at least one cell.
    const stepC = Math.max(1, Math.round(8 / this.viewport.sx));
    const stepR = Math.max(1, Math.round(8 / this.viewport.sy));
    const dir: Record<string, [number, number]> = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    if (e.key in dir) {
      e.preventDefault();
      const [dr, dc] = dir[e.key];
      if (e.shiftKey) {
        this.viewport = panBy(this.viewport, this.surface, -dc * this.surface.width / 4, -dr * this.surface.height / 4);
      } else {
        const row = Math.min(this.surface.rows - 1, Math.max(0, cur.row + dr * stepR));
        const col = Math.min(this.surface.cols - 1, Math.max(0, cur.col + dc * stepC));
        this.cursor = { row, col };
        this.viewport = ensureVisible(this.viewport, this.surface, row, col);
        this.hideTooltip();
      }
      this.viewChanged();
      return;
    }
    const cursorPx = () => ({ px: (cur.col + 0.5 - this.viewport.x0) * this.viewport.sx, py: (cur.row + 0.5 - this.viewport.y0) * this.viewport.sy });
    switch (e.key) {
      case '+':
      case '=': {
        const { px, py } = cursorPx();
        this.viewport = zoomAt(this.viewport, this.surface, 2, px, py);
        break;
      }
      case '-':
      case '_': {
        const { px, py } = cursorPx();
        this.viewport = zoomAt(this.viewport, this.surface, 0.5, px, py);
        break;
      }
      case '0':
        this.viewport = fitViewport(this.surface);
        break;
      case 'Enter':
      case ' ': {
        e.preventDefault();
        this.cursor = cur;
        const { px, py } = cursorPx();
        this.askCell(cur.row, cur.col, px, py, true);
        return;
      }
      case 'Escape':
        this.hideTooltip();
        return;
      default:
        return;
    }
    e.preventDefault();
    this.viewChanged();
  }

  private askCell(row: number, col: number, px: number, py: number, keyboard: boolean): void {
    this.cellTarget = { row, col, px, py, keyboard };
    this.tooltip.replaceChildren(h('div', {}, `output ${row} · column ${col}`));
    this.refreshTileSummary(row, col);
    this.placeTooltip(px, py);
    window.clearTimeout(this.hoverTimer);
    this.hoverTimer = window.setTimeout(() => {
      this.cellRequest = this.requests.cell(row, col);
    }, keyboard ? 0 : HOVER_DEBOUNCE_MS);
  }

  private placeTooltip(px: number, py: number): void {
    const t = this.tooltip;
    t.hidden = false;
    const w = t.offsetWidth, hgt = t.offsetHeight;
    const x = px + 14 + w > this.surface.width ? Math.max(0, px - 14 - w) : px + 14;
    const y = py + 14 + hgt > this.surface.height ? Math.max(0, py - 14 - hgt) : py + 14;
    t.style.left = `${x}px`;
    t.style.top = `${y}px`;
  }

  private hideTooltip(): void {
    window.clearTimeout(this.hoverTimer);
    this.cellTarget = null;
    this.tooltip.hidden = true;
    if (this.hover) {
      this.hover = null;
      this.draw();
    }
  }
}

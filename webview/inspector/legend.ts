/** The colour legend under the heatmap: what one pixel is, a gradient strip painted with the same scale, its labels. */
import type { HeatmapTiles } from '../../src/protocol/messages';
import { h } from '../components/dom';
import { legendStops, Palette, rampFunction } from './colorScale';

export class Legend {
  readonly element: HTMLElement;
  private readonly strip: HTMLCanvasElement;
  private readonly labels: HTMLElement;
  private readonly title: HTMLElement;

  constructor() {
    this.strip = h('canvas', { class: 'legend-strip', width: 240, height: 10, 'aria-hidden': 'true' });
    this.labels = h('div', { class: 'legend-labels' });
    this.title = h('div', { class: 'legend-title' });
    this.element = h('div', { id: 'heatmap-legend', class: 'legend', hidden: true }, this.title, this.strip, this.labels);
  }

  show(tiles: HeatmapTiles, palette: Palette): void {
    this.element.hidden = false;
    this.element.dataset.scale = tiles.scale.kind;
    this.element.dataset.quantity = tiles.quantity;
    this.title.textContent = `Each pixel: ${tiles.pixel}`;
    const ctx = this.strip.getContext('2d');
    if (ctx) {
      const color = rampFunction(tiles, palette);
      const w = this.strip.width;
      const img = ctx.createImageData(w, 1);
      for (let x = 0; x < w; x++) {
        const c = color(x / (w - 1));
        img.data.set([c.r, c.g, c.b, 255], x * 4);
      }
      for (let y = 0; y < this.strip.height; y++) ctx.putImageData(img, 0, y);
    }
    const stops = legendStops(tiles);
    this.labels.replaceChildren(...stops.map((s) => {
      const label = h('span', { class: 'legend-label' }, s.label);
      // Positioned with CSSOM (allowed by the CSP, unlike style attributes).
      label.style.left = `${(s.at * 100).toFixed(1)}%`;
      return label;
    }));
  }
}

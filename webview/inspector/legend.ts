/** The colour legend under the heatmap: a gradient strip painted with the same scale, and its labels. */
import type { HeatmapMode } from '../../src/protocol/messages';
import { h } from '../components/dom';
import { colorFunction, legendStops, Palette } from './colorScale';

const TITLES: Record<HeatmapMode, string> = {
  magnitude: '|w| (square-root scale; tiles: max or mean)',
  soft: 'MaxQ soft mask S = H⊙(1+F+P)',
  kept: 'Hard mask: kept vs pruned (tiles: fraction kept)',
};

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

  show(mode: HeatmapMode, scaleMax: number, palette: Palette): void {
    this.element.hidden = false;
    this.title.textContent = TITLES[mode];
    const ctx = this.strip.getContext('2d');
    if (ctx) {
      const color = colorFunction(mode, scaleMax, palette);
      const w = this.strip.width;
      const img = ctx.createImageData(w, 1);
      for (let x = 0; x < w; x++) {
        const t = x / (w - 1);
        const c = color(mode === 'magnitude' ? t * t * scaleMax : mode === 'soft' ? t * scaleMax : t);
        img.data.set([c.r, c.g, c.b, 255], x * 4);
      }
      for (let y = 0; y < this.strip.height; y++) ctx.putImageData(img, 0, y);
    }
    const stops = legendStops(mode, scaleMax);
    this.labels.replaceChildren(...stops.map((s) => {
      const label = h('span', { class: 'legend-label' }, s.label);
      // Positioned with CSSOM (allowed by the CSP, unlike style attributes).
      label.style.left = `${(s.at * 100).toFixed(1)}%`;
      return label;
    }));
  }
}

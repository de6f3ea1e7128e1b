/**
 * The Compare view's chart.js bar chart: mean accuracy (or agreement) per configuration, bars grouped by pattern,
 * ± std whiskers drawn by a small plugin, and the dense model as a dashed reference line. Colour = method,
 * fill = variant (one-shot light, with BN re-estimation medium, fine-tune solid, "no schedule" hatched where the
 * method also ran the default schedule). Theme colours only; rebuilt when the theme changes.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import type { ChartDataset, Plugin } from 'chart.js';
import type { CompareChartData, CompareChartSeries, MaskMethod } from '../../src/protocol/messages';
import { cssVar, mix, Rgba, rgbaString, themeColor, themeKind } from '../components/theme';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

type Bars = ChartDataset<'bar', (number | null)[]>;

interface Colors {
  text: string;
  muted: string;
  grid: string;
  background: string;
  whisker: string;
  dense: string;
  method: Record<MaskMethod, Rgba>;
  selected: string;
}

function readColors(): Colors {
  const fg = themeColor('--vscode-foreground', '#cccccc');
  const bg = themeColor('--vscode-editor-background', '#1e1e1e');
  const highContrast = themeKind().startsWith('high-contrast');
  return {
    text: rgbaString(fg, 1),
    muted: rgbaString(mix(bg, fg, 0.7), 1),
    grid: cssVar('--vscode-charts-lines', rgbaString(mix(bg, fg, 0.18), 1)),
    background: rgbaString(bg, 0.85),
    whisker: rgbaString(fg, highContrast ? 1 : 0.9),
    dense: rgbaString(themeColor('--vscode-charts-red', '#f14c4c'), 1),
    method: {
      magnitude: themeColor('--vscode-charts-orange', '#d18616'),
      srste: themeColor('--vscode-charts-purple', '#b180d7'),
      maxq: themeColor('--vscode-charts-blue', '#3794ff'),
    },
    selected: rgbaString(themeColor('--vscode-focusBorder', '#007fd4'), 1),
  };
}

const KIND_ALPHA = { 'one-shot': 0.25, 'one-shot-bn': 0.55, 'fine-tune': 1 } as const;
/** Room right of the plot for the dense line's label. */
const DENSE_LABEL_WIDTH = 64;

/** Diagonal hatching in `c`, for the "no schedule" fine-tunes. */
function hatch(c: Rgba, background: string): CanvasPattern | string {
  const size = 8;
  const tile = document.createElement('canvas');
  tile.width = tile.height = size;
  const g = tile.getContext('2d');
  if (!g) return rgbaString(c, 0.5);
  g.fillStyle = background;
  g.fillRect(0, 0, size, size);
  g.fillStyle = rgbaString(c, 0.35);
  g.fillRect(0, 0, size, size);
  g.strokeStyle = rgbaString(c, 1);
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(0, size);
  g.lineTo(size, 0);
  g.moveTo(-2, 2);
  g.lineTo(2, -2);
  g.moveTo(size - 2, size + 2);
  g.lineTo(size + 2, size - 2);
  g.stroke();
  return g.createPattern(tile, 'repeat') ?? rgbaString(c, 0.5);
}

export interface ChartView {
  data: CompareChartData;
  metricLabel: string;
  zoom: boolean;
  selected: string | null;
}

export class CompareChart {
  private chart: Chart<'bar', (number | null)[], string> | null = null;
  private colors = readColors();
  private view: ChartView | null = null;
  /** Per dataset, per pattern: the row key and the std (fraction) of each bar. */
  private keys: (string | null)[][] = [];
  private errors: (number | null)[][] = [];

  constructor(private readonly canvas: HTMLCanvasElement, private readonly onPick: (key: string) => void) {}

  render(view: ChartView): void {
    this.view = view;
    if (!this.chart) this.create();
    this.update();
  }

  /** Theme changed: new colours, same data. */
  rebuild(): void {
    this.colors = readColors();
    this.chart?.destroy();
    this.chart = null;
    if (this.view) this.render(this.view);
  }

  private create(): void {
    const c = this.colors;
    const whiskers: Plugin<'bar'> = { id: 'maxqWhiskers', afterDatasetsDraw: (chart) => this.drawWhiskers(chart as unknown as Chart<'bar', (number | null)[], string>) };
    const denseLine: Plugin<'bar'> = { id: 'maxqDenseLine', afterDatasetsDraw: (chart) => this.drawDense(chart as unknown as Chart<'bar', (number | null)[], string>) };
    this.chart = new Chart<'bar', (number | null)[], string>(this.canvas, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      plugins: [whiskers, denseLine],
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', intersect: true },
        layout: { padding: { right: DENSE_LABEL_WIDTH } },
        datasets: { bar: { categoryPercentage: 0.85, barPercentage: 0.92 } },
        scales: {
          x: { title: { display: true, text: 'N:M pattern', color: c.text }, ticks: { color: c.text, font: { weight: 'bold' } }, grid: { display: false } },
          y: { title: { display: true, text: '', color: c.text }, ticks: { color: c.text, callback: (v) => `${v} %` }, grid: { color: c.grid } },
        },
        plugins: {
          legend: { position: 'bottom', labels: { color: c.text, boxWidth: 14, boxHeight: 12 } },
          tooltip: {
            callbacks: {
              title: (items) => (items[0] ? `pattern ${items[0].label}` : ''),
              label: (item) => {
                const err = this.errors[item.datasetIndex]?.[item.dataIndex];
                const v = item.parsed.y;
                return `${item.dataset.label}: ${v === null ? 'n/a' : `${v.toFixed(2)} %`}${err !== null && err !== undefined ? ` ± ${(err * 100).toFixed(2)}` : ''}`;
              },
            },
          },
        },
        onClick: (_e, elements) => {
          const el = elements[0];
          const key = el ? this.keys[el.datasetIndex]?.[el.index] : null;
          if (key) this.onPick(key);
        },
        onHover: (e, elements) => {
          const target = e.native?.target as HTMLElement | undefined;
          if (target) target.style.cursor = elements.length ? 'pointer' : 'default';
        },
      },
    });
  }

  private update(): void {
    const chart = this.chart, view = this.view;
    if (!chart || !view) return;
    const c = this.colors;
    const withDefault = new Set(view.data.series.filter((s) => s.kind === 'fine-tune' && s.scheduleVariant === 'default').map((s) => s.method));
    const fill = (s: CompareChartSeries) => {
      const col = c.method[s.method] ?? themeColor('--vscode-foreground', '#888');
      if (s.kind === 'fine-tune' && s.scheduleVariant === 'none' && withDefault.has(s.method)) return hatch(col, c.background);
      return rgbaString(col, KIND_ALPHA[s.kind]);
    };
    this.keys = view.data.series.map((s) => s.points.map((p) => p?.key ?? null));
    this.errors = view.data.series.map((s) => s.points.map((p) => p?.std ?? null));
    chart.data.labels = view.data.patterns;
    chart.data.datasets = view.data.series.map((s): Bars => ({
      label: s.label,
      data: s.points.map((p) => (p ? p.mean * 100 : null)),
      backgroundColor: fill(s),
      borderColor: rgbaString(c.method[s.method], 1),
      borderWidth: 1.5,
      maxBarThickness: 64,
    }));
    const y = chart.options.scales?.y;
    if (y) {
      const z = view.data.zoom;
      y.min = view.zoom ? Math.floor(z.min * 100) : 0;
      y.max = view.zoom ? Math.min(100, Math.ceil(z.max * 100)) : 100;
      if (y.title) y.title.text = `${view.metricLabel} (%)`;
    }
    chart.update('none');
  }

  private drawWhiskers(chart: Chart<'bar', (number | null)[], string>): void {
    const ctx = chart.ctx, y = chart.scales.y, area = chart.chartArea;
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
    ctx.clip();
    ctx.strokeStyle = this.colors.whisker;
    ctx.lineWidth = 1.5;
    const below: { x: number; v: number }[] = [];
    chart.data.datasets.forEach((ds, i) => {
      if (!chart.isDatasetVisible(i)) return;
      chart.getDatasetMeta(i).data.forEach((bar, j) => {
        const v = ds.data[j];
        const err = this.errors[i]?.[j];
        if (v === null || v === undefined) return;
        const { x, y: barTop, base, width } = bar.getProps(['x', 'y', 'base', 'width'], true) as { x: number; y: number; base: number; width: number };
        if (this.view?.selected && this.keys[i]?.[j] === this.view.selected) {
          // The row selected in the table: outlined in the focus colour.
          ctx.save();
          ctx.strokeStyle = this.colors.selected;
          ctx.lineWidth = 3;
          ctx.strokeRect(x - width / 2 - 2.5, Math.min(barTop, base) - 2.5, width + 5, Math.abs(base - barTop) + 5);
          ctx.restore();
        }
        if (typeof y.min === 'number' && v < y.min) {
          below.push({ x, v });
          return;
        }
        if (err === null || err === undefined) return;
        const top = y.getPixelForValue(v + err * 100), bottom = y.getPixelForValue(v - err * 100);
        const cap = Math.max(3, Math.min(7, width * 0.3));
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, bottom);
        ctx.moveTo(x - cap, top);
        ctx.lineTo(x + cap, top);
        ctx.moveTo(x - cap, bottom);
        ctx.lineTo(x + cap, bottom);
        ctx.stroke();
      });
    });
    // Bars below a zoomed axis: an arrow and the value at the bottom, so none silently disappears.
    ctx.fillStyle = this.colors.muted;
    ctx.font = `${Math.max(9, Math.round((Chart.defaults.font.size ?? 12) * 0.85))}px ${getComputedStyle(document.body).fontFamily}`;
    ctx.textAlign = 'center';
    for (const b of below) {
      ctx.save();
      ctx.translate(b.x, area.bottom - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      ctx.fillText(`↓ ${b.v.toFixed(1)} %`, 0, 0);
      ctx.restore();
    }
    ctx.restore();
  }

  private drawDense(chart: Chart<'bar', (number | null)[], string>): void {
    const dense = this.view?.data.dense;
    if (dense === null || dense === undefined) return;
    const ctx = chart.ctx, area = chart.chartArea;
    const py = chart.scales.y.getPixelForValue(dense * 100);
    if (py < area.top || py > area.bottom) return;
    ctx.save();
    ctx.strokeStyle = this.colors.dense;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(area.left, py);
    ctx.lineTo(area.right + 4, py);
    ctx.stroke();
    ctx.setLineDash([]);
    // The label sits right of the plot (layout padding), where no bar can hide it.
    const size = Math.round(Chart.defaults.font.size ?? 12);
    ctx.font = `600 ${size}px ${getComputedStyle(document.body).fontFamily}`;
    ctx.fillStyle = this.colors.dense;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText('dense', area.right + 8, py - 1);
    ctx.textBaseline = 'top';
    ctx.fillText(`${(dense * 100).toFixed(2)} %`, area.right + 8, py + 1);
    ctx.restore();
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = null;
  }
}

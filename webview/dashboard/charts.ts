/**
 * The dashboard's four chart.js charts, coloured from the VS Code theme and rebuilt when the theme changes.
 * Updates never animate (a live run redraws several times a second).
 */
import { Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { ChartDataset } from 'chart.js';
import { cssVar, mix, rgbaString, themeColor } from '../components/theme';
import type { Point, RunSeries } from './runSeries';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip, Filler);

type LineSet = ChartDataset<'line', Point[]>;

interface Colors {
  text: string;
  grid: string;
  blue: string;
  orange: string;
  green: string;
  purple: string;
  muted: string;
  layer: string[];
}

function readColors(): Colors {
  const fg = themeColor('--vscode-foreground', '#cccccc');
  const bg = themeColor('--vscode-editor-background', '#1e1e1e');
  const c = (name: string, fallback: string) => rgbaString(themeColor(name, fallback), 1);
  const layer = ['--vscode-charts-blue', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-orange', '--vscode-charts-yellow', '--vscode-charts-red']
    .map((n) => rgbaString(themeColor(n, '#888888'), 0.45));
  return {
    text: rgbaString(fg, 1),
    grid: cssVar('--vscode-charts-lines', rgbaString(mix(bg, fg, 0.18), 1)),
    blue: c('--vscode-charts-blue', '#3794ff'),
    orange: c('--vscode-charts-orange', '#d18616'),
    green: c('--vscode-charts-green', '#89d185'),
    purple: c('--vscode-charts-purple', '#b180d7'),
    muted: rgbaString(mix(bg, fg, 0.55), 1),
    layer,
  };
}

function line(label: string, data: Point[], color: string, extra: Partial<LineSet> = {}): LineSet {
  return { label, data, borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: data.length > 40 ? 0 : 2, tension: 0, ...extra };
}

function makeChart(canvas: HTMLCanvasElement, colors: Colors, yTitle: string, opts: { yMin?: number; yMax?: number; logY?: boolean; legend?: (label: string) => boolean }): Chart<'line', Point[]> {
  return new Chart<'line', Point[]>(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: { type: 'linear', min: 0, title: { display: true, text: 'epoch', color: colors.text }, ticks: { color: colors.text }, grid: { color: colors.grid } },
        y: {
          type: 'linear', min: opts.yMin, max: opts.yMax,
          title: { display: true, text: yTitle, color: colors.text }, ticks: { color: colors.text }, grid: { color: colors.grid },
        },
      },
      plugins: {
        legend: { labels: { color: colors.text, boxWidth: 14, filter: (item) => (opts.legend ? opts.legend(item.text) : true) } },
        tooltip: { callbacks: { title: (items) => (items[0] ? `epoch ${Number(items[0].parsed.x).toFixed(2).replace(/\.00$/, '')}` : '') } },
      },
    },
  });
}

export interface ChartCanvases {
  coverage: HTMLCanvasElement;
  loss: HTMLCanvasElement;
  accuracy: HTMLCanvasElement;
  lr: HTMLCanvasElement;
}

const LAYER_PREFIX = 'layer ';

export class RunCharts {
  private charts: { coverage: Chart<'line', Point[]>; loss: Chart<'line', Point[]>; accuracy: Chart<'line', Point[]>; lr: Chart<'line', Point[]> } | null = null;
  private colors = readColors();

  constructor(private readonly canvases: ChartCanvases) {
    this.create();
  }

  /** Theme changed: rebuild with the new colours. */
  rebuild(series: RunSeries, showLayers: boolean): void {
    this.colors = readColors();
    if (this.charts) for (const c of Object.values(this.charts)) c.destroy();
    this.create();
    this.update(series, showLayers);
  }

  private create(): void {
    const c = this.colors;
    this.charts = {
      coverage: makeChart(this.canvases.coverage, c, 'N:M block coverage (%)', { yMin: 0, yMax: 100, legend: (l) => !l.startsWith(LAYER_PREFIX) }),
      loss: makeChart(this.canvases.loss, c, 'loss', {}),
      // Percent from the start: an empty chart would otherwise draw chart.js's default 0–1 axis.
      accuracy: makeChart(this.canvases.accuracy, c, 'accuracy (%)', { yMin: 0, yMax: 100 }),
      lr: makeChart(this.canvases.lr, c, 'learning rate', { yMin: 0 }),
    };
  }

  update(s: RunSeries, showLayers: boolean): void {
    if (!this.charts) return;
    const c = this.colors;
    const epochs = s.start?.epochs ?? Math.max(1, s.coverage.length);
    for (const chart of Object.values(this.charts)) {
      const x = chart.options.scales?.x;
      if (x) x.max = Math.max(1, epochs);
    }
    const layers: LineSet[] = showLayers
      ? [...s.layerCoverage.entries()].map(([name, pts], k) => line(`${LAYER_PREFIX}${name}`, pts, c.layer[k % c.layer.length], { borderWidth: 1, pointRadius: 0 }))
      : [];
    // The target is drawn over the coverage, dashed, so both stay visible where they coincide.
    this.charts.coverage.data.datasets = [
      ...layers,
      line('coverage (all layers)', s.coverage, c.blue, { borderWidth: 3 }),
      line('schedule target (1 − dense fraction)', s.target, c.text, { borderDash: [5, 5], borderWidth: 1.5, pointRadius: 0 }),
    ];
    const dense = s.done?.summary.denseAccuracy;
    this.charts.loss.data.datasets = [
      line('train loss (per step)', s.stepLoss, rgbaString(themeColor('--vscode-charts-blue', '#3794ff'), 0.3), { borderWidth: 1, pointRadius: 0 }),
      line('train loss', s.trainLoss, c.blue),
      line('validation loss', s.valLoss, c.orange),
    ];
    // Never above 100%; zoomed to the data once there is some (0–100 until then, never chart.js's 0–1).
    const accY = this.charts.accuracy.options.scales?.y;
    const accValues = [...s.trainAccuracy, ...s.valAccuracy].map((p) => p.y);
    if (accY) {
      accY.min = accValues.length > 0 ? undefined : 0;
      accY.max = 100;
      const agreement = s.metric === 'agreement';
      if (accY.title) accY.title.text = agreement ? 'agreement with the dense model (%)' : 'accuracy (%)';
    }
    const valLabel = s.metric === 'agreement' ? 'validation agreement with the dense model' : 'validation accuracy';
    this.charts.accuracy.data.datasets = [
      line('train accuracy', s.trainAccuracy, c.blue),
      line(valLabel, s.valAccuracy, c.orange),
      ...(dense !== null && dense !== undefined ? [line('dense model', [{ x: 0, y: dense * 100 }, { x: epochs, y: dense * 100 }], c.muted, { borderDash: [6, 4], pointRadius: 0 })] : []),
    ];
    this.charts.lr.data.datasets = [line('learning rate', s.lr, c.purple, { pointRadius: 0 })];
    for (const chart of Object.values(this.charts)) chart.update('none');
  }
}

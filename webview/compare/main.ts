/**
 * The Compare view webview: a comparison report as a bar chart (mean ± std per configuration, grouped by pattern,
 * dense as a reference line) and a sortable table whose "Use this one" buttons open the sparsify form with that
 * row's recipe. What it shows is kept with setState, so hide/show and window reloads redraw without the host.
 */
import type { CompareState, CompareToHost, CompareToWebview, CompareViewModel, CompareViewRow, ViewStatus } from '../../src/protocol/messages';
import { checkbox } from '../components/checkbox';
import type { DataTable } from '../components/dataTable';
import { byId, h, replaceChildren } from '../components/dom';
import { message, section } from '../components/section';
import { setStatus } from '../components/status';
import { onThemeChange } from '../components/theme';
import { registerToolkit } from '../components/toolkit';
import { connectToHost } from '../components/vscodeApi';
import { CompareChart } from './chart';
import { buildTable } from './table';

registerToolkit();

const host = connectToHost<CompareToWebview, CompareToHost, CompareState>(receive);
const state: CompareState = host.getState() ?? { view: null, reportPath: null, error: null, sort: null, zoom: true, selected: null };
let chart: CompareChart | null = null;
let table: DataTable<CompareViewRow> | null = null;
let useMessage: HTMLElement | null = null;

function save(): void {
  host.setState(state);
}

function report(status: ViewStatus, rows: number): void {
  setStatus(status, status === 'ERROR' ? state.error ?? undefined : undefined);
  host.post({ type: 'rendered', status, rows });
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`;
}

function chartCaption(view: CompareViewModel): HTMLElement {
  const anySpread = view.rows.some((r) => r.std !== null);
  return h('figcaption', { id: 'compare-chart-caption' },
    h('strong', {}, `Mean ${view.metricLabel} per configuration, grouped by pattern. `),
    h('span', { class: 'muted' },
      anySpread ? 'Whiskers: ± 1 std over seeds (rows with two or more seeds). ' : 'No whiskers: every row is one run (more seeds give ± std). ',
      view.dense !== null ? `Dashed line: the dense model (${pct(view.dense)}).` : ''));
}

function render(): void {
  const view = state.view;
  const app = byId('app');
  chart?.destroy();
  chart = null;
  table = null;
  if (!view) {
    replaceChildren(app, state.error ? message('error', `This comparison cannot be shown: ${state.error}`, 'compare-error') : h('p', { class: 'muted' }, 'Loading the comparison…'));
    if (state.error) report('ERROR', 0);
    return;
  }
  const title = `Compare ${view.modelName}`;
  byId('view-title').textContent = title;
  document.title = title;

  const canvas = h('canvas', {
    id: 'compare-chart', role: 'img',
    'aria-label': `Bar chart of mean ${view.metricLabel} for ${view.rows.length} configurations over ${view.chart.patterns.join(', ')}; the table below lists the same numbers.`,
  });
  const zoom = checkbox({
    id: 'compare-zoom', label: 'Zoom to the top results', checked: state.zoom,
    title: 'Y axis framed on the results within 10 points of the best; bars below it are marked ↓ with their value. Untick for 0–100 %.',
    onChange: (c) => {
      state.zoom = c;
      save();
      drawChart();
    },
  });
  useMessage = h('div', { id: 'use-result', role: 'status', 'aria-live': 'polite' });
  table = buildTable(view, {
    use: (row, b) => {
      b.setAttribute('disabled', '');
      b.textContent = 'Opening…';
      state.selected = row.key;
      save();
      host.post({ type: 'useRow', key: row.key });
    },
    select: (row) => selectRow(row.key, false),
  });
  table.onSortChange = (s) => {
    state.sort = s;
    save();
  };
  table.setSort(state.sort);
  table.setRows(view.rows);
  if (state.selected && view.rows.some((r) => r.key === state.selected)) table.select(state.selected);

  const stale = state.error ? message('warning', `Shown from the saved view: ${state.error}`, 'compare-error') : null;
  const header = h('section', { class: 'panel-section', id: 'compare-header', 'aria-label': 'Comparison' },
    h('p', { id: 'compare-source', class: 'muted' },
      `${view.modelFound ? '' : 'model not found: '}${view.modelPath} · ${view.reportName} · ${new Date(view.createdAt).toLocaleString()} `,
      h('button', { type: 'button', class: 'link-button', id: 'open-report-file' }, 'Open report JSON')),
    h('p', { id: 'compare-metric' },
      view.metric === 'accuracy' ? 'Accuracy against the labels' : 'Agreement with the dense model (top-1; the data has no labels)',
      view.evaluation ? h('span', { class: 'muted' }, ` — measured on ${view.evaluation}`) : null),
    h('dl', { class: 'facts', id: 'compare-facts' }, ...view.facts.flatMap((f) => [h('dt', {}, f.label), h('dd', {}, f.value)])));
  header.querySelector('#open-report-file')?.addEventListener('click', () => host.post({ type: 'openReportFile' }));

  replaceChildren(app,
    stale,
    header,
    section('compare-chart-section', 'Chart', null,
      h('figure', { class: 'chart' }, h('div', { class: 'chart-tools' }, chartCaption(view), zoom), h('div', { class: 'chart-box' }, canvas))),
    section('compare-table-section', 'Configurations', 'Sort by any column. “Use this one” opens the sparsify form with that row’s settings on the same model; you confirm the output before it runs.',
      useMessage, table.element),
    view.notes.length ? section('compare-notes-section', 'Notes', null, h('ul', { id: 'compare-notes' }, ...view.notes.map((n) => h('li', {}, n)))) : null);

  chart = new CompareChart(canvas, (key) => selectRow(key, true));
  drawChart();
  report('DONE', view.rows.length);
}

function drawChart(): void {
  const view = state.view;
  if (!chart || !view) return;
  chart.render({ data: view.chart, metricLabel: view.metricLabel, zoom: state.zoom, selected: state.selected });
}

function selectRow(key: string, focus: boolean): void {
  state.selected = key;
  save();
  table?.select(key, focus);
  drawChart();
}

function receive(m: CompareToWebview): void {
  switch (m.type) {
    case 'report':
      if (state.reportPath !== m.view.reportPath) {
        state.selected = null;
        state.sort = null;
      }
      state.view = m.view;
      state.reportPath = m.view.reportPath;
      state.error = null;
      save();
      render();
      return;
    case 'loadFailed':
      // A report that was shown before stays visible (saved), with the reason it could not be re-read.
      if (state.view && m.reportPath && state.view.reportPath !== m.reportPath) state.view = null;
      state.error = m.message;
      if (m.reportPath) state.reportPath = m.reportPath;
      save();
      render();
      return;
    case 'useResult': {
      const b = document.querySelector<HTMLElement>(`.use-row[data-key="${CSS.escape(m.key)}"]`);
      if (b) {
        b.removeAttribute('disabled');
        b.textContent = 'Use this one';
      }
      useMessage?.replaceChildren(message(m.ok ? 'info' : 'error', m.message));
      return;
    }
  }
}

onThemeChange(() => chart?.rebuild());
setStatus('LOADING');
if (state.view) render();
host.post({ type: 'ready' });

/**
 * The run dashboard webview: N:M coverage against the schedule's target (overall and per layer), loss,
 * accuracy and learning rate, live while a run streams and for any finished run record. The events are kept
 * with setState so hide/show and window reloads redraw without the host.
 */
import type { DashboardSource, DashboardState, DashboardToHost, DashboardToWebview, RunEvent } from '../../src/protocol/messages';
import { checkbox } from '../components/checkbox';
import { byId, h, replaceChildren } from '../components/dom';
import { message, section } from '../components/section';
import { setStatus } from '../components/status';
import { onThemeChange } from '../components/theme';
import { registerToolkit } from '../components/toolkit';
import { connectToHost } from '../components/vscodeApi';
import { RunCharts } from './charts';
import { applyEvent, emptySeries, RunSeries, thinSteps } from './runSeries';
import { SummaryView } from './summaryView';

registerToolkit();

const MAX_STORED_STEPS = 4000;
const SAVE_EVERY_MS = 1000;

const host = connectToHost<DashboardToWebview, DashboardToHost, DashboardState>(receive);
const saved = host.getState();
const state: DashboardState = saved ?? { source: { title: 'MaxQ Run', recordPath: null, liveRunId: null }, live: false, outcome: null, events: [], showLayers: false };
let series: RunSeries = emptySeries();
let endMessage: string | null = null;
let drawQueued = false;
let saveTimer: number | undefined;

const summary = new SummaryView({
  cancel: () => host.post({ type: 'cancelRun' }),
  inspect: () => host.post({ type: 'openOutput', action: 'inspect' }),
  validate: () => host.post({ type: 'openOutput', action: 'validate' }),
});
const canvas = (id: string, label: string) => h('canvas', { id, role: 'img', 'aria-label': label });
const canvases = {
  coverage: canvas('coverage-chart', 'N:M block coverage per epoch, overall and per layer, with the schedule target'),
  loss: canvas('loss-chart', 'Training and validation loss'),
  accuracy: canvas('accuracy-chart', 'Training and validation accuracy'),
  lr: canvas('lr-chart', 'Learning rate'),
};
const chartBox = (c: HTMLCanvasElement, title: string) => h('figure', { class: 'chart' }, h('figcaption', {}, title), h('div', { class: 'chart-box' }, c));
const logList = h('ol', { id: 'run-log', class: 'run-log', 'aria-live': 'off' });
const problem = h('div', { id: 'dashboard-error' });
const showLayers = checkbox({ id: 'show-layers', label: 'Per-layer coverage', checked: state.showLayers, onChange: (c) => { state.showLayers = c; save(); redraw(); } });

replaceChildren(byId('app'),
  problem,
  summary.element,
  h('div', { class: 'chart-grid' },
    h('div', { class: 'chart-wide' }, h('div', { class: 'chart-tools' }, showLayers), chartBox(canvases.coverage, 'N:M block coverage')),
    chartBox(canvases.loss, 'Loss'),
    chartBox(canvases.accuracy, 'Accuracy'),
    chartBox(canvases.lr, 'Learning rate')),
  section('log-section', 'Log', null, logList));

const charts = new RunCharts(canvases);
onThemeChange(() => charts.rebuild(series, state.showLayers));

function save(): void {
  window.clearTimeout(saveTimer);
  saveTimer = window.setTimeout(() => host.setState(state), SAVE_EVERY_MS);
}

function status(): void {
  if (state.outcome === 'failed') setStatus('ERROR', endMessage ?? series.error ?? undefined);
  else if (state.outcome) setStatus('DONE');
  else if (state.live) setStatus('RUNNING');
  else setStatus('LOADING');
}

function redraw(): void {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    charts.update(series, state.showLayers);
    summary.render(series, state.live, state.outcome, endMessage, state.source.logPath ?? null);
    logList.replaceChildren(...series.logs.slice(-200).map((l) => h('li', { class: `log-${l.level}` }, l.message)));
    status();
  });
}

function rebuildSeries(events: RunEvent[]): void {
  series = emptySeries();
  for (const e of events) applyEvent(series, e);
}

function setTitle(source: DashboardSource): void {
  byId('view-title').textContent = source.title;
  document.title = source.title;
}

function receive(m: DashboardToWebview): void {
  switch (m.type) {
    case 'reset':
      state.source = m.source;
      state.live = m.live;
      state.outcome = null;
      state.events = thinSteps(m.events, MAX_STORED_STEPS);
      endMessage = null;
      problem.replaceChildren();
      setTitle(m.source);
      rebuildSeries(state.events);
      break;
    case 'events':
      for (const e of m.events) applyEvent(series, e);
      state.events = thinSteps(state.events.concat(m.events), MAX_STORED_STEPS);
      break;
    case 'ended':
      state.live = false;
      state.outcome = m.outcome;
      endMessage = m.message ?? null;
      break;
    case 'loadFailed':
      state.live = false;
      state.outcome = 'failed';
      endMessage = m.message;
      problem.replaceChildren(message('error', `This run cannot be shown: ${m.message}`));
      break;
  }
  save();
  redraw();
}

// Draw what was saved at once (hide/show, reload); the host's answer to 'ready' then refreshes it.
if (saved) {
  setTitle(saved.source);
  rebuildSeries(saved.events);
  redraw();
}
setStatus('LOADING');
host.post({ type: 'ready' });


/**
 * The Layer Inspector webview: layer table on one side, the selected layer's heatmap on the other. Everything
 * the user chose (pattern, method, colour mode, layer, zoom, filter, sort) is kept with setState, so hiding the
 * editor or reloading the window brings back the same view.
 */
import type {
  BatchNormInfo,
  CellHighlight,
  HeatmapMode,
  InspectorLayerRow,
  InspectorModelInfo,
  InspectorToHost,
  InspectorToWebview,
  MaskMethod,
  TileAggregate,
} from '../../src/protocol/messages';
import { SortState } from '../components/dataTable';
import { byId, h, replaceChildren } from '../components/dom';
import { formatCount, formatShape } from '../components/format';
import { progressRing } from '../components/progressRing';
import { message } from '../components/section';
import { setStatus } from '../components/status';
import { registerToolkit } from '../components/toolkit';
import { connectToHost } from '../components/vscodeApi';
import { HeatmapView } from './heatmapView';
import { layerDisplayName, LayerFilter, LayerTable } from './layerTable';
import { buildToolbar } from './toolbar';
import { Viewport } from './viewport';

interface InspectorState {
  pattern: string | null;
  method: MaskMethod | null;
  mode: HeatmapMode;
  aggregate: TileAggregate;
  layer: string | null;
  filter: LayerFilter;
  sort: SortState | null;
  viewport: { layer: string; view: Viewport } | null;
}

registerToolkit();

const host = connectToHost<InspectorToWebview, InspectorToHost, InspectorState>(receive);
const state: InspectorState = {
  pattern: null,
  method: null,
  mode: 'magnitude',
  aggregate: 'mean',
  layer: null,
  filter: { text: '', scope: 'all' },
  sort: null,
  viewport: null,
  ...host.getState(),
};
let nextRequest = 1;
let rows: InspectorLayerRow[] = [];
let checksPending = true;
let layersRequest = 0;
let failed = false;
let ui: { table: LayerTable; heatmap: HeatmapView; title: HTMLElement; toolbar: ReturnType<typeof buildToolbar> } | undefined;

function save(): void {
  host.setState(state);
}

/** What the view is waiting for, in words (the first open of a large model takes seconds). */
const progressText = h('span', { id: 'inspector-progress-text' }, 'Reading model…');
const progress = h('div', { id: 'inspector-progress', class: 'inspector-progress', role: 'status', 'aria-live': 'polite' }, progressRing('Loading'), progressText);

function progressMessage(): string | null {
  if (!ui) return progressText.textContent || 'Reading model…';
  if (layersRequest !== 0) return `Recomputing the layers for ${state.pattern}…`;
  if (checksPending) {
    const n = rows.filter((r) => r.selected).length;
    return `Computing masks for ${n} layer${n === 1 ? '' : 's'} (${state.pattern})…`;
  }
  if (!ui.heatmap.settled) return 'Drawing the heatmap…';
  return null;
}

function updateStatus(): void {
  if (failed) return;
  const busy = progressMessage();
  progress.hidden = busy === null;
  if (busy !== null) progressText.textContent = busy;
  if (!ui || checksPending || layersRequest !== 0 || !ui.heatmap.settled) setStatus('LOADING');
  else setStatus('DONE');
}

function selectedRow(): InspectorLayerRow | null {
  return rows.find((r) => r.name === state.layer) ?? null;
}

function selectLayer(name: string | null, highlight: CellHighlight | null = null): void {
  if (!ui) return;
  const changed = state.layer !== name;
  state.layer = name;
  if (changed) state.viewport = null;
  const row = selectedRow();
  ui.table.table.select(row?.name ?? null);
  ui.title.textContent = row ? `${layerDisplayName(row)} — ${row.op} ${formatShape(row.storageShape)}` : 'No layer selected';
  ui.title.title = row ? `weight tensor: ${row.name}` : '';
  if (row) ui.title.dataset.layer = row.name;
  else delete ui.title.dataset.layer;
  const restore = state.viewport && state.viewport.layer === row?.name ? state.viewport.view : null;
  ui.heatmap.setLayer(row, restore);
  ui.heatmap.setHighlight(highlight);
  save();
  updateStatus();
}

function defaultLayer(): string | null {
  if (state.layer && rows.some((r) => r.name === state.layer)) return state.layer;
  return (rows.find((r) => r.selected) ?? rows.find((r) => r.eligible) ?? rows[0])?.name ?? null;
}

function modelHeader(m: InspectorModelInfo): HTMLElement {
  const io = (list: InspectorModelInfo['inputs']) => list.map((t) => `${t.name} ${formatShape(t.shape)}`).join(', ');
  return h('p', { id: 'model-info', class: 'muted' },
    `opset ${m.opset} · IR ${m.irVersion}${m.producer ? ` · ${m.producer}` : ''} · ${m.nodeCount} nodes · ${formatCount(m.paramCount)} parameters · ${rows.length} layers`,
    m.hasExternalData ? ' · external data' : '',
    ` · in: ${io(m.inputs)} · out: ${io(m.outputs)}`);
}

/** The model's BatchNorm line under the header (BatchNorm folded at export, BN-free layers); hidden when none. */
const bnNote = h('div', { id: 'inspector-bn-note', class: 'message message-info', role: 'status' });
bnNote.hidden = true;

function showBatchNorm(b: BatchNormInfo | undefined): void {
  const text = b?.message ?? null;
  bnNote.hidden = !text;
  bnNote.textContent = text ?? '';
  bnNote.className = `message message-${b?.folded ? 'warning' : 'info'}`;
  bnNote.dataset.folded = String(Boolean(b?.folded));
  bnNote.dataset.bnFree = String(b?.bnFree ?? 0);
  bnNote.dataset.normalisable = String(b?.normalisable ?? 0);
}

function build(model: InspectorModelInfo): void {
  const pattern = state.pattern as string;
  const method = state.method as MaskMethod;
  const toolbar = buildToolbar({ pattern, method, mode: state.mode, aggregate: state.aggregate }, {
    patternOrMethod: (p, m) => {
      state.pattern = p;
      state.method = m;
      save();
      layersRequest = nextRequest++;
      checksPending = true;
      ui?.table.setChecks(null);
      host.post({ type: 'setPattern', requestId: layersRequest, pattern: p, method: m });
      updateStatus();
    },
    mode: (mode) => {
      state.mode = mode;
      save();
      ui?.heatmap.refresh();
      updateStatus();
    },
    aggregate: (a) => {
      state.aggregate = a;
      save();
      ui?.heatmap.refresh();
      updateStatus();
    },
    command: (command) => host.post({ type: 'runCommand', command }),
  });
  const table = new LayerTable(state.filter, state.sort, (r) => selectLayer(r.name), (f) => { state.filter = f; save(); }, (s) => { state.sort = s; save(); });
  const heatmap = new HeatmapView({
    tiles: (view, maxTileRows, maxTileCols) => {
      const requestId = nextRequest++;
      host.post({
        type: 'requestTiles', requestId, layer: state.layer as string, pattern: state.pattern as string, method: state.method as MaskMethod,
        mode: state.mode, aggregate: state.aggregate, view, maxTileRows, maxTileCols,
      });
      return requestId;
    },
    cell: (row, col) => {
      const requestId = nextRequest++;
      host.post({ type: 'requestCell', requestId, layer: state.layer as string, pattern: state.pattern as string, method: state.method as MaskMethod, row, col });
      return requestId;
    },
    viewChanged: (view) => {
      if (state.layer) state.viewport = { layer: state.layer, view };
      save();
    },
    settled: updateStatus,
  });
  const title = h('h2', { id: 'layer-title' }, '');
  ui = { table, heatmap, title, toolbar };
  replaceChildren(byId('app'),
    h('div', { class: 'model-header' }, modelHeader(model), bnNote, progress),
    toolbar.element,
    h('div', { class: 'inspector-grid' },
      h('section', { class: 'layers-pane', 'aria-label': 'Layers' }, table.element),
      h('section', { class: 'heatmap-pane', 'aria-labelledby': 'layer-title' }, title, heatmap.element)));
}

function receive(m: InspectorToWebview): void {
  switch (m.type) {
    case 'progress':
      if (!ui && !failed) {
        progressText.textContent = m.text;
        updateStatus();
      }
      return;
    case 'model': {
      failed = false;
      state.pattern = m.pattern;
      state.method = m.method;
      rows = m.layers;
      // A second 'model' (the file changed on disk) keeps the page and only swaps the data.
      if (ui) document.getElementById('model-info')?.replaceWith(modelHeader(m.model));
      else build(m.model);
      showBatchNorm(m.model.batchNorm);
      ui?.table.setRows(rows);
      checksPending = true;
      selectLayer(defaultLayer());
      return;
    }
    case 'layers':
      if (m.requestId !== layersRequest || !ui) return;
      layersRequest = 0;
      rows = m.layers;
      showBatchNorm(m.batchNorm);
      ui.table.setRows(rows);
      selectLayer(defaultLayer());
      ui.heatmap.refresh();
      updateStatus();
      return;
    case 'checks':
      if (m.pattern !== state.pattern || !ui) return;
      checksPending = false;
      ui.table.setChecks(m.checks);
      updateStatus();
      return;
    case 'checksFailed':
      if (m.pattern !== state.pattern || !ui) return;
      checksPending = false;
      ui.table.setChecks({});
      updateStatus();
      return;
    case 'modelFailed':
      failed = true;
      ui = undefined;
      replaceChildren(byId('app'), message('error', `This model cannot be inspected: ${m.message}`, 'model-error'));
      setStatus('ERROR', m.message);
      return;
    case 'tiles':
      ui?.heatmap.receiveTiles(m.requestId, m.tiles);
      updateStatus();
      return;
    case 'cell':
      ui?.heatmap.receiveCell(m.requestId, m.cell);
      return;
    case 'requestFailed':
      if (m.requestId === layersRequest) {
        layersRequest = 0;
        checksPending = false;
        byId('app').prepend(message('error', m.message));
      } else ui?.heatmap.requestFailed(m.requestId, m.message);
      updateStatus();
      return;
    case 'reveal':
      if (!ui) return;
      if (!ui.table.isVisible(m.layer)) state.filter = ui.table.showAll();
      selectLayer(m.layer, m.highlight ?? null);
      return;
  }
}

replaceChildren(byId('app'), progress);
updateStatus();
host.post({ type: 'ready', pattern: state.pattern, method: state.method });

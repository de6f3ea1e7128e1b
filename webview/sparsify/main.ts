/** The sparsify form webview: values survive hide/show through setState; the host owns every decision. */
import type { PathField, SparsifyFormToHost, SparsifyFormToWebview, SparsifyFormValues } from '../../src/protocol/messages';
import { replaceChildren, byId } from '../components/dom';
import { message } from '../components/section';
import { setStatus } from '../components/status';
import { registerToolkit } from '../components/toolkit';
import { connectToHost } from '../components/vscodeApi';
import { completeFormValues } from '../../src/protocol/preprocessing';
import { buildForm, FormView } from './formView';

interface FormState {
  modelPath: string;
  values: SparsifyFormValues;
  /** The user typed or picked an output path: stop suggesting one. */
  outputEdited: boolean;
}

registerToolkit();

let state: FormState | undefined;
let view: FormView | undefined;
let layersRequest = 0;
let outputRequest = 0;
let patternTimer: number | undefined;

const host = connectToHost<SparsifyFormToWebview, SparsifyFormToHost, FormState>(receive);

function save(): void {
  if (state) host.setState(state);
}

const PATTERN_RE = /^\s*(\d+)\s*:\s*(\d+)\s*$/;

function patternProblem(p: string): string | null {
  const m = PATTERN_RE.exec(p);
  if (!m) return 'Two integers N:M, e.g. 2:4.';
  return Number(m[1]) >= 1 && Number(m[1]) < Number(m[2]) ? null : 'N must be at least 1 and smaller than M.';
}

function requestLayers(): void {
  if (!state || !view) return;
  const problem = patternProblem(state.values.pattern);
  view.setPatternProblem(problem);
  if (problem) return;
  host.post({ type: 'requestLayers', requestId: ++layersRequest, pattern: state.values.pattern });
  if (!state.outputEdited) host.post({ type: 'suggestOutput', requestId: ++outputRequest, pattern: state.values.pattern, method: state.values.method });
}

function onChanged(field: keyof SparsifyFormValues): void {
  if (!state || !view) return;
  const v = state.values;
  if (field === 'output') state.outputEdited = true;
  if (field === 'pattern') {
    window.clearTimeout(patternTimer);
    patternTimer = window.setTimeout(requestLayers, 300);
  }
  if (field === 'method' && !state.outputEdited && !patternProblem(v.pattern)) {
    host.post({ type: 'suggestOutput', requestId: ++outputRequest, pattern: v.pattern, method: v.method });
  }
  if (field === 'epochs' && Number.isInteger(v.epochs) && v.epochs > 0) {
    // Keep the decay window inside the epochs (0 ≤ start ≤ end < epochs).
    const end = Math.min(v.decayEnd, v.epochs - 1);
    if (end !== v.decayEnd || v.decayStart > end) view.setDecay(Math.min(v.decayStart, end), end);
  }
  if (field === 'epochs' || field === 'decayStart' || field === 'decayEnd') view.refreshSchedule();
  if (field === 'include') view.setLayersSummary(view.policy.summary());
  view.refreshBatchNorm();
  view.setFormError(null);
  save();
}

function init(m: Extract<SparsifyFormToWebview, { type: 'init' }>): void {
  const saved = host.getState();
  state = saved && saved.modelPath === m.modelPath ? saved : { modelPath: m.modelPath, values: m.defaults, outputEdited: false };
  // State saved before an option existed: its default.
  if (typeof state.values.normalise !== 'boolean') state.values.normalise = m.defaults.normalise;
  completeFormValues(state.values, m.defaults);
  view = buildForm(m.modelName, m.inputs, m.opset, state.values, {
    changed: onChanged,
    pick: (field: PathField) => {
      if (state) host.post({ type: 'pickPath', field, values: state.values });
    },
    run: () => {
      if (!state || !view) return;
      view.setRunning(true);
      view.setFormError(null);
      host.post({ type: 'run', values: state.values });
    },
    exportRecipe: () => {
      if (!state || !view) return;
      view.setFormError(null);
      view.setRecipe(null);
      host.post({ type: 'exportRecipe', values: state.values });
    },
    close: () => host.post({ type: 'close' }),
  });
  replaceChildren(byId('app'), view.root);
  view.setLayersMessage('Reading the model’s layers…');
  save();
  requestLayers();
}

function receive(m: SparsifyFormToWebview): void {
  switch (m.type) {
    case 'init':
      init(m);
      return;
    case 'layers':
      if (m.requestId !== layersRequest || !view) return;
      view.setLayersMessage(m.linearFallback > 0 ? `No eligible conv: the model’s ${m.linearFallback} linear layers are selected (attention and MLP projections; never the classifier). Untick any to keep it dense.` : null, 'info');
      view.policy.setRows(m.layers);
      view.setLayersSummary(view.policy.summary());
      view.setBatchNorm(m.batchNorm);
      setStatus('DONE');
      return;
    case 'layersFailed':
      if (m.requestId !== layersRequest || !view) return;
      view.policy.setRows([]);
      view.setLayersMessage(m.message, 'error');
      view.setLayersSummary('');
      view.setBatchNorm(null);
      setStatus('DONE');
      return;
    case 'outputSuggested':
      if (m.requestId !== outputRequest || !view || state?.outputEdited) return;
      view.setOutput(m.path);
      save();
      return;
    case 'pathPicked':
      if (!view || !state) return;
      view.setPathField(m.field, m.path);
      if (m.field === 'output') state.outputEdited = true;
      view.refreshBatchNorm();
      save();
      return;
    case 'runRejected':
      view?.setRunning(false);
      view?.setFormError(m.message);
      return;
    case 'recipeExported':
      view?.setRecipe({ path: m.path, command: m.command, multiNode: m.multiNode });
      return;
    case 'recipeRejected':
      view?.setFormError(m.message);
      return;
    case 'fatal':
      replaceChildren(byId('app'), message('error', m.message, 'fatal-error'));
      setStatus('ERROR', m.message);
      return;
  }
}

setStatus('LOADING');
host.post({ type: 'ready' });

/**
 * The validation view webview. The report is kept with setState, so after hide/show or a window reload it is
 * shown again immediately; the buttons ask the host to re-check (other pattern, BN re-estimated, reference).
 */
import type { ValidationReport, ValidationRequestInfo, ValidationState, ValidationToHost, ValidationToWebview } from '../../src/protocol/messages';
import { COMMON_PATTERNS } from '../../src/protocol/messages';
import { button } from '../components/button';
import { checkbox } from '../components/checkbox';
import { byId, h, replaceChildren } from '../components/dom';
import { dropdown } from '../components/dropdown';
import { progressRing } from '../components/progressRing';
import { message } from '../components/section';
import { setStatus } from '../components/status';
import { registerToolkit } from '../components/toolkit';
import { connectToHost } from '../components/vscodeApi';
import { layersTable, numericSection, verdict } from './reportView';

registerToolkit();

const DETECT = 'detect';
const host = connectToHost<ValidationToWebview, ValidationToHost, ValidationState>(receive);
const state: ValidationState = host.getState() ?? { request: null, report: null, expanded: [] };
let onlyFailing = false;
let running = false;
let failure: string | null = null;

function save(): void {
  host.setState(state);
}

function controls(request: ValidationRequestInfo): HTMLElement {
  const current = request.pattern ?? DETECT;
  const list = [DETECT, ...(COMMON_PATTERNS.includes(current) || current === DETECT ? COMMON_PATTERNS : [current, ...COMMON_PATTERNS])];
  const pattern = dropdown<string>({ id: 'check-pattern', label: 'Pattern', value: current, options: list.map((p) => ({ value: p, label: p === DETECT ? 'detect (tightest N:M)' : p })), onChange: () => undefined });
  const chosen = () => (pattern.value === DETECT ? null : pattern.value);
  return h('div', { class: 'toolbar' },
    pattern.element,
    button({ id: 'recheck', label: 'Re-check', appearance: 'primary', disabled: running, onClick: () => host.post({ type: 'recheck', pattern: chosen(), bnRecalibrate: false }) }),
    button({ id: 'recheck-bn', label: 'Re-estimate BN and re-check', appearance: 'secondary', disabled: running, onClick: () => host.post({ type: 'recheck', pattern: chosen(), bnRecalibrate: true }) }),
    checkbox({ id: 'only-failing', label: 'Only failing layers', checked: onlyFailing, onChange: (c) => { onlyFailing = c; render(); } }));
}

function render(): void {
  const req = state.request;
  const app = byId('app');
  if (!req) {
    replaceChildren(app, h('p', { class: 'muted' }, 'Waiting for a validation…'));
    return;
  }
  byId('view-title').textContent = `Validate ${req.modelName}`;
  const parts: (Node | null)[] = [h('p', { class: 'muted', id: 'model-path' }, req.modelPath), controls(req)];
  if (running) parts.push(h('div', { class: 'running', id: 'running' }, progressRing('Validating'), `Checking ${req.modelName}${req.pattern ? ` against ${req.pattern}` : ''}…`));
  if (failure) parts.push(message('error', failure, 'validation-error'));
  const report: ValidationReport | null = state.report;
  if (report && !running) {
    const pick = button({ id: 'pick-reference', label: report.numeric ? 'Compare with another dense model…' : 'Compare with dense model…', appearance: 'secondary', onClick: () => host.post({ type: 'pickReference' }) });
    const expanded = new Set(state.expanded);
    const includeSkipped = (layers: string[]) => host.post({ type: 'recheck', pattern: req.pattern, bnRecalibrate: req.bnRecalibrate, include: layers });
    parts.push(verdict(report, state.labels, includeSkipped, running),
      layersTable(report, onlyFailing, expanded, {
        revealViolation: (layer, violation) => host.post({ type: 'revealViolation', layer, violation }),
        revealLayer: (layer) => host.post({ type: 'revealLayer', layer }),
        toggle: (layer, open) => {
          state.expanded = open ? [...state.expanded, layer] : state.expanded.filter((n) => n !== layer);
          save();
          render();
          document.getElementById(`toggle-${report.layers.findIndex((l) => l.name === layer)}`)?.focus();
        },
      }, state.labels),
      numericSection(report, req, pick));
  }
  replaceChildren(app, ...parts);
  if (running) setStatus('LOADING');
  else if (failure) setStatus('ERROR', failure);
  else if (report) setStatus('DONE');
}

function receive(m: ValidationToWebview): void {
  state.request = m.request;
  switch (m.type) {
    case 'running':
      running = true;
      failure = null;
      break;
    case 'report': {
      running = false;
      failure = null;
      const firstReport = state.report?.file !== m.report.file;
      state.report = m.report;
      state.labels = m.labels;
      // Open the failing layers' block lists the first time, so the violations are one click away.
      if (firstReport || state.expanded.length === 0) state.expanded = m.report.layers.filter((l) => l.status === 'fail').slice(0, 3).map((l) => l.name);
      break;
    }
    case 'failed':
      running = false;
      failure = m.message;
      break;
  }
  save();
  render();
}

setStatus('LOADING');
render();
if (state.report && state.request) setStatus('DONE');
host.post({ type: 'ready' });

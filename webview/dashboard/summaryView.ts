/** The run's headline: what runs, where it is, coverage now, accuracy, outcome, and the actions on the result. */
import type { RunOutcome, RunSummary } from '../../src/protocol/messages';
import { button } from '../components/button';
import { h } from '../components/dom';
import { baseName, formatPercent } from '../components/format';
import { verdictDetail, verdictPill } from '../components/verdict';
import type { RunSeries } from './runSeries';

export interface SummaryActions {
  cancel(): void;
  inspect(): void;
  validate(): void;
}

const OUTCOME_TEXT: Record<RunOutcome | 'running' | 'loading', string> = {
  loading: 'loading…',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  interrupted: 'interrupted',
};

export class SummaryView {
  readonly element: HTMLElement;
  private readonly facts: HTMLElement;
  private readonly coverage: HTMLElement;
  private readonly outcome: HTMLElement;
  private readonly phase: HTMLElement;
  private readonly note: HTMLElement;
  private readonly checks: HTMLElement;
  private readonly cancel: HTMLElement;
  private readonly resultActions: HTMLElement;

  constructor(actions: SummaryActions) {
    this.facts = h('dl', { id: 'summary', class: 'facts' });
    this.coverage = h('span', { id: 'coverage-value', class: 'big-number' }, '–');
    this.outcome = h('span', { id: 'run-outcome', class: 'pill muted' }, OUTCOME_TEXT.loading);
    this.phase = h('span', { id: 'run-phase', class: 'muted' });
    this.note = h('div', { id: 'run-note' });
    this.checks = h('div', { id: 'run-checks' });
    this.cancel = button({ id: 'cancel-run', label: 'Cancel run', appearance: 'secondary', onClick: actions.cancel });
    this.resultActions = h('div', { class: 'actions' },
      button({ id: 'open-inspector', label: 'Open Inspector', appearance: 'primary', onClick: actions.inspect }),
      button({ id: 'validate-output', label: 'Validate', appearance: 'secondary', onClick: actions.validate }));
    this.resultActions.hidden = true;
    this.element = h('section', { class: 'summary', 'aria-label': 'Run summary' },
      h('div', { class: 'headline' },
        h('div', {}, h('div', { class: 'muted' }, 'N:M coverage'), this.coverage),
        h('div', { class: 'headline-status' }, this.outcome, this.phase),
        h('div', { class: 'actions' }, this.cancel, this.resultActions)),
      this.facts, this.checks, this.note);
  }

  /**
   * `followed`: the run-event log this dashboard follows (a run of another process, e.g. torchrun): it cannot be
   * cancelled from here, and the facts say which file it is.
   */
  render(s: RunSeries, live: boolean, outcome: RunOutcome | null, message: string | null, followed: string | null = null): void {
    const last = s.lastEpoch;
    this.coverage.textContent = last ? formatPercent(last.coverage) : '–';
    this.coverage.dataset.coverage = last ? String(last.coverage) : '';
    const state = outcome ?? (live ? 'running' : 'loading');
    this.outcome.textContent = OUTCOME_TEXT[state];
    this.outcome.className = `pill ${state === 'completed' ? 'pass' : state === 'failed' ? 'fail' : 'muted'}`;
    this.outcome.dataset.outcome = state;
    this.phase.textContent = s.phase && state === 'running' ? s.phase : '';
    this.cancel.hidden = !(live && !outcome) || followed !== null;
    this.resultActions.hidden = outcome !== 'completed';
    const st = s.start;
    const sum = s.done?.summary;
    const facts: [string, string][] = [];
    if (followed) facts.push([live && !outcome ? 'following' : 'log', baseName(followed)]);
    if (st) {
      facts.push(['model', baseName(st.model)], ['pattern', `${st.pattern} · ${st.method}`], ['layers', String(st.layers.length)]);
      facts.push(st.epochs === 0 ? ['run', 'one-shot (no fine-tuning)'] : ['epoch', `${last ? last.epoch + 1 : 0} of ${st.epochs}`]);
    }
    if (last) {
      const acc = last.valAccuracy ?? last.trainAccuracy;
      const valWhat = s.metric === 'agreement' ? 'agreement (with dense)' : 'val accuracy';
      if (acc !== null) facts.push([last.valAccuracy !== null ? valWhat : 'train accuracy', formatPercent(acc, 2)]);
      facts.push(['target coverage', formatPercent(1 - last.denseFraction)]);
    }
    if (sum) {
      facts.push(['output', baseName(sum.output)]);
      if (sum.metric === 'agreement') {
        if (sum.finalAccuracy !== null) facts.push(['final agreement (with dense)', formatPercent(sum.finalAccuracy, 2)]);
      } else {
        if (sum.denseAccuracy !== null) facts.push(['dense accuracy', formatPercent(sum.denseAccuracy, 2)]);
        if (sum.finalAccuracy !== null) facts.push(['final accuracy', formatPercent(sum.finalAccuracy, 2)]);
      }
      facts.push(['pattern check', sum.validationPass ? 'pass' : 'FAIL'], ['time', `${sum.seconds.toFixed(1)} s`]);
    }
    this.checks.replaceChildren(...(sum ? resultChecks(sum) : []));
    const items = facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]);
    // The coverage the finished model has: only once the run completed (tests read #coverage-final).
    if (outcome === 'completed' && last) items.unshift(h('dt', {}, 'final coverage'), h('dd', { id: 'coverage-final', 'data-coverage': String(last.coverage) }, formatPercent(last.coverage)));
    this.facts.replaceChildren(...items);
    const text = message ?? s.error;
    this.note.replaceChildren(...(text ? [h('div', { class: `message message-${outcome === 'failed' ? 'error' : 'info'}`, role: 'status' }, text)] : []));
  }
}

/**
 * What the finished run says about the model it wrote: the normalisation of layers without BatchNorm (inserted
 * for the run and folded back) and the numeric check's verdict against the dense model. Records of older runs
 * have neither.
 */
function resultChecks(sum: RunSummary): HTMLElement[] {
  const out: HTMLElement[] = [];
  const norm = sum.normalisation;
  if (norm) {
    const tone = norm.normalised.length > 0 && norm.skipped.length === 0 ? 'info' : 'warning';
    out.push(h('p', { id: 'run-normalisation', class: `message message-${tone}`, 'data-normalised': String(norm.normalised.length) }, norm.message));
  }
  const n = sum.numeric;
  if (n) {
    const v = n.verdict;
    out.push(h('p', { id: 'run-numeric-verdict', class: 'verdict', 'data-verdict': v.kind },
      h('span', { class: 'verdict-label' }, 'Numeric check'),
      verdictPill(v.kind),
      h('span', { class: 'verdict-detail', title: `Against ${baseName(n.reference)} on ${n.samples} samples of ${n.inputsFrom}.` }, verdictDetail(v.kind, v.message))));
  }
  return out;
}

/**
 * Renders a validation report: overall verdict, one row per layer (status, detected N:M, zeros, violating
 * groups) with the first violating blocks as buttons that open the inspector there, and the numeric check.
 */
import type { LayerValidation, ValidationLayerLabels, ValidationReport, ValidationRequestInfo, Violation } from '../../src/protocol/messages';
import { button } from '../components/button';
import { h } from '../components/dom';
import { uiReason } from '../components/reasons';
import { baseName, formatCount, formatNumber, formatPercent } from '../components/format';
import { section } from '../components/section';
import { VERDICT_LABELS, verdictDetail, verdictTone } from '../components/verdict';

export interface ReportActions {
  revealViolation(layer: string, v: Violation): void;
  revealLayer(layer: string): void;
  toggle(layer: string, expanded: boolean): void;
}

function statusPill(l: LayerValidation): HTMLElement {
  return h('span', { class: `pill ${l.status}`, title: uiReason(l.reason) }, l.status);
}

/**
 * A layer's label: the graph node's name when the export named the weight after an op (`onnx::Conv_629`), the
 * tensor name on hover; the tensor name stays the row's id (`data-layer`).
 */
export function layerLabel(name: string, labels: ValidationLayerLabels | undefined): { text: string; title: string } {
  const node = labels?.[name]?.nodeName;
  if (node && node !== name) return { text: node, title: `weight tensor: ${name}` };
  return { text: name, title: name };
}

/**
 * Skipped layers N:M could apply to (a policy choice, not a structural limit): from the host's layer labels, or,
 * for a report saved without them, from the policy's reasons.
 */
export function skippedEligible(report: ValidationReport, labels: ValidationLayerLabels | undefined): string[] {
  return report.layers
    .filter((l) => l.status === 'skipped' && (labels?.[l.name] ? labels[l.name].eligible : /--include|first conv|linear stem|--exclude/.test(l.reason ?? '')))
    .map((l) => l.name);
}

function violationLabel(l: LayerValidation, v: Violation): string {
  const m = l.m ?? 1;
  return `output ${v.o}, inputs ${v.i}–${v.i + m - 1}, kernel (${v.h}, ${v.w}): ${v.nonZeros} non-zeros`;
}

function layerRows(l: LayerValidation, k: number, expanded: boolean, a: ReportActions, labels: ValidationLayerLabels | undefined): HTMLElement[] {
  const label = layerLabel(l.name, labels);
  const failing = l.status === 'fail';
  const violations = l.firstViolations ?? [];
  const toggle = failing && violations.length > 0
    ? h('button', { type: 'button', class: 'link-button', id: `toggle-${k}`, 'aria-expanded': expanded ? 'true' : 'false', 'aria-controls': `violations-${k}` }, expanded ? 'hide blocks' : 'show blocks')
    : null;
  toggle?.addEventListener('click', () => a.toggle(l.name, !expanded));
  const open = h('button', { type: 'button', class: 'link-button', id: `open-layer-${k}`, title: `Open ${label.text} in the Layer Inspector` }, 'inspect');
  open.addEventListener('click', () => a.revealLayer(l.name));
  const groups = l.violatingGroups !== undefined && l.totalGroups !== undefined ? `${formatCount(l.violatingGroups)} of ${formatCount(l.totalGroups)}` : '–';
  const row = h('tr', { id: `layer-row-${k}`, 'data-layer': l.name, 'data-status': l.status, class: `validation-row status-${l.status}` },
    h('td', { class: 'mono layer-name', title: label.title, 'data-tensor': l.name }, label.text),
    h('td', {}, l.op),
    h('td', {}, statusPill(l)),
    h('td', {}, l.detected === undefined ? '–' : l.detected ? `${l.detected.n}:${l.detected.m}` : 'none'),
    h('td', { class: 'num' }, formatPercent(l.zeroFraction ?? null)),
    h('td', { class: 'num' }, groups),
    h('td', {}, l.status === 'skipped' ? h('span', { class: 'muted reason' }, uiReason(l.reason)) : h('span', { class: 'actions' }, open, toggle)));
  if (!failing || !expanded) return [row];
  const list = h('ul', { class: 'violations', id: `violations-${k}` }, ...violations.map((v, j) => {
    const b = h('button', { type: 'button', class: 'violation link-button', id: `violation-${k}-${j}`, 'data-layer': l.name }, violationLabel(l, v));
    b.addEventListener('click', () => a.revealViolation(l.name, v));
    return h('li', {}, b);
  }));
  const more = (l.violatingGroups ?? 0) > violations.length ? h('p', { class: 'muted' }, `…and ${formatCount((l.violatingGroups ?? 0) - violations.length)} more`) : null;
  return [row, h('tr', { class: 'violations-row' }, h('td', { colspan: 7 }, list, more))];
}

export function layersTable(report: ValidationReport, onlyFailing: boolean, expanded: Set<string>, a: ReportActions, labels?: ValidationLayerLabels): HTMLElement {
  const head = h('tr', {}, ...['Layer', 'Op', 'Status', 'Detected', 'Zeros', 'Violating groups', ''].map((t, i) => h('th', { scope: 'col', class: i === 4 || i === 5 ? 'num' : undefined }, t)));
  const body = h('tbody');
  report.layers.forEach((l, k) => {
    if (onlyFailing && l.status !== 'fail') return;
    body.append(...layerRows(l, k, expanded.has(l.name), a, labels));
  });
  if (!body.firstChild) body.append(h('tr', { class: 'empty-row' }, h('td', { colspan: 7 }, onlyFailing ? 'No layer fails.' : 'The model has no Conv, Gemm or MatMul layer.')));
  return h('div', { class: 'table-scroll' }, h('table', { id: 'validation-table', class: 'data-table' }, h('caption', { class: 'visually-hidden' }, 'Per-layer N:M check'), h('thead', {}, head), body));
}

/**
 * The overall verdict. A report in which no layer was checked never says PASS: it says nothing was checked,
 * what was skipped, and offers to include the skipped layers N:M can apply to (`include`).
 */
export function verdict(report: ValidationReport, labels?: ValidationLayerLabels, include?: (layers: string[]) => void, disabled = false): HTMLElement {
  const checked = report.layers.filter((l) => l.status !== 'skipped');
  const failing = checked.filter((l) => l.status === 'fail').length;
  const what = report.pattern ? `the ${report.pattern} pattern` : 'an N:M pattern (detect mode)';
  if (checked.length === 0) {
    const eligible = skippedEligible(report, labels);
    const n = report.layers.length;
    const skippedText = n === 0
      ? 'The model has no Conv, Gemm or MatMul layer.'
      : `All ${n} layer${n === 1 ? ' was' : 's were'} skipped${eligible.length > 0 ? ` (${eligible.length} of them could be checked: the sparsify policy leaves them dense)` : ' (N:M cannot apply to any of them)'}, so this says nothing about ${what}.`;
    const reasons = summariseReasons(report.layers);
    const includeButton = include && eligible.length > 0
      ? button({ id: 'include-skipped', label: 'Include the skipped eligible layers', appearance: 'primary', disabled, onClick: () => include(eligible) })
      : null;
    return h('div', { class: 'verdict verdict-nothing' },
      h('span', { id: 'overall', class: 'pill big warn', 'data-pass': 'false', 'data-checked': '0' }, 'NOTHING CHECKED'),
      h('span', { id: 'overall-text' }, `Nothing was checked. ${skippedText}`),
      reasons.length > 0 ? h('ul', { id: 'skipped-reasons', class: 'skipped-reasons' }, ...reasons.map(([reason, count]) => h('li', {}, `${count} × ${reason}`))) : null,
      includeButton);
  }
  const text = report.pass ? `All ${checked.length} checked layers follow ${what}.` : `${failing} of ${checked.length} checked layers violate ${what}.`;
  return h('div', { class: 'verdict' },
    h('span', { id: 'overall', class: `pill big ${report.pass ? 'pass' : 'fail'}`, 'data-pass': String(report.pass), 'data-checked': String(checked.length) }, report.pass ? 'PASS' : 'FAIL'),
    h('span', { id: 'overall-text' }, text));
}

/** Skip reasons with their counts, most frequent first, in the views' wording. */
function summariseReasons(layers: LayerValidation[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const l of layers) {
    if (l.status !== 'skipped') continue;
    const r = uiReason(l.reason) || 'no reason given';
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

/** What the BN re-estimation did, when the report comes from a re-estimated copy. */
function bnNote(report: ValidationReport): HTMLElement[] {
  const b = report.bnRecalibration;
  if (!b) return [];
  const acc = (x: number | null) => (x === null ? 'n/a' : formatPercent(x, 2));
  return [h('p', { id: 'bn-recalibration' },
    `BatchNorm statistics of ${baseName(b.source)} re-estimated on ${b.samples} samples (${b.layers} layers) and written to ${baseName(b.out)}; accuracy ${acc(b.accuracyBefore)} → ${acc(b.accuracyAfter)}.`)];
}

function thresholdsText(t: Record<string, number>): string {
  return `Thresholds: blown up when the output scale ratio leaves [1/${t.scaleRatio}, ${t.scaleRatio}] or max |Δ| exceeds ${t.rangeMultiple}× the dense range; changed predictions below ${t.top1Agreement * 100}% top-1 agreement or cosine ${t.cosine}; same function when max |Δ| ≤ ${t.sameFunction}× the dense range or ≤ ${t.absoluteFloor} (float noise).`;
}

export function numericSection(report: ValidationReport, request: ValidationRequestInfo, pickReference: HTMLElement): HTMLElement {
  const n = report.numeric;
  if (!n) {
    return section('numeric-section', 'Numeric check', 'Compare this model’s outputs with its dense source on the same inputs (onnxruntime).',
      ...bnNote(report), h('p', { class: 'muted', id: 'numeric-none' }, 'No dense reference was given for this model.'), pickReference);
  }
  const rows = n.outputs.map((o) => h('tr', {},
    h('td', { class: 'mono' }, o.name),
    h('td', { class: 'num' }, formatNumber(o.maxAbsDiff, 4)),
    h('td', { class: 'num' }, formatNumber(o.referenceRange, 4)),
    h('td', { class: 'num' }, `×${formatNumber(o.scaleRatio, 3)}`),
    h('td', { class: 'num' }, formatNumber(o.cosine, 6)),
    h('td', { class: 'num' }, o.top1Agreement === null ? '–' : formatPercent(o.top1Agreement, 2))));
  const v = n.verdict;
  return section('numeric-section', 'Numeric check', null,
    ...bnNote(report),
    h('p', { id: 'numeric-verdict', class: 'verdict', 'data-verdict': v.kind },
      h('span', { class: `pill big ${verdictTone(v.kind)}` }, VERDICT_LABELS[v.kind]),
      h('span', { title: thresholdsText(v.thresholds) }, ` ${verdictDetail(v.kind, v.message)}`)),
    h('p', { class: 'muted' }, `Against ${baseName(n.reference)} on ${n.samples} samples of ${n.inputsFrom}${request.bnRecalibrate ? ', BatchNorm re-estimated' : ''}.`),
    h('div', { class: 'table-scroll' }, h('table', { id: 'numeric-table', class: 'data-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Output'), h('th', { class: 'num' }, 'Max |Δ|'), h('th', { class: 'num' }, 'Dense range'), h('th', { class: 'num' }, 'Scale'), h('th', { class: 'num' }, 'Cosine'), h('th', { class: 'num' }, 'Top-1 agreement'))),
      h('tbody', {}, ...rows))),
    pickReference);
}

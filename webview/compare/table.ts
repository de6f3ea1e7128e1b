/**
 * The Compare view's table: every configuration with mean ± std, Δ vs dense, time and the pattern check, sortable
 * (the shared DataTable: roving tabindex, ↑/↓, Enter), and a "Use this one" button per row.
 */
import type { CompareViewModel, CompareViewRow } from '../../src/protocol/messages';
import { button } from '../components/button';
import { Column, DataTable } from '../components/dataTable';
import { h } from '../components/dom';

const METHOD_NAMES: Record<string, string> = { magnitude: 'Magnitude', srste: 'SR-STE', maxq: 'MaxQ' };
const KIND_ORDER = { 'one-shot': 0, 'one-shot-bn': 1, 'fine-tune': 2 } as const;

const pct = (x: number) => (x * 100).toFixed(2);
const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}`;

function patternSort(p: string): number {
  const [n, m] = p.split(':').map(Number);
  // Denser patterns first: by N/M descending, then M.
  return Number.isFinite(n) && Number.isFinite(m) && m > 0 ? -(n / m) * 1000 + m : 0;
}

export interface TableActions {
  use(row: CompareViewRow, button: HTMLElement): void;
  select(row: CompareViewRow): void;
}

export function buildTable(view: CompareViewModel, actions: TableActions): DataTable<CompareViewRow> {
  const index = new Map(view.rows.map((r, k) => [r.key, k]));
  const columns: Column<CompareViewRow>[] = [
    { key: 'pattern', label: 'Pattern', sortValue: (r) => patternSort(r.pattern), render: (r) => r.pattern },
    { key: 'method', label: 'Method', sortValue: (r) => METHOD_NAMES[r.method] ?? r.method, render: (r) => METHOD_NAMES[r.method] ?? r.method },
    { key: 'variant', label: 'Variant', sortValue: (r) => `${KIND_ORDER[r.kind]} ${r.variant}`, render: (r) => r.variant },
    {
      key: 'runs', label: 'Runs', numeric: true, sortValue: (r) => r.runs,
      render: (r) => (r.deterministic ? h('span', { title: 'Deterministic: one-shot runs give the same model for every seed, so they run once.' }, '1') : String(r.runs)),
    },
    {
      key: 'mean', label: `${view.metricLabel} % (mean ± std)`, numeric: true, sortValue: (r) => r.mean ?? -1,
      render: (r) => {
        if (r.mean === null) return 'n/a';
        const cell = h('span', { class: 'mean-cell' }, r.highest ? h('span', { class: 'pill pass highest', title: `Highest mean ${view.metricLabel} at ${r.pattern}` }, 'highest') : null, h('span', { class: 'mean' }, pct(r.mean)));
        if (r.std !== null) cell.append(h('span', { class: 'std' }, ` ± ${pct(r.std)}`));
        return cell;
      },
      title: (r) => (r.std === null && !r.deterministic ? 'One run: no spread measured (run more seeds for ± std).' : undefined),
    },
    {
      key: 'delta', label: 'Δ vs dense (points)', numeric: true, sortValue: (r) => r.delta ?? -1,
      render: (r) => (r.delta === null ? 'n/a' : `${points(r.delta)}${r.deltaStd !== null ? ` ± ${pct(r.deltaStd)}` : ''}`),
    },
    {
      key: 'time', label: 'Time / run', numeric: true, sortValue: (r) => r.seconds, render: (r) => `${r.seconds.toFixed(1)} s`,
      title: (r) => `${r.cpuSeconds.toFixed(1)} s CPU per run`,
    },
    {
      key: 'check', label: 'Pattern check', sortValue: (r) => (r.validationPass ? 1 : 0),
      render: (r) => h('span', { class: `pill ${r.validationPass ? 'pass' : 'fail'}` }, r.validationPass ? 'pass' : 'FAIL'),
    },
    {
      key: 'use', label: 'Sparsify',
      render: (r) => {
        const b = button({
          id: `use-${index.get(r.key) ?? 0}`, label: 'Use this one', appearance: 'secondary',
          title: `Open the sparsify form with ${r.pattern} ${METHOD_NAMES[r.method] ?? r.method} · ${r.variant}`,
          onClick: () => actions.use(r, b),
        });
        b.classList.add('use-row');
        b.dataset.key = r.key;
        b.setAttribute('aria-label', `Use this one: ${r.pattern} ${METHOD_NAMES[r.method] ?? r.method}, ${r.variant}`);
        return b;
      },
    },
  ];
  return new DataTable<CompareViewRow>({
    id: 'compare-table',
    caption: `Every configuration of the comparison: mean ${view.metricLabel} over seeds, difference to the dense model, time and pattern check`,
    columns,
    rowKey: (r) => r.key,
    rowId: (r) => `compare-row-${index.get(r.key) ?? 0}`,
    rowClass: (r) => `compare-row kind-${r.kind}${r.validationPass ? '' : ' check-fail'}`,
    onActivate: (r) => actions.select(r),
    emptyText: 'The report has no rows.',
  });
}

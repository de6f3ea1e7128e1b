/**
 * The layer policy table of the sparsify form: every Conv/Gemm/MatMul layer, whether the policy selects it and
 * why not, and an include checkbox per eligible layer. Overrides are stored as include/exclude name lists.
 */
import type { PolicyLayerRow } from '../../src/protocol/messages';
import { checkbox } from '../components/checkbox';
import { DataTable } from '../components/dataTable';
import { h } from '../components/dom';
import { formatCount, formatShape } from '../components/format';
import { uiReason } from '../components/reasons';

export interface Overrides {
  include: string[];
  exclude: string[];
}

export function isIncluded(row: PolicyLayerRow, o: Overrides): boolean {
  if (!row.eligible) return false;
  if (o.include.includes(row.name)) return true;
  return row.selected && !o.exclude.includes(row.name);
}

/** The override lists that make `row` included or not, dropping entries that equal the policy. */
export function withChoice(row: PolicyLayerRow, included: boolean, o: Overrides): Overrides {
  const include = o.include.filter((n) => n !== row.name);
  const exclude = o.exclude.filter((n) => n !== row.name);
  if (included && !row.selected) include.push(row.name);
  if (!included && row.selected) exclude.push(row.name);
  return { include, exclude };
}

export class PolicyTable {
  readonly table: DataTable<PolicyLayerRow & { index: number }>;
  private rows: (PolicyLayerRow & { index: number })[] = [];

  constructor(private overrides: Overrides, private readonly onChange: (o: Overrides) => void) {
    this.table = new DataTable<PolicyLayerRow & { index: number }>({
      id: 'layer-table',
      caption: 'Layers and the sparsification policy',
      emptyText: 'No Conv, Gemm or MatMul layer with a constant weight.',
      rowKey: (r) => r.name,
      rowId: (r) => `layer-row-${r.index}`,
      rowClass: (r) => `layer-row ${r.eligible ? (isIncluded(r, this.overrides) ? 'included' : 'excluded') : 'ineligible'}`,
      onActivate: (r) => {
        if (r.eligible) this.choose(r, !isIncluded(r, this.overrides));
      },
      columns: [
        {
          key: 'include',
          label: 'Sparsify',
          render: (r) =>
            checkbox({
              id: `layer-include-${r.index}`,
              label: '',
              title: r.eligible ? `Sparsify ${r.name}` : `Not eligible: ${formReason(r)}`,
              checked: isIncluded(r, this.overrides),
              disabled: !r.eligible,
              onChange: (checked) => this.choose(r, checked),
            }),
        },
        { key: 'name', label: 'Layer', sortValue: (r) => r.name, render: (r) => h('span', { class: 'mono' }, r.name) },
        { key: 'op', label: 'Op', sortValue: (r) => r.op, render: (r) => r.op },
        { key: 'shape', label: 'Weight shape', render: (r) => formatShape(r.shape) },
        { key: 'params', label: 'Params', numeric: true, sortValue: (r) => r.params, render: (r) => formatCount(r.params) },
        {
          key: 'policy',
          label: 'Policy',
          sortValue: (r) => (r.eligible ? (r.selected ? 0 : 1) : 2),
          render: (r) => policyText(r, this.overrides),
          title: (r) => formReason(r) || undefined,
        },
      ],
    });
  }

  setRows(rows: PolicyLayerRow[]): void {
    this.rows = rows.map((r, index) => ({ ...r, index }));
    this.table.setRows(this.rows);
  }

  setOverrides(o: Overrides): void {
    this.overrides = o;
    this.table.setRows(this.rows);
  }

  /** The rows the run would sparsify: the policy with the overrides. */
  includedRows(): PolicyLayerRow[] {
    return this.rows.filter((r) => isIncluded(r, this.overrides));
  }

  summary(): string {
    const included = this.rows.filter((r) => isIncluded(r, this.overrides));
    const params = included.reduce((s, r) => s + r.params, 0);
    const total = this.rows.reduce((s, r) => s + r.params, 0);
    return `${included.length} of ${this.rows.length} layers will be sparsified (${formatCount(params)} of ${formatCount(total)} layer parameters).`;
  }

  private choose(r: PolicyLayerRow, included: boolean): void {
    this.overrides = withChoice(r, included, this.overrides);
    this.table.setRows(this.rows);
    this.onChange(this.overrides);
  }
}

/** The engine's reason worded for this form: a tick in the table, not the CLI's --include/--exclude. */
function formReason(r: PolicyLayerRow): string {
  return uiReason(r.reason, 'form');
}

function policyText(r: PolicyLayerRow, o: Overrides): Node {
  if (!r.eligible) return h('span', { class: 'pill skipped' }, `ineligible: ${formReason(r) || 'unknown reason'}`);
  const inc = isIncluded(r, o);
  if (inc && !r.selected) return h('span', { class: 'pill pass' }, 'included (override)');
  if (!inc && r.selected) return h('span', { class: 'pill muted' }, 'excluded (override)');
  if (inc) return h('span', { class: 'pill pass' }, 'selected');
  return h('span', { class: 'pill muted' }, `dense by policy${r.reason ? `: ${formReason(r)}` : ''}`);
}

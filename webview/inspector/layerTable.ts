/**
 * The inspector's layer table: op, weight shape, parameters, eligibility (with the reason), whether a BatchNorm
 * follows the layer, zero fraction, the detected N:M and pass/fail for the chosen pattern. Sortable; filtered by
 * name text and a scope.
 */
import type { InspectorLayerRow, LayerCheck } from '../../src/protocol/messages';
import { DataTable, SortState } from '../components/dataTable';
import { h } from '../components/dom';
import { dropdown } from '../components/dropdown';
import { formatCount, formatPercent, formatShape } from '../components/format';
import { textField } from '../components/textField';
import { uiReason } from '../components/reasons';

/** The node's name when the export named the weight after an op (`onnx::Conv_629`); the tensor name otherwise. */
export function layerDisplayName(r: Pick<InspectorLayerRow, 'name' | 'nodeName'>): string {
  return r.nodeName && r.nodeName !== r.name ? r.nodeName : r.name;
}

export type LayerScope = 'all' | 'eligible' | 'failing' | 'selected';

export interface LayerFilter {
  text: string;
  scope: LayerScope;
}

function checkCell(c: LayerCheck | undefined, pending: boolean): Node | string {
  if (!c) return pending ? h('span', { class: 'muted' }, '…') : '–';
  if (c.status === 'skipped') return h('span', { class: 'pill skipped', title: uiReason(c.reason) }, 'skipped');
  const detail = c.violatingGroups ? ` (${formatCount(c.violatingGroups)} bad)` : '';
  return h('span', { class: `pill ${c.status}` }, `${c.status}${detail}`);
}

function detectedText(c: LayerCheck | undefined): string {
  if (!c || c.status === 'skipped') return '–';
  return c.detected ?? 'none';
}

export class LayerTable {
  readonly element: HTMLElement;
  readonly table: DataTable<InspectorLayerRow>;
  private checks: Record<string, LayerCheck> = {};
  private checksPending = true;
  private rows: InspectorLayerRow[] = [];
  private readonly resetControls: () => void;

  constructor(private filter: LayerFilter, sort: SortState | null, onSelect: (row: InspectorLayerRow) => void, onFilter: (f: LayerFilter) => void, onSort: (s: SortState | null) => void) {
    const check = (r: InspectorLayerRow) => this.checks[r.name];
    this.table = new DataTable<InspectorLayerRow>({
      id: 'layer-table',
      caption: 'Layers of the model',
      emptyText: 'No layer matches the filter.',
      rowKey: (r) => r.name,
      rowId: (r) => `layer-row-${r.index}`,
      rowClass: (r) => (r.eligible ? 'layer-row' : 'layer-row ineligible'),
      onActivate: onSelect,
      columns: [
        // The node's name is the label; the tensor name (the layer's id everywhere) is on hover and in data-tensor.
        { key: 'name', label: 'Layer', sortValue: (r) => r.index, render: (r) => h('span', { class: 'mono layer-name', 'data-tensor': r.name }, layerDisplayName(r)), title: (r) => `weight tensor: ${r.name}${r.nodeName ? `\nnode: ${r.nodeName}` : ''}` },
        { key: 'op', label: 'Op', sortValue: (r) => r.op, render: (r) => r.op },
        { key: 'shape', label: 'Weight shape', render: (r) => formatShape(r.storageShape) },
        { key: 'params', label: 'Params', numeric: true, sortValue: (r) => r.params, render: (r) => formatCount(r.params) },
        {
          key: 'eligible', label: 'Eligible', sortValue: (r) => (r.eligible ? 0 : 1),
          // The reason wraps in its cell (no cut-off); the full text is also the cell's tooltip and under the heatmap.
          render: (r) => (r.eligible && r.selected ? 'yes' : h('span', { class: 'muted reason' }, `${r.eligible ? 'dense' : 'no'}${r.reason ? `: ${uiReason(r.reason)}` : ''}`)),
          title: (r) => (r.reason ? uiReason(r.reason) : undefined),
        },
        {
          key: 'bn', label: 'BN after', sortValue: (r) => (r.bnAfter === undefined ? 2 : r.bnAfter ? 0 : 1),
          render: (r) => (r.bnAfter === undefined ? '–' : r.bnAfter ? 'yes' : h('span', { class: 'bn-none' }, 'no')),
          title: (r) => (r.bnAfter === undefined ? undefined : r.bnAfter
            ? 'A BatchNormalization normalises this layer’s output channels.'
            : 'No BatchNorm after this layer (folded at export, or never there): a run with data normalises it for the run and folds that back.'),
        },
        { key: 'zeros', label: 'Zeros', numeric: true, sortValue: (r) => check(r)?.zeroFraction ?? -1, render: (r) => formatPercent(check(r)?.zeroFraction ?? null) },
        { key: 'detected', label: 'Detected', sortValue: (r) => check(r)?.detected ?? '', render: (r) => detectedText(check(r)) },
        { key: 'check', label: 'Pattern', sortValue: (r) => ({ fail: 0, pass: 1, skipped: 2 })[check(r)?.status ?? 'skipped'], render: (r) => checkCell(check(r), this.checksPending) },
      ],
    });
    this.table.setSort(sort);
    this.table.onSortChange = onSort;
    const text = textField({ id: 'layer-filter', label: 'Filter layers', value: filter.text, placeholder: 'name or op', onInput: (t) => { this.filter = { ...this.filter, text: t }; this.applyFilter(); onFilter(this.filter); } });
    const scope = dropdown<LayerScope>({
      id: 'layer-scope', label: 'Show', value: filter.scope,
      options: [{ value: 'all', label: 'all layers' }, { value: 'eligible', label: 'eligible' }, { value: 'selected', label: 'selected by policy' }, { value: 'failing', label: 'failing the pattern' }],
      onChange: (s) => { this.filter = { ...this.filter, scope: s }; this.applyFilter(); onFilter(this.filter); },
    });
    this.element = h('div', { class: 'layer-panel' }, h('div', { class: 'toolbar' }, text.element, scope.element), this.table.element);
    this.resetControls = () => {
      text.value = '';
      scope.value = 'all';
    };
    this.applyFilter();
  }

  /** Clears the filter (a reveal must be able to show any layer); returns the new filter. */
  showAll(): LayerFilter {
    this.filter = { text: '', scope: 'all' };
    this.resetControls();
    this.applyFilter();
    return this.filter;
  }

  isVisible(name: string): boolean {
    return this.table.visibleRows().some((r) => r.name === name);
  }

  setRows(rows: InspectorLayerRow[]): void {
    this.rows = rows;
    this.table.setRows(rows);
  }

  setChecks(checks: Record<string, LayerCheck> | null): void {
    this.checks = checks ?? {};
    this.checksPending = checks === null;
    this.table.setRows(this.rows);
  }

  private applyFilter(): void {
    const t = this.filter.text.trim().toLowerCase();
    const scope = this.filter.scope;
    this.table.setFilter((r) => {
      if (t && !r.name.toLowerCase().includes(t) && !(r.nodeName ?? '').toLowerCase().includes(t) && !r.op.toLowerCase().includes(t)) return false;
      if (scope === 'eligible') return r.eligible;
      if (scope === 'selected') return r.selected;
      if (scope === 'failing') return this.checks[r.name]?.status === 'fail';
      return true;
    });
  }
}

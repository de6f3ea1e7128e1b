/**
 * A native table with sortable columns, a row filter and keyboard navigation: one row is in the tab order
 * (roving tabindex); ↑/↓/Home/End/PageUp/PageDown move it, Enter or Space activates it, a click does both.
 */
import { h, replaceChildren } from './dom';

export interface Column<R> {
  key: string;
  label: string;
  numeric?: boolean;
  /** Omit to make the column unsortable. */
  sortValue?: (row: R) => number | string;
  render: (row: R) => Node | string;
  title?: (row: R) => string | undefined;
}

export interface DataTableSpec<R> {
  id: string;
  caption: string;
  columns: Column<R>[];
  /** Stable key of a row (the layer name). */
  rowKey: (row: R) => string;
  /** Element id of a row, for tests and aria. */
  rowId: (row: R) => string;
  rowClass?: (row: R) => string;
  onActivate?: (row: R) => void;
  emptyText: string;
}

export interface SortState {
  key: string;
  dir: 'asc' | 'desc';
}

export class DataTable<R> {
  readonly element: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly body: HTMLTableSectionElement;
  private readonly headerCells = new Map<string, HTMLTableCellElement>();
  private rows: R[] = [];
  private visible: R[] = [];
  private filter: (row: R) => boolean = () => true;
  private sort: SortState | null = null;
  private focusKey: string | null = null;
  private selectedKey: string | null = null;
  /** Fired when the user changes the sort (to persist it). */
  onSortChange: (s: SortState | null) => void = () => undefined;

  constructor(private readonly spec: DataTableSpec<R>) {
    this.body = h('tbody');
    const headRow = h('tr');
    for (const c of spec.columns) {
      const th = h('th', { scope: 'col', class: c.numeric ? 'num' : undefined });
      if (c.sortValue) {
        const b = h('button', { type: 'button', class: 'sort-button', 'data-sort-key': c.key }, c.label, h('span', { class: 'sort-indicator', 'aria-hidden': 'true' }));
        b.addEventListener('click', () => this.toggleSort(c.key));
        th.append(b);
      } else th.textContent = c.label;
      this.headerCells.set(c.key, th);
      headRow.append(th);
    }
    this.table = h('table', { id: spec.id, class: 'data-table' }, h('caption', { class: 'visually-hidden' }, spec.caption), h('thead', {}, headRow), this.body);
    this.table.addEventListener('keydown', (e) => this.onKey(e));
    this.element = h('div', { class: 'table-scroll' }, this.table);
  }

  setRows(rows: R[]): void {
    this.rows = rows;
    this.render();
  }

  setFilter(filter: (row: R) => boolean): void {
    this.filter = filter;
    this.render();
  }

  setSort(sort: SortState | null): void {
    this.sort = sort;
    this.render();
  }

  /** Marks a row selected (aria-selected) and scrolls it into view. */
  select(key: string | null, focus = false): void {
    this.selectedKey = key;
    if (key) this.focusKey = key;
    this.render();
    const row = key ? this.rowElement(key) : null;
    row?.scrollIntoView({ block: 'nearest' });
    if (focus) row?.focus();
  }

  visibleRows(): readonly R[] {
    return this.visible;
  }

  private rowElement(key: string): HTMLTableRowElement | null {
    return this.body.querySelector(`tr[data-key="${CSS.escape(key)}"]`);
  }

  private toggleSort(key: string): void {
    if (this.sort?.key !== key) this.sort = { key, dir: 'asc' };
    else if (this.sort.dir === 'asc') this.sort = { key, dir: 'desc' };
    else this.sort = null;
    this.onSortChange(this.sort);
    this.render();
  }

  private sorted(rows: R[]): R[] {
    const s = this.sort;
    const col = s ? this.spec.columns.find((c) => c.key === s.key) : undefined;
    if (!s || !col?.sortValue) return rows;
    const get = col.sortValue;
    const sign = s.dir === 'asc' ? 1 : -1;
    return rows
      .map((r, i) => ({ r, i, v: get(r) }))
      .sort((a, b) => (a.v < b.v ? -sign : a.v > b.v ? sign : a.i - b.i))
      .map((x) => x.r);
  }

  private render(): void {
    for (const [key, th] of this.headerCells) {
      const dir = this.sort?.key === key ? (this.sort.dir === 'asc' ? 'ascending' : 'descending') : undefined;
      if (dir) th.setAttribute('aria-sort', dir);
      else th.removeAttribute('aria-sort');
    }
    this.visible = this.sorted(this.rows.filter(this.filter));
    const keys = this.visible.map(this.spec.rowKey);
    if (!this.focusKey || !keys.includes(this.focusKey)) this.focusKey = keys[0] ?? null;
    const hadFocus = this.body.contains(document.activeElement);
    if (this.visible.length === 0) {
      replaceChildren(this.body, h('tr', { class: 'empty-row' }, h('td', { colspan: this.spec.columns.length }, this.spec.emptyText)));
      return;
    }
    replaceChildren(
      this.body,
      ...this.visible.map((r) => {
        const key = this.spec.rowKey(r);
        const tr = h('tr', {
          id: this.spec.rowId(r),
          'data-key': key,
          class: this.spec.rowClass?.(r),
          tabindex: key === this.focusKey ? 0 : -1,
          'aria-selected': key === this.selectedKey ? 'true' : 'false',
        });
        for (const c of this.spec.columns) tr.append(h('td', { class: c.numeric ? 'num' : undefined, title: c.title?.(r) }, c.render(r)));
        tr.addEventListener('click', (e) => {
          // Controls inside a row (checkboxes) handle their own clicks.
          if ((e.target as HTMLElement).closest('vscode-checkbox, button, vscode-button')) return;
          this.focusKey = key;
          this.activate(r);
        });
        tr.addEventListener('focus', () => {
          this.focusKey = key;
          for (const other of this.body.querySelectorAll('tr[tabindex="0"]')) if (other !== tr) other.setAttribute('tabindex', '-1');
          tr.setAttribute('tabindex', '0');
        });
        return tr;
      }),
    );
    if (hadFocus && this.focusKey) this.rowElement(this.focusKey)?.focus();
  }

  private activate(r: R): void {
    this.spec.onActivate?.(r);
  }

  private onKey(e: KeyboardEvent): void {
    const tr = (e.target as HTMLElement).closest('tr[data-key]') as HTMLTableRowElement | null;
    if (!tr || e.target !== tr) return;
    const idx = this.visible.findIndex((r) => this.spec.rowKey(r) === tr.dataset.key);
    const page = Math.max(1, Math.floor(this.element.clientHeight / Math.max(1, tr.offsetHeight)) - 1);
    let next = idx;
    switch (e.key) {
      case 'ArrowDown': next = idx + 1; break;
      case 'ArrowUp': next = idx - 1; break;
      case 'Home': next = 0; break;
      case 'End': next = this.visible.length - 1; break;
      case 'PageDown': next = idx + page; break;
      case 'PageUp': next = idx - page; break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.activate(this.visible[idx]);
        return;
      default:
        return;
    }
    e.preventDefault();
    next = Math.max(0, Math.min(this.visible.length - 1, next));
    const key = this.spec.rowKey(this.visible[next]);
    this.focusKey = key;
    const el = this.rowElement(key);
    if (el) {
      tr.setAttribute('tabindex', '-1');
      el.setAttribute('tabindex', '0');
      el.focus();
      el.scrollIntoView({ block: 'nearest' });
    }
  }
}

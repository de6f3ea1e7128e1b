/** A labelled toolkit dropdown (the toolkit's select). The label is a real <label> for the control. */
import type { Dropdown } from '@vscode/webview-ui-toolkit';
import { h } from './dom';

export interface DropdownOption<V extends string> {
  value: V;
  label: string;
}

export interface DropdownSpec<V extends string> {
  id: string;
  label: string;
  options: readonly DropdownOption<V>[];
  value: V;
  onChange: (value: V) => void;
}

export interface DropdownControl<V extends string> {
  element: HTMLElement;
  value: V;
  setOptions(options: readonly DropdownOption<V>[], value: V): void;
}

function fill<V extends string>(select: Dropdown, options: readonly DropdownOption<V>[], value: V): void {
  select.replaceChildren(...options.map((o) => {
    const opt = h('vscode-option', { value: o.value });
    opt.textContent = o.label;
    return opt;
  }));
  // The option elements upgrade asynchronously; set the value once they are known to the select.
  queueMicrotask(() => {
    select.value = value;
  });
  select.value = value;
}

export function dropdown<V extends string>(spec: DropdownSpec<V>): DropdownControl<V> {
  const select = h('vscode-dropdown', { id: spec.id, 'aria-label': spec.label, position: 'below' }) as Dropdown;
  fill(select, spec.options, spec.value);
  let current = spec.value;
  select.addEventListener('change', () => {
    const v = select.value as V;
    if (v === current) return;
    current = v;
    spec.onChange(v);
  });
  const label = h('label', { class: 'field-label', for: spec.id }, spec.label);
  return {
    element: h('div', { class: 'field' }, label, select),
    get value() {
      return current;
    },
    set value(v: V) {
      current = v;
      select.value = v;
    },
    setOptions(options, value) {
      current = value;
      fill(select, options, value);
    },
  };
}

/** A toolkit radio group; each option can carry a one-line description under it. */
import type { RadioGroup } from '@vscode/webview-ui-toolkit';
import { h } from './dom';

export interface RadioOption<V extends string> {
  value: V;
  label: string;
  description?: string;
}

export interface RadioGroupSpec<V extends string> {
  id: string;
  label: string;
  options: readonly RadioOption<V>[];
  value: V;
  orientation?: 'horizontal' | 'vertical';
  /** Element id of each option; default `<id>-<value>`. */
  optionId?: (value: V) => string;
  onChange: (value: V) => void;
}

export interface RadioGroupControl<V extends string> {
  element: RadioGroup;
  value: V;
}

export function radioGroup<V extends string>(spec: RadioGroupSpec<V>): RadioGroupControl<V> {
  const group = h('vscode-radio-group', { id: spec.id, orientation: spec.orientation ?? 'vertical' }) as RadioGroup;
  group.append(h('label', { slot: 'label' }, spec.label));
  for (const o of spec.options) {
    const radio = h('vscode-radio', { id: spec.optionId ? spec.optionId(o.value) : `${spec.id}-${o.value}`, value: o.value, title: o.description });
    radio.textContent = o.description ? `${o.label} — ${o.description}` : o.label;
    group.append(radio);
  }
  group.value = spec.value;
  let current = spec.value;
  group.addEventListener('change', () => {
    const v = group.value as V;
    if (!v || v === current) return;
    current = v;
    spec.onChange(v);
  });
  return {
    element: group,
    get value() {
      return current;
    },
    set value(v: V) {
      current = v;
      group.value = v;
    },
  };
}

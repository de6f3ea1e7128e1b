/** A toolkit checkbox with its label as content. */
import type { Checkbox } from '@vscode/webview-ui-toolkit';
import { h } from './dom';

export interface CheckboxSpec {
  id: string;
  label: string;
  checked: boolean;
  disabled?: boolean;
  title?: string;
  onChange: (checked: boolean) => void;
}

export function checkbox(spec: CheckboxSpec): Checkbox {
  const el = h('vscode-checkbox', { id: spec.id, title: spec.title, disabled: spec.disabled }) as Checkbox;
  el.textContent = spec.label;
  el.checked = spec.checked;
  el.addEventListener('change', () => spec.onChange(el.checked));
  return el;
}

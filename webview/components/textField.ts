/** A labelled toolkit text field with an inline problem message (aria-invalid + aria-describedby). */
import type { TextField } from '@vscode/webview-ui-toolkit';
import { h } from './dom';

export interface TextFieldSpec {
  id: string;
  label: string;
  value: string;
  placeholder?: string;
  size?: number;
  inputMode?: 'numeric' | 'decimal' | 'text';
  /** Fired on every edit. */
  onInput?: (value: string) => void;
  /** Fired when the edit is committed (blur / Enter). */
  onChange?: (value: string) => void;
}

export interface TextFieldControl {
  element: HTMLElement;
  field: TextField;
  value: string;
  setProblem(message: string | null): void;
  setDisabled(disabled: boolean): void;
}

export function textField(spec: TextFieldSpec): TextFieldControl {
  const field = h('vscode-text-field', { id: spec.id, placeholder: spec.placeholder, size: spec.size, inputmode: spec.inputMode }) as TextField;
  field.textContent = spec.label;
  field.value = spec.value;
  const problem = h('div', { class: 'field-problem', id: `${spec.id}-problem`, role: 'alert', hidden: true });
  field.addEventListener('input', () => spec.onInput?.(field.value));
  field.addEventListener('change', () => spec.onChange?.(field.value));
  const element = h('div', { class: 'field' }, field, problem);
  return {
    element,
    field,
    get value() {
      return field.value;
    },
    set value(v: string) {
      field.value = v;
    },
    setProblem(message) {
      problem.textContent = message ?? '';
      problem.hidden = !message;
      if (message) {
        field.setAttribute('aria-invalid', 'true');
        field.setAttribute('aria-describedby', problem.id);
      } else {
        field.removeAttribute('aria-invalid');
        field.removeAttribute('aria-describedby');
      }
    },
    setDisabled(disabled) {
      field.disabled = disabled;
    },
  };
}

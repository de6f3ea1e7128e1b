/** A toolkit button. `appearance: 'icon'` buttons need a `label` for screen readers (it becomes aria-label). */
import type { Button } from '@vscode/webview-ui-toolkit';
import { h } from './dom';

export interface ButtonSpec {
  id: string;
  label: string;
  appearance?: 'primary' | 'secondary' | 'icon';
  /** Visible text of an icon button (a symbol); defaults to the label. */
  glyph?: string;
  title?: string;
  disabled?: boolean;
  onClick: () => void;
}

export function button(spec: ButtonSpec): Button {
  const el = h('vscode-button', {
    id: spec.id,
    appearance: spec.appearance ?? 'primary',
    title: spec.title ?? (spec.appearance === 'icon' ? spec.label : undefined),
    'aria-label': spec.appearance === 'icon' ? spec.label : undefined,
    disabled: spec.disabled,
  }) as Button;
  el.textContent = spec.appearance === 'icon' ? spec.glyph ?? spec.label : spec.label;
  el.addEventListener('click', () => {
    if (!el.disabled) spec.onClick();
  });
  return el;
}

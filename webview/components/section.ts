/** A titled form/page section with an optional hint line. */
import { h } from './dom';

export function section(id: string, title: string, hint: string | null, ...content: (Node | null)[]): HTMLElement {
  return h('section', { class: 'panel-section', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    hint ? h('p', { class: 'hint' }, hint) : null,
    ...content);
}

export function message(kind: 'error' | 'info' | 'warning', text: string, id?: string): HTMLElement {
  return h('div', { class: `message message-${kind}`, id, role: kind === 'error' ? 'alert' : 'status' }, text);
}

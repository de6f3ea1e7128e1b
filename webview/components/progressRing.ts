/** The toolkit's indeterminate progress ring, labelled for screen readers. */
import { h } from './dom';

export function progressRing(label: string): HTMLElement {
  return h('vscode-progress-ring', { 'aria-label': label });
}

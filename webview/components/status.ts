/** The `#status` element every view has (rendered by the host, visually hidden: users see the view itself): tests read its text, DONE or ERROR. */
import type { ViewStatus } from '../../src/protocol/messages';

export function setStatus(status: ViewStatus, detail?: string): void {
  const el = document.getElementById('status');
  if (el) {
    el.textContent = status;
    el.dataset.status = status;
    el.title = detail ?? '';
  }
  document.getElementById('app')?.setAttribute('aria-busy', status === 'LOADING' ? 'true' : 'false');
}

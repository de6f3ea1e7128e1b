/** Typed send/receive over a webview. Anything that is not a `{ type: string }` object is dropped, not trusted. */
import * as vscode from 'vscode';

export function isMessage(x: unknown): x is { type: string } {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}

const disposedPanels = new WeakSet<vscode.WebviewPanel>();

/**
 * Starts tracking a panel for `post`; call once, when the panel is created. Replies to work still running when the
 * panel closed (the user closed it, or the form handed over to its run) are then dropped: a disposed panel's
 * `webview` getter throws "Webview is disposed".
 */
export function trackPanel(panel: vscode.WebviewPanel): vscode.Disposable {
  return panel.onDidDispose(() => disposedPanels.add(panel));
}

export function post<TToWebview>(panel: vscode.WebviewPanel, message: TToWebview): void {
  if (disposedPanels.has(panel)) return;
  // A hidden webview without retained context drops messages; it asks again with 'ready' when shown.
  void panel.webview.postMessage(message);
}

export function onMessage<TToHost extends { type: string }>(
  webview: vscode.Webview,
  handler: (message: TToHost) => void | Promise<void>,
  onError: (err: unknown, message: TToHost) => void,
): vscode.Disposable {
  return webview.onDidReceiveMessage((raw: unknown) => {
    if (!isMessage(raw)) return;
    const message = raw as TToHost;
    try {
      const r = handler(message);
      if (r) r.catch((e) => onError(e, message));
    } catch (e) {
      onError(e, message);
    }
  });
}

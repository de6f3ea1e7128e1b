/** Typed send/receive over a webview. Anything that is not a `{ type: string }` object is dropped, not trusted. */
import * as vscode from 'vscode';

export function isMessage(x: unknown): x is { type: string } {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}

export function post<TToWebview>(webview: vscode.Webview, message: TToWebview): void {
  // A hidden webview without retained context drops messages; it asks again with 'ready' when shown.
  void webview.postMessage(message);
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

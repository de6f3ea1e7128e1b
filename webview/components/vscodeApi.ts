/**
 * The webview's side of the typed protocol: `acquireVsCodeApi` (callable once per page) wrapped with the view's
 * message and state types. Messages from anything but the host window are ignored.
 */
interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export interface HostChannel<TToHost, TState> {
  post(message: TToHost): void;
  getState(): TState | undefined;
  setState(state: TState): void;
}

let api: VsCodeApi | undefined;

export function connectToHost<TToWebview extends { type: string }, TToHost, TState>(onMessage: (m: TToWebview) => void): HostChannel<TToHost, TState> {
  api ??= acquireVsCodeApi();
  const vscode = api;
  window.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as unknown;
    if (typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string') onMessage(data as TToWebview);
  });
  return {
    post: (m) => vscode.postMessage(m),
    getState: () => (vscode.getState() as TState | undefined) ?? undefined,
    setState: (s) => vscode.setState(s),
  };
}

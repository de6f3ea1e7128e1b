/**
 * The HTML shell of every MaxQ webview: a strict Content-Security-Policy with a fresh nonce, the view's bundled
 * script and stylesheet through asWebviewUri, and the `#status` element tests wait on. The view builds the rest.
 * The csp-nonce meta lets the toolkit's FAST runtime add its own <style> elements under the same nonce.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';

export type WebviewName = 'sparsify' | 'inspector' | 'dashboard' | 'validation' | 'compare';

/** Only the bundles and the extension's media are loadable; nothing remote. */
export function localResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'out', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')];
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, enableCommandUris: false, localResourceRoots: localResourceRoots(extensionUri) };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderWebviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, view: WebviewName, title: string): string {
  const nonce = crypto.randomBytes(18).toString('base64');
  const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'out', 'webview', file));
  const csp = [
    `default-src 'none'`,
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" nonce="${nonce}" href="${asset(`${view}.css`)}">
</head>
<body class="maxq-view maxq-${view}">
<header class="view-header">
  <h1 id="view-title">${escapeHtml(title)}</h1>
  <span id="status" class="status-badge visually-hidden" aria-hidden="true" data-status="LOADING">LOADING</span>
</header>
<main id="app" aria-busy="true"></main>
<script nonce="${nonce}" src="${asset(`${view}.js`)}"></script>
</body>
</html>`;
}

/**
 * One open inspector editor: answers its webview's requests (layers for a pattern, heatmap tiles, one cell) from
 * the document's worker, and delivers reveal requests (a layer, a violating block) once the webview is ready.
 */
import * as vscode from 'vscode';
import type { MaskMethod } from '../../core/types';
import type { CellHighlight, InspectorLayerRow, InspectorToHost, InspectorToWebview } from '../../protocol/messages';
import { readSettings } from '../config/settings';
import { dimsOfShape, weightToCell } from '../heatmap/grid';
import { OutputLog } from '../log/outputLog';
import { errorMessage, reportError } from '../log/reportError';
import { onMessage, post, trackPanel } from '../webviewHost/messaging';
import { renderWebviewHtml, webviewOptions } from '../webviewHost/webviewHtml';
import { InspectorDocument } from './inspectorDocument';
import { batchNormInfo, inspectorModelInfo, inspectorRows, layerChecks } from './layerRows';

export interface RevealRequest {
  layer: string;
  /** A violating group's first weight (canonical coordinates) and M, to outline it. */
  violation?: { o: number; i: number; h: number; w: number };
  m?: number;
}

export class InspectorSession implements vscode.Disposable {
  private ready = false;
  private pendingReveal: RevealRequest | undefined;
  private rows: InspectorLayerRow[] = [];
  private pattern = readSettings().defaultPattern;
  private method: MaskMethod = readSettings().defaultMethod;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    readonly document: InspectorDocument,
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly log: OutputLog,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = renderWebviewHtml(panel.webview, extensionUri, 'inspector', `MaxQ Layer Inspector: ${document.fileName}`);
    this.disposables.push(
      trackPanel(panel),
      onMessage<InspectorToHost>(panel.webview, (m) => this.receive(m), (e) => reportError(log, `Inspector of ${document.fileName}`, e)),
      document.onDidChangeFile(() => {
        if (this.ready) void this.sendModel();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get active(): boolean {
    return this.panel.active;
  }

  reveal(request: RevealRequest): void {
    this.panel.reveal(undefined, false);
    if (this.ready && this.rows.length > 0) this.sendReveal(request);
    else this.pendingReveal = request;
  }

  private send(m: InspectorToWebview): void {
    post(this.panel, m);
  }

  private async receive(m: InspectorToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        if (m.pattern) this.pattern = m.pattern;
        if (m.method) this.method = m.method;
        await this.sendModel();
        return;
      case 'setPattern': {
        this.pattern = m.pattern;
        this.method = m.method;
        try {
          const summary = await this.document.summary(m.pattern);
          this.rows = inspectorRows(summary.layers);
          this.send({ type: 'layers', requestId: m.requestId, pattern: m.pattern, method: m.method, layers: this.rows, batchNorm: batchNormInfo(summary.batchNorm) });
        } catch (e) {
          this.send({ type: 'requestFailed', requestId: m.requestId, message: errorMessage(e) });
          return;
        }
        await this.sendChecks(m.pattern);
        return;
      }
      case 'requestTiles': {
        const { type: _t, requestId, ...req } = m;
        try {
          const tiles = await this.document.worker.call('tiles', { path: this.document.path, ...req });
          this.send({ type: 'tiles', requestId, tiles });
        } catch (e) {
          this.send({ type: 'requestFailed', requestId, message: errorMessage(e) });
        }
        return;
      }
      case 'requestCell': {
        const { type: _t, requestId, ...req } = m;
        try {
          const cell = await this.document.worker.call('cell', { path: this.document.path, ...req });
          this.send({ type: 'cell', requestId, cell });
        } catch (e) {
          this.send({ type: 'requestFailed', requestId, message: errorMessage(e) });
        }
        return;
      }
      case 'runCommand':
        await vscode.commands.executeCommand(m.command === 'sparsify' ? 'maxq.sparsify' : 'maxq.validate', this.document.uri);
        return;
    }
  }

  private async sendModel(): Promise<void> {
    const pattern = this.pattern;
    try {
      this.send({ type: 'progress', text: `Reading ${this.document.fileName}…` });
      const summary = await this.document.summary(pattern);
      this.rows = inspectorRows(summary.layers);
      this.send({ type: 'model', model: inspectorModelInfo(summary, this.document.fileName), pattern, method: this.method, layers: this.rows });
    } catch (e) {
      this.send({ type: 'modelFailed', message: errorMessage(e) });
      reportError(this.log, `Open ${this.document.fileName} in the Layer Inspector`, e);
      return;
    }
    if (this.pendingReveal) {
      this.sendReveal(this.pendingReveal);
      this.pendingReveal = undefined;
    }
    await this.sendChecks(pattern);
  }

  private async sendChecks(pattern: string): Promise<void> {
    try {
      const report = await this.document.patternChecks(pattern);
      this.send({ type: 'checks', pattern, checks: layerChecks(report) });
    } catch (e) {
      this.log.warn(`Inspector of ${this.document.fileName}: pattern checks for ${pattern} failed: ${errorMessage(e)}`);
      this.send({ type: 'checksFailed', pattern, message: errorMessage(e) });
    }
  }

  private sendReveal(r: RevealRequest): void {
    const row = this.rows.find((l) => l.name === r.layer || l.nodeName === r.layer);
    if (!row) {
      void vscode.window.showWarningMessage(`MaxQ: the inspector found no layer named '${r.layer}' in ${this.document.fileName}.`);
      return;
    }
    let highlight: CellHighlight | undefined;
    if (r.violation) {
      const cell = weightToCell(dimsOfShape(row.canonicalShape), r.violation);
      highlight = { row: cell.row, col: cell.col, cols: Math.max(1, r.m ?? 1) };
    }
    this.send({ type: 'reveal', layer: row.name, ...(highlight ? { highlight } : {}) });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}

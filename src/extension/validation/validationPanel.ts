/**
 * The validation view of one model: per-layer pass/fail with the violating blocks, the detected pattern and the
 * numeric check. The last report lives in the webview's state, so after a reload it is shown again at once.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { ValidationReport } from '../../core/types';
import type { ValidationLayerLabels, ValidationRequestInfo, ValidationToHost, ValidationToWebview } from '../../protocol/messages';
import { OutputLog } from '../log/outputLog';
import { reportError } from '../log/reportError';
import { onMessage, post, trackPanel } from '../webviewHost/messaging';
import { renderWebviewHtml, webviewOptions } from '../webviewHost/webviewHtml';
import { recheckRequest } from './recheckRequest';

export const VALIDATION_VIEW_TYPE = 'maxq.validation';

/** What the panel asks its owner to do. */
export interface ValidationActions {
  recheck(panel: ValidationPanel, request: ValidationRequestInfo): void;
  pickReference(panel: ValidationPanel): void;
  revealInInspector(modelPath: string, layer: string, violation?: { o: number; i: number; h: number; w: number }, m?: number): void;
}

type Shown = { type: 'running' } | { type: 'report'; report: ValidationReport; labels?: ValidationLayerLabels } | { type: 'failed'; message: string } | null;

export class ValidationPanel implements vscode.Disposable {
  private shown: Shown = null;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private requestInfo: ValidationRequestInfo | null,
    private readonly actions: ValidationActions,
    extensionUri: vscode.Uri,
    log: OutputLog,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'maxq.svg');
    panel.title = requestInfo ? `MaxQ Validate: ${requestInfo.modelName}` : 'MaxQ Validate';
    panel.webview.html = renderWebviewHtml(panel.webview, extensionUri, 'validation', panel.title);
    this.disposables.push(
      trackPanel(panel),
      onMessage<ValidationToHost>(panel.webview, (m) => this.receive(m), (e) => reportError(log, 'Validation view', e)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get modelPath(): string | null {
    return this.requestInfo?.modelPath ?? null;
  }

  get request(): ValidationRequestInfo | null {
    return this.requestInfo;
  }

  showRunning(request: ValidationRequestInfo): void {
    this.requestInfo = request;
    this.shown = { type: 'running' };
    this.panel.title = `MaxQ Validate: ${request.modelName}`;
    this.send({ type: 'running', request });
  }

  showReport(request: ValidationRequestInfo, report: ValidationReport, labels?: ValidationLayerLabels): void {
    this.requestInfo = request;
    this.shown = { type: 'report', report, labels };
    this.send({ type: 'report', request, report, ...(labels ? { labels } : {}) });
  }

  showFailure(request: ValidationRequestInfo, message: string): void {
    this.requestInfo = request;
    this.shown = { type: 'failed', message };
    this.send({ type: 'failed', request, message });
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  private send(m: ValidationToWebview): void {
    post(this.panel, m);
  }

  private receive(m: ValidationToHost): void {
    const req = this.requestInfo;
    switch (m.type) {
      case 'ready':
        // A restored webview renders its saved report itself; resend only what this host session knows.
        if (req && this.shown?.type === 'running') this.send({ type: 'running', request: req });
        else if (req && this.shown?.type === 'report') this.send({ type: 'report', request: req, report: this.shown.report, ...(this.shown.labels ? { labels: this.shown.labels } : {}) });
        else if (req && this.shown?.type === 'failed') this.send({ type: 'failed', request: req, message: this.shown.message });
        return;
      case 'recheck':
        if (req) this.actions.recheck(this, recheckRequest(req, m));
        return;
      case 'pickReference':
        this.actions.pickReference(this);
        return;
      case 'revealLayer':
        if (req) this.actions.revealInInspector(req.modelPath, m.layer);
        return;
      case 'revealViolation': {
        if (!req) return;
        const layer = this.shown?.type === 'report' ? this.shown.report.layers.find((l) => l.name === m.layer) : undefined;
        this.actions.revealInInspector(req.modelPath, m.layer, m.violation, layer?.m);
        return;
      }
    }
  }

  /** Restore the request after a reload (the panel serializer passes the webview's saved state). */
  adoptRequest(request: ValidationRequestInfo): void {
    this.requestInfo = request;
    this.panel.title = `MaxQ Validate: ${path.basename(request.modelPath)}`;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}


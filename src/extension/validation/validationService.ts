/**
 * Validates a model with the views around it: progress notification, the validation panel (one per model),
 * Problems-panel diagnostics. Also the panel serializer that brings validation views back after a reload.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { ValidationReport } from '../../core/types';
import type { ValidationLayerLabels, ValidationRequestInfo, ValidationState } from '../../protocol/messages';
import { readSettings } from '../config/settings';
import { OutputLog } from '../log/outputLog';
import { reportError } from '../log/reportError';
import { webviewOptions } from '../webviewHost/webviewHtml';
import { CoreWorkerClient } from '../worker/coreWorkerClient';
import { numericSourcesFor } from './referenceFromRecord';
import { diagnosticsForReport } from './validationDiagnostics';
import { VALIDATION_VIEW_TYPE, ValidationActions, ValidationPanel } from './validationPanel';
import { OpenPanels } from '../webviewHost/openPanels';

export interface ValidateOptions {
  /** "N:M"; null = detect mode; undefined = the maxq.defaultPattern setting. */
  pattern?: string | null;
  include?: string[];
  exclude?: string[];
  /** Dense model for the numeric check; undefined = the source named in `<model>.run.json`, if any. */
  reference?: string | null;
  inputs?: string | null;
  bnRecalibrate?: boolean;
  /** Open the validation view (default true). */
  showView?: boolean;
}

export type RevealInInspector = (modelPath: string, layer: string, violation?: { o: number; i: number; h: number; w: number }, m?: number) => void;

export class ValidationService implements vscode.WebviewPanelSerializer<unknown>, vscode.Disposable {
  private readonly panels = new OpenPanels<ValidationPanel>();
  private readonly actions: ValidationActions;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: OutputLog,
    private readonly worker: CoreWorkerClient,
    private readonly diagnostics: vscode.DiagnosticCollection,
    revealInInspector: RevealInInspector,
  ) {
    this.actions = {
      recheck: (panel, request) => void this.run(request, panel).catch(() => undefined),
      pickReference: (panel) => void this.pickReference(panel),
      revealInInspector,
    };
  }

  async validate(modelPath: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
    const sources = opts.reference === undefined ? await numericSourcesFor(modelPath) : { reference: opts.reference, inputs: opts.inputs ?? null };
    const request: ValidationRequestInfo = {
      modelPath,
      modelName: path.basename(modelPath),
      pattern: opts.pattern === undefined ? readSettings().defaultPattern : opts.pattern,
      reference: sources.reference,
      inputs: opts.inputs ?? sources.inputs,
      bnRecalibrate: opts.bnRecalibrate ?? false,
      ...(opts.include ? { include: opts.include } : {}),
      ...(opts.exclude ? { exclude: opts.exclude } : {}),
    };
    const panel = opts.showView === false ? undefined : this.panelFor(modelPath);
    return this.run(request, panel);
  }

  /** Node names and eligibility of the model's layers for the view; null when the model cannot be inspected. */
  private async labels(request: ValidationRequestInfo): Promise<ValidationLayerLabels | undefined> {
    try {
      const summary = await this.worker.call('inspect', {
        path: request.modelPath,
        ...(request.pattern ? { pattern: request.pattern } : {}),
        ...(request.include ? { include: request.include } : {}),
        ...(request.exclude ? { exclude: request.exclude } : {}),
      });
      return Object.fromEntries(summary.layers.map((l) => [l.name, { nodeName: l.nodeName, eligible: l.eligible }]));
    } catch {
      return undefined;
    }
  }

  private async run(request: ValidationRequestInfo, panel: ValidationPanel | undefined): Promise<ValidationReport> {
    const selection = { include: request.include, exclude: request.exclude };
    panel?.showRunning(request);
    panel?.reveal();
    const what = `${request.modelName}${request.pattern ? ` against ${request.pattern}` : ' (detect mode)'}`;
    this.log.info(`Validate ${request.modelPath}${request.pattern ? ` against ${request.pattern}` : ' (detect)'}${request.include?.length ? `, including ${request.include.join(', ')}` : ''}${request.reference ? `, numeric check against ${request.reference}` : ''}${request.bnRecalibrate ? ', BN re-estimated' : ''}`);
    try {
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MaxQ: validating ${what}…`, cancellable: false },
        () => {
          const threads = readSettings().threads;
          return this.worker.call('validate', {
            path: request.modelPath,
            ...(request.pattern ? { pattern: request.pattern } : {}),
            ...(request.reference ? { reference: request.reference } : {}),
            ...(request.inputs ? { inputs: request.inputs } : {}),
            ...(request.bnRecalibrate ? { bnRecalibrate: true } : {}),
            ...(selection.include ? { include: selection.include } : {}),
            ...(selection.exclude ? { exclude: selection.exclude } : {}),
            ...(threads > 0 ? { threads } : {}),
          });
        },
      );
      this.diagnostics.set(vscode.Uri.file(request.modelPath), diagnosticsForReport(report));
      const failing = report.layers.filter((l) => l.status === 'fail').length;
      this.log.info(`Validate ${request.modelName}: ${report.pass ? 'PASS' : `FAIL (${failing} layer${failing === 1 ? '' : 's'})`}`);
      panel?.showReport(request, report, panel ? await this.labels(request) : undefined);
      return report;
    } catch (e) {
      panel?.showFailure(request, e instanceof Error ? e.message : String(e));
      reportError(this.log, `Validate ${request.modelName}`, e);
      throw e;
    }
  }

  private async pickReference(panel: ValidationPanel): Promise<void> {
    const req = panel.request;
    if (!req) return;
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: 'Use as dense reference',
      filters: { 'ONNX models': ['onnx'] },
      defaultUri: vscode.Uri.file(path.dirname(req.modelPath)),
    });
    if (!picked?.[0]) return;
    await this.run({ ...req, reference: picked[0].fsPath }, panel).catch(() => undefined);
  }

  private panelFor(modelPath: string): ValidationPanel {
    const existing = this.panels.find((p) => p.modelPath && path.resolve(p.modelPath) === path.resolve(modelPath));
    if (existing) return existing;
    const panel = vscode.window.createWebviewPanel(VALIDATION_VIEW_TYPE, 'MaxQ Validate', vscode.ViewColumn.Active, webviewOptions(this.extensionUri));
    return this.panels.track(new ValidationPanel(panel, null, this.actions, this.extensionUri, this.log));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const s = state as Partial<ValidationState> | undefined;
    const p = this.panels.track(new ValidationPanel(panel, null, this.actions, this.extensionUri, this.log));
    if (s?.request && typeof s.request.modelPath === 'string') {
      p.adoptRequest(s.request);
      if (s.report) this.diagnostics.set(vscode.Uri.file(s.request.modelPath), diagnosticsForReport(s.report));
    }
  }

  dispose(): void {
    this.panels.dispose();
  }
}

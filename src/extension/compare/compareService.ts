/**
 * The comparison feature of the extension: the two commands, the Compare views (one per report; also the panel
 * serializer that brings them back after a reload) and "Use this one", which opens the sparsify form prefilled
 * with the row's recipe so the user confirms the output path before anything is written.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CompareReport } from '../../core/compare/compareReport';
import { inputError } from '../../core/errors';
import type { CompareState } from '../../protocol/messages';
import { modelPathOf, resolveModelUri } from '../commands/modelTarget';
import { readSettings } from '../config/settings';
import { reportError } from '../log/reportError';
import { Services } from '../services';
import { SparsifyFormPanel } from '../sparsify/sparsifyFormPanel';
import { webviewOptions } from '../webviewHost/webviewHtml';
import { askCompareRequest } from './compareInput';
import { CompareRequest, compareRequestFrom } from './compareRequest';
import { CompareJobs } from './compareRunner';
import { compareReportPathFor, isCompareReportPath, locateComparedModel } from './compareView';
import { COMPARE_VIEW_TYPE, ComparePanel, CompareViewInfo } from './comparePanel';
import { dataPathResolver, recipeFormValues } from './recipeForm';
import { OpenPanels } from '../webviewHost/openPanels';

export const COMPARE_COMMANDS = {
  compareMethods: 'maxq.compareMethods',
  openCompareReport: 'maxq.openCompareReport',
} as const;

/** A request object passed to maxq.compareMethods (not a menu's list of selected URIs). */
function isRequestArg(x: unknown): boolean {
  return x !== undefined && x !== null && !Array.isArray(x) && !(x instanceof vscode.Uri);
}

function isCompareState(x: unknown): x is CompareState {
  return !!x && typeof x === 'object' && 'reportPath' in x;
}

export class CompareService implements vscode.WebviewPanelSerializer<unknown>, vscode.Disposable {
  private readonly panels = new OpenPanels<ComparePanel>();
  readonly jobs: CompareJobs;

  constructor(private readonly s: Services) {
    this.jobs = new CompareJobs(s.log);
  }

  /** The Compare view of `reportPath` (revealed, or created), showing `report` or the file on disk. */
  async showReport(reportPath: string, report?: CompareReport): Promise<ComparePanel> {
    const resolved = path.resolve(reportPath);
    let panel = this.panels.find((p) => p.reportPath && path.resolve(p.reportPath) === resolved);
    if (panel) panel.reveal();
    else {
      const created = vscode.window.createWebviewPanel(COMPARE_VIEW_TYPE, 'MaxQ Compare', vscode.ViewColumn.Active, webviewOptions(this.s.extensionUri));
      panel = this.panels.track(new ComparePanel(created, resolved, this.s.extensionUri, this.s.log, (r, key, file) => this.useRow(r, key, file)));
    }
    await panel.show(resolved, report);
    return panel;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const reportPath = isCompareState(state) && typeof state.reportPath === 'string' ? state.reportPath : null;
    // The webview redraws its saved state itself; on 'ready' the host re-reads the file (or says it is gone).
    this.panels.track(new ComparePanel(panel, reportPath, this.s.extensionUri, this.s.log, (r, key, file) => this.useRow(r, key, file)));
  }

  /** "Use this one": the sparsify form of the compared model, prefilled with the row's recipe. */
  private async useRow(report: CompareReport, key: string, reportPath: string): Promise<{ ok: boolean; message: string }> {
    const row = report.rows.find((r) => r.key === key);
    if (!row) return { ok: false, message: `The report has no row "${key}".` };
    let model = locateComparedModel(report.model, reportPath, (p) => fs.existsSync(p));
    if (!model) {
      const pick = await vscode.window.showWarningMessage(
        `MaxQ: the compared model ${path.basename(report.model)} is not where the report says (${report.model}).`,
        'Choose the Model…',
      );
      const picked = pick
        ? await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Sparsify this model', filters: { 'ONNX models': ['onnx'] }, defaultUri: vscode.Uri.file(path.dirname(reportPath)) })
        : undefined;
      if (!picked?.[0]) return { ok: false, message: `The model ${report.model} was not found.` };
      model = picked[0].fsPath;
    }
    SparsifyFormPanel.show({ ...this.s }, model, (defaults) => {
      const r = recipeFormValues(defaults, row, report.config, dataPathResolver(reportPath, (p) => fs.existsSync(p)));
      if (r.caveats.length) {
        this.s.log.warn(`Sparsify form prefilled with ${r.title} from ${path.basename(reportPath)}; it differs from the comparison's runs:\n${r.caveats.map((c) => `  - ${c}`).join('\n')}`);
        void vscode.window.showWarningMessage(`MaxQ: the sparsify form cannot repeat every setting of "${r.title}": ${r.caveats.join(' ')}`, 'Show Details').then((pick) => {
          if (pick) this.s.log.show();
        });
      }
      return r.values;
    });
    this.s.log.info(`Use this one: ${row.key} from ${reportPath} → sparsify form of ${model}`);
    const note = `Opened the sparsify form with ${row.pattern} ${row.method} · ${row.label}: check the output path, then press Sparsify.`;
    return { ok: true, message: note };
  }

  /** maxq.compareMethods: asks (unless `requestArg` is given), runs, writes the report, opens the view. */
  async compareCommand(arg: unknown, requestArg: unknown): Promise<CompareViewInfo | undefined> {
    const uri = await resolveModelUri(arg, this.s.inspector.activeModel());
    if (!uri) return undefined;
    const model = modelPathOf(uri);
    if (!model.toLowerCase().endsWith('.onnx')) throw inputError(model, 'not an ONNX model (expected a .onnx file)');
    if (this.jobs.running(model)) {
      void vscode.window.showInformationMessage(`MaxQ: methods are already being compared on ${path.basename(model)}.`);
      return undefined;
    }
    const settings = readSettings();
    let request: CompareRequest | undefined;
    // From a menu the second argument is the list of selected files, not a request.
    if (isRequestArg(requestArg)) request = compareRequestFrom(requestArg, settings.defaultPattern);
    else {
      // Reading the model first: a corrupt file fails here, before any question.
      const summary = await this.s.worker.call('inspect', { path: model });
      request = await askCompareRequest(model, summary.inputs, settings.defaultPattern);
    }
    if (!request) return undefined;
    const reportPath = compareReportPathFor(model);
    if (!request.overwrite && fs.existsSync(reportPath)) {
      const answer = await vscode.window.showWarningMessage(
        `${path.basename(reportPath)} already exists. Replace it with the new comparison when it finishes?`,
        { modal: true, detail: reportPath },
        'Replace',
      );
      if (answer !== 'Replace') return undefined;
    }
    // The runner has told the user about a failure or a cancel.
    const result = await this.jobs.run(model, request).catch(() => null);
    if (!result) return undefined;
    const panel = await this.showReport(result.reportPath, result.report);
    return { reportPath: result.reportPath, ...(await panel.whenRendered()) };
  }

  /** maxq.openCompareReport: the Compare view of a `*.compare.json` (the argument, else a file the user picks). */
  async openCommand(arg: unknown): Promise<CompareViewInfo | undefined> {
    let uri = typeof arg === 'string' ? vscode.Uri.file(arg) : arg instanceof vscode.Uri ? arg : undefined;
    if (!uri) {
      const active = vscode.window.activeTextEditor?.document.uri;
      if (active && isCompareReportPath(active.path)) uri = active;
    }
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Open comparison', filters: { 'MaxQ comparison reports (*.compare.json)': ['json'] } });
      uri = picked?.[0];
    }
    if (!uri) return undefined;
    let file = modelPathOf(uri);
    // A model's report sits beside it: accept the model too.
    if (file.toLowerCase().endsWith('.onnx')) file = compareReportPathFor(file);
    if (!file.toLowerCase().endsWith('.json')) throw inputError(file, 'not a comparison report (expected a *.compare.json file written by maxq compare)');
    const panel = await this.showReport(file);
    return { reportPath: path.resolve(file), ...(await panel.whenRendered()) };
  }

  dispose(): void {
    this.jobs.dispose();
    this.panels.dispose();
  }
}

/** Registers the commands and the serializer; each command reports its own failure and never throws to VS Code. */
export function registerCompare(context: vscode.ExtensionContext, s: Services): CompareService {
  const service = new CompareService(s);
  const register = (id: string, action: string, fn: (...args: unknown[]) => Promise<CompareViewInfo | undefined>) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (e) {
          reportError(s.log, action, e);
          return undefined;
        }
      }),
    );
  context.subscriptions.push(service, vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW_TYPE, service));
  register(COMPARE_COMMANDS.compareMethods, 'Compare Methods', (arg, request) => service.compareCommand(arg, request));
  register(COMPARE_COMMANDS.openCompareReport, 'Open Comparison Report', (arg) => service.openCommand(arg));
  return service;
}

/**
 * One Compare view: a comparison report as a chart and a table, with "Use this one" per row. The webview keeps
 * what it shows in its state (hide/show and reloads redraw at once); whenever it (re)loads it says 'ready' and the
 * host sends the report again, re-read from disk unless the host holds a fresher one.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CompareReport } from '../../core/compare/compareReport';
import type { CompareToHost, CompareToWebview, CompareViewModel, ViewStatus } from '../../protocol/messages';
import { OutputLog } from '../log/outputLog';
import { errorMessage, reportError } from '../log/reportError';
import { onMessage, post, trackPanel } from '../webviewHost/messaging';
import { renderWebviewHtml, webviewOptions } from '../webviewHost/webviewHtml';
import { locateComparedModel, parseCompareReport, toCompareView } from './compareView';

export const COMPARE_VIEW_TYPE = 'maxq.compare';

/** What the webview last said it shows (after a 'report' or 'loadFailed'). */
export interface CompareRendered {
  status: ViewStatus;
  rows: number;
}

export interface CompareViewInfo extends CompareRendered {
  reportPath: string;
}

/** What the panel asks its owner to do with a row. */
export type UseRow = (report: CompareReport, rowKey: string, reportPath: string) => Promise<{ ok: boolean; message: string }>;

export async function readCompareReport(file: string): Promise<CompareReport> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file}: the report file does not exist` : `${file}: ${errorMessage(e)}`);
  }
  return parseCompareReport(text, file);
}

export class ComparePanel implements vscode.Disposable {
  private report: CompareReport | null = null;
  private rendered: CompareRendered | null = null;
  private waiters: ((r: CompareRendered) => void)[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private reportFile: string | null,
    extensionUri: vscode.Uri,
    private readonly log: OutputLog,
    private readonly useRow: UseRow,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'maxq.svg');
    panel.title = this.title();
    panel.webview.html = renderWebviewHtml(panel.webview, extensionUri, 'compare', panel.title);
    this.disposables.push(
      trackPanel(panel),
      onMessage<CompareToHost>(panel.webview, (m) => this.receive(m), (e) => reportError(log, 'Compare view', e)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get reportPath(): string | null {
    return this.reportFile;
  }

  private title(): string {
    return this.reportFile ? `MaxQ Compare: ${path.basename(this.reportFile).replace(/\.compare\.json$/i, '')}` : 'MaxQ Compare';
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  /** Show `reportPath`: the given report (just computed) or, without one, the file as it is on disk. */
  async show(reportPath: string, report?: CompareReport): Promise<void> {
    this.reportFile = reportPath;
    this.report = report ?? null;
    this.panel.title = this.title();
    await this.sendReport();
  }

  /** Resolves once the webview says it shows the current report (DONE or ERROR), or after `timeoutMs`. */
  whenRendered(timeoutMs = 30_000): Promise<CompareRendered> {
    if (this.rendered) return Promise.resolve(this.rendered);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve({ status: 'LOADING', rows: 0 });
      }, timeoutMs);
      const done = (r: CompareRendered) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(done);
    });
  }

  private send(m: CompareToWebview): void {
    this.rendered = null;
    post(this.panel, m);
  }

  private async sendReport(): Promise<void> {
    const file = this.reportFile;
    if (!file) {
      this.send({ type: 'loadFailed', reportPath: null, message: 'This view was restored without its report file.' });
      return;
    }
    let view: CompareViewModel;
    try {
      this.report ??= await readCompareReport(file);
      const model = locateComparedModel(this.report.model, file, (p) => fs.existsSync(p));
      view = toCompareView(this.report, { reportPath: file, modelPath: model });
    } catch (e) {
      this.log.error(`Compare view: ${errorMessage(e)}`);
      this.send({ type: 'loadFailed', reportPath: file, message: errorMessage(e) });
      return;
    }
    this.send({ type: 'report', view });
  }

  private async receive(m: CompareToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        await this.sendReport();
        return;
      case 'rendered':
        if (m.status !== 'DONE' && m.status !== 'ERROR') return;
        this.rendered = { status: m.status, rows: m.rows };
        for (const w of this.waiters.splice(0)) w(this.rendered);
        return;
      case 'openReportFile':
        if (this.reportFile) await vscode.window.showTextDocument(vscode.Uri.file(this.reportFile), { viewColumn: vscode.ViewColumn.Beside, preview: true });
        return;
      case 'useRow': {
        const file = this.reportFile;
        if (!this.report || !file) {
          post<CompareToWebview>(this.panel, { type: 'useResult', key: m.key, ok: false, message: 'The report is not loaded.' });
          return;
        }
        let result: { ok: boolean; message: string };
        try {
          result = await this.useRow(this.report, m.key, file);
        } catch (e) {
          reportError(this.log, 'Use this configuration', e);
          result = { ok: false, message: errorMessage(e) };
        }
        post<CompareToWebview>(this.panel, { type: 'useResult', key: m.key, ...result });
        return;
      }
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    for (const w of this.waiters.splice(0)) w({ status: 'LOADING', rows: 0 });
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}

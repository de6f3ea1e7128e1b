/**
 * Opens, finds and restores run dashboards: one panel per run (live) or per run record. Registered as the
 * webview panel serializer for 'maxq.runDashboard', so dashboards come back after a window reload.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DashboardState } from '../../protocol/messages';
import { OutputLog } from '../log/outputLog';
import { ActiveRun } from '../runs/activeRun';
import { RunRegistry } from '../runs/runRegistry';
import { webviewOptions } from '../webviewHost/webviewHtml';
import { DASHBOARD_VIEW_TYPE, DashboardContent, DashboardPanel } from './dashboardPanel';
import { OpenPanels } from '../webviewHost/openPanels';

function isDashboardState(x: unknown): x is DashboardState {
  const s = x as DashboardState | undefined;
  return !!s && typeof s === 'object' && !!s.source && typeof s.source === 'object';
}

export class DashboardPanels implements vscode.WebviewPanelSerializer<unknown>, vscode.Disposable {
  private readonly panels = new OpenPanels<DashboardPanel>();

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: OutputLog, private readonly runs: RunRegistry) {}

  showLive(run: ActiveRun, column = vscode.ViewColumn.Active): DashboardPanel {
    const existing = this.panels.find((p) => p.runId === run.id);
    if (existing) {
      existing.reveal();
      return existing;
    }
    return this.create({ kind: 'live', run }, column);
  }

  showRecord(recordPath: string): DashboardPanel {
    const resolved = path.resolve(recordPath);
    const live = this.runs.running().find((r) => path.resolve(r.recordPath) === resolved);
    if (live) return this.showLive(live);
    const existing = this.panels.find((p) => p.runId === null && p.recordPath && path.resolve(p.recordPath) === resolved);
    if (existing) {
      existing.reveal();
      return existing;
    }
    return this.create({ kind: 'record', recordPath: resolved });
  }

  /** Follows a run-event log another process writes (maxq_torch under torchrun); one panel per log file. */
  showLog(logPath: string): DashboardPanel {
    const resolved = path.resolve(logPath);
    const existing = this.panels.find((p) => p.logPath !== null && path.resolve(p.logPath) === resolved);
    if (existing) {
      existing.reveal();
      return existing;
    }
    return this.create({ kind: 'log', logPath: resolved });
  }

  /** The dashboard of a run, if one is open. */
  forRun(runId: string): DashboardPanel | undefined {
    return this.panels.find((p) => p.runId === runId);
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    let content: DashboardContent;
    if (!isDashboardState(state)) content = { kind: 'orphan', source: { title: 'MaxQ Run', recordPath: null, liveRunId: null } };
    else {
      const live = state.source.liveRunId ? this.runs.get(state.source.liveRunId) : undefined;
      const record = state.source.recordPath;
      const log = state.source.logPath;
      if (live) content = { kind: 'live', run: live };
      else if (log && fs.existsSync(log)) content = { kind: 'log', logPath: log };
      else if (record && fs.existsSync(record)) content = { kind: 'record', recordPath: record };
      else content = { kind: 'orphan', source: state.source };
    }
    this.panels.track(new DashboardPanel(panel, content, this.extensionUri, this.log));
  }

  private create(content: DashboardContent, column: vscode.ViewColumn = vscode.ViewColumn.Active): DashboardPanel {
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, 'MaxQ Run', { viewColumn: column, preserveFocus: false }, webviewOptions(this.extensionUri));
    return this.panels.track(new DashboardPanel(panel, content, this.extensionUri, this.log));
  }

  dispose(): void {
    this.panels.dispose();
  }
}

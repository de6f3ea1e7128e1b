/** Status-bar item shown while a run is active: epoch and coverage; a click opens the run's dashboard. */
import * as vscode from 'vscode';
import { RunRegistry } from './runRegistry';

export const SHOW_ACTIVE_RUN_COMMAND = 'maxq.showActiveRun';

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('maxq.run', vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly runs: RunRegistry) {
    this.item.name = 'MaxQ Run';
    this.item.command = SHOW_ACTIVE_RUN_COMMAND;
    this.subscription = runs.onDidChange(() => this.update());
  }

  private update(): void {
    const run = this.runs.latestRunning();
    if (!run) {
      this.item.hide();
      return;
    }
    const p = run.progress;
    const coverage = p.coverage === null ? '' : ` · ${(p.coverage * 100).toFixed(0)}% N:M`;
    const others = this.runs.running().length - 1;
    this.item.text = `$(sync~spin) MaxQ ${run.options.pattern} · epoch ${p.epoch}/${p.epochs}${coverage}${others > 0 ? ` (+${others})` : ''}`;
    this.item.tooltip = `${run.title}${p.phase ? `\n${p.phase}` : ''}\nClick to open the run dashboard`;
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}

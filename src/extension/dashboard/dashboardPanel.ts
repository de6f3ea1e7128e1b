/**
 * One run dashboard webview: shows a live run (events streamed, batched every 100 ms) or a finished run record.
 * Whenever its webview (re)loads it says 'ready' and gets the whole picture again, so hiding, showing and
 * reloading the window all end in the same state without retainContextWhenHidden.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunEvent } from '../../core/types';
import type { DashboardSource, DashboardToHost, DashboardToWebview, RunOutcome } from '../../protocol/messages';
import { OutputLog } from '../log/outputLog';
import { errorMessage, reportError } from '../log/reportError';
import { ActiveRun } from '../runs/activeRun';
import { RunEventBuffer } from '../runs/runEventBuffer';
import { onMessage, post, trackPanel } from '../webviewHost/messaging';
import { renderWebviewHtml, webviewOptions } from '../webviewHost/webviewHtml';
import { readRunRecord } from './runRecordFile';
import { isTerminalEvent } from '../../core/runlog/runEventLine';
import { RunLogFollower } from '../../core/runlog/runLogFollower';
import { runLogTitle } from './runLogFile';

export const DASHBOARD_VIEW_TYPE = 'maxq.runDashboard';

export type DashboardContent =
  | { kind: 'live'; run: ActiveRun }
  | { kind: 'record'; recordPath: string }
  /** A run-event log another process appends to (maxq_torch under torchrun, `maxq sparsify --events`). */
  | { kind: 'log'; logPath: string }
  /** Restored after a reload with nothing to reload from: the webview shows what it had saved. */
  | { kind: 'orphan'; source: DashboardSource };

const FLUSH_MS = 100;

/** How a run's events end (a record with a summary is complete whatever came last). */
function endOf(last: RunEvent | undefined, hasSummary = false): { outcome: RunOutcome; message?: string } {
  const message = last?.type === 'error' ? last.message : undefined;
  const outcome: RunOutcome = hasSummary || last?.type === 'done' ? 'completed' : last?.type === 'cancelled' ? 'cancelled' : last?.type === 'error' ? 'failed' : 'interrupted';
  return { outcome, message };
}

export class DashboardPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private liveSubscriptions: vscode.Disposable[] = [];
  private pending: RunEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private follower: RunLogFollower | undefined;
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private content: DashboardContent,
    extensionUri: vscode.Uri,
    private readonly log: OutputLog,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'maxq.svg');
    panel.title = this.title();
    panel.webview.html = renderWebviewHtml(panel.webview, extensionUri, 'dashboard', panel.title);
    this.disposables.push(
      trackPanel(panel),
      onMessage<DashboardToHost>(panel.webview, (m) => this.receive(m), (e) => reportError(log, 'Run dashboard', e)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get runId(): string | null {
    return this.content.kind === 'live' ? this.content.run.id : null;
  }

  get recordPath(): string | null {
    if (this.content.kind === 'live') return this.content.run.recordPath;
    if (this.content.kind === 'record') return this.content.recordPath;
    if (this.content.kind === 'log') return null;
    return this.content.source.recordPath;
  }

  get logPath(): string | null {
    if (this.content.kind === 'log') return this.content.logPath;
    return this.content.kind === 'orphan' ? this.content.source.logPath ?? null : null;
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  private title(): string {
    if (this.content.kind === 'live') return `MaxQ Run: ${path.basename(this.content.run.options.out)}`;
    if (this.content.kind === 'log') return runLogTitle(this.content.logPath);
    const p = this.recordPath;
    return p ? `MaxQ Run: ${path.basename(p).replace(/\.run\.json$/i, '')}` : 'MaxQ Run';
  }

  private source(): DashboardSource {
    if (this.content.kind === 'orphan') return this.content.source;
    return { title: this.title(), recordPath: this.recordPath, liveRunId: this.runId, logPath: this.logPath };
  }

  private send(message: DashboardToWebview): void {
    post(this.panel, message);
  }

  private async receive(m: DashboardToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        await this.sendAll();
        return;
      case 'cancelRun':
        if (this.content.kind === 'live') this.content.run.cancel();
        return;
      case 'openOutput': {
        const out = this.outputPath();
        if (!out) {
          void vscode.window.showWarningMessage('MaxQ: this run has no output model to open.');
          return;
        }
        await vscode.commands.executeCommand(m.action === 'inspect' ? 'maxq.openInspector' : 'maxq.validate', vscode.Uri.file(out));
        return;
      }
    }
  }

  private outputPath(): string | null {
    if (this.content.kind === 'live') return this.content.run.options.out;
    if (this.content.kind === 'log') {
      // The log's own done event names the model; a relative name is relative to the log's folder.
      const out = this.followedOutput;
      return out ? path.resolve(path.dirname(this.content.logPath), out) : null;
    }
    const rec = this.recordPath;
    return rec ? rec.replace(/\.run\.json$/i, '') : null;
  }

  private async sendAll(): Promise<void> {
    this.stopLive();
    const content = this.content;
    if (content.kind === 'live') {
      const run = content.run;
      this.send({ type: 'reset', source: this.source(), live: run.running, events: run.events() });
      if (run.running) {
        this.liveSubscriptions.push(run.onEvent((e) => this.queue(e)), run.onEnd((o) => this.ended(o, run.endMessage)));
      } else this.send({ type: 'ended', outcome: run.outcome as RunOutcome, message: run.endMessage });
      return;
    }
    if (content.kind === 'log') {
      await this.follow(content.logPath);
      return;
    }
    if (content.kind === 'orphan') {
      this.send({ type: 'ended', outcome: 'interrupted', message: 'The window was reloaded while this run was in progress; it left no run record.' });
      return;
    }
    try {
      const record = await readRunRecord(content.recordPath);
      const events = new RunEventBuffer().addAll(record.events).events();
      this.send({ type: 'reset', source: this.source(), live: false, events });
      const end = endOf(record.events[record.events.length - 1], Boolean(record.summary));
      this.send({ type: 'ended', ...end });
    } catch (e) {
      this.log.error(`Run dashboard: ${errorMessage(e)}`);
      this.send({ type: 'loadFailed', message: errorMessage(e) });
    }
  }

  private followedOutput: string | null = null;

  /**
   * Streams a log file: what it holds now in one reset, then appended events as they come, until its last
   * event (done / error / cancelled). A run that ended with no such event (a killed torchrun) stays "running".
   */
  private async follow(logPath: string): Promise<void> {
    const initial: RunEvent[] = [];
    let started = false;
    let endedWith: RunEvent | null = null;
    let problems = 0;
    const take = (events: RunEvent[]) => {
      for (const e of events) {
        if (e.type === 'done') this.followedOutput = e.output;
        if (isTerminalEvent(e)) endedWith = e;
      }
      if (!started) initial.push(...events);
      else for (const e of events) this.queue(e);
      if (started && endedWith) this.endFollowed(endedWith);
    };
    const follower = new RunLogFollower(logPath, {
      events: take,
      reset: () => {
        this.followedOutput = null;
        endedWith = null;
        if (!started) initial.length = 0;
        else {
          this.pending = [];
          this.send({ type: 'reset', source: this.source(), live: true, events: [] });
        }
      },
      problem: (message) => {
        // A flood of bad lines is one problem: say the first few.
        if (++problems > 20) return;
        this.log.warn(`Follow run log: ${message}`);
        const e: RunEvent = { type: 'log', level: 'warn', message };
        if (started) this.queue(e);
        else initial.push(e);
      },
    });
    this.follower = follower;
    await follower.start();
    if (this.follower !== follower) return; // reloaded or disposed meanwhile
    started = true;
    const bad = follower.badLines;
    if (bad.length > 0 && !initial.some((e) => !(e.type === 'log' && e.level === 'warn'))) {
      // Lines, but not one run event: another kind of file. Say so once instead of a warning per line.
      follower.stop();
      this.send({ type: 'loadFailed', message: `${logPath} is not a MaxQ run log (JSON lines of run events): line ${bad[0].line}: ${bad[0].problem}` });
      return;
    }
    this.send({ type: 'reset', source: this.source(), live: !endedWith, events: new RunEventBuffer().addAll(initial).events() });
    if (endedWith) this.endFollowed(endedWith);
  }

  private endFollowed(last: RunEvent): void {
    const { outcome, message } = endOf(last);
    this.ended(outcome, message);
  }

  private queue(e: RunEvent): void {
    this.pending.push(e);
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    this.send({ type: 'events', events });
  }

  private ended(outcome: RunOutcome, message?: string): void {
    this.flush();
    this.send({ type: 'ended', outcome, message });
    // Later loads come from the run object (still in memory) — same data as the record.
    this.stopLive();
  }

  private stopLive(): void {
    this.follower?.stop();
    this.follower = undefined;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
    for (const d of this.liveSubscriptions) d.dispose();
    this.liveSubscriptions = [];
  }

  dispose(): void {
    this.stopLive();
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}

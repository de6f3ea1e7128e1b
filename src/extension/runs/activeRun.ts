/**
 * One sparsify run alive in this extension host: its worker job, the events so far (thinned) and its outcome.
 * Dashboards, the status bar and the progress notification all subscribe here.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { isCancelled } from '../../core/sparsify/cancellation';
import { runRecordPath } from '../../core/sparsify/runRecord';
import type { SparsifyOptions } from '../../core/sparsify/options';
import type { RunEvent, RunSummary } from '../../core/types';
import type { RunOutcome } from '../../protocol/messages';
import { inFormTerms } from '../sparsify/runMessages';
import { RunEventBuffer } from './runEventBuffer';

export interface RunJob {
  done: Promise<RunSummary>;
  cancel(): void;
}

export interface RunProgress {
  epoch: number;
  epochs: number;
  coverage: number | null;
  phase: string | null;
}

let counter = 0;

export class ActiveRun implements vscode.Disposable {
  readonly id = `run-${Date.now().toString(36)}-${++counter}`;
  readonly recordPath: string;
  readonly title: string;
  readonly done: Promise<RunSummary>;
  outcome: RunOutcome | null = null;
  endMessage: string | undefined;
  readonly progress: RunProgress;

  private readonly buffer = new RunEventBuffer();
  private readonly eventEmitter = new vscode.EventEmitter<RunEvent>();
  private readonly endEmitter = new vscode.EventEmitter<RunOutcome>();
  /** Kept (non-thinned) events, in order. */
  readonly onEvent = this.eventEmitter.event;
  readonly onEnd = this.endEmitter.event;
  private job: RunJob | undefined;

  constructor(readonly options: SparsifyOptions, start: (options: SparsifyOptions, onEvent: (e: RunEvent) => void) => RunJob) {
    this.recordPath = runRecordPath(options.out);
    this.title = `${path.basename(options.model)} → ${options.pattern} ${options.method}`;
    this.progress = { epoch: 0, epochs: options.epochs, coverage: null, phase: null };
    let job: RunJob;
    try {
      job = start(options, (e) => this.receive(e));
    } catch (e) {
      job = { done: Promise.reject(e), cancel: () => undefined };
    }
    this.job = job;
    this.done = job.done.then(
      (summary) => {
        this.end('completed');
        return summary;
      },
      (err: unknown) => {
        // Worded for the form the run came from, in the notification and the dashboard alike.
        if (err instanceof Error) err.message = inFormTerms(err.message);
        const message = err instanceof Error ? err.message : String(err);
        this.end(isCancelled(err) ? 'cancelled' : 'failed', message);
        throw err;
      },
    );
    this.done.catch(() => undefined); // observed by the runner; never an unhandled rejection here
  }

  get running(): boolean {
    return this.outcome === null;
  }

  events(): RunEvent[] {
    return this.buffer.events();
  }

  cancel(): void {
    if (this.running) this.job?.cancel();
  }

  dispose(): void {
    this.cancel();
    this.eventEmitter.dispose();
    this.endEmitter.dispose();
  }

  private receive(e: RunEvent): void {
    if (e.type === 'start') this.progress.epochs = e.epochs;
    else if (e.type === 'phase') this.progress.phase = e.detail ? `${e.phase}: ${e.detail}` : e.phase;
    else if (e.type === 'epoch') {
      this.progress.epoch = e.epoch + 1;
      this.progress.coverage = e.coverage;
    }
    if (this.buffer.add(e)) this.eventEmitter.fire(e);
  }

  private end(outcome: RunOutcome, message?: string): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.endMessage = message;
    this.endEmitter.fire(outcome);
  }
}

/** The runs started in this extension host, newest last. */
import * as vscode from 'vscode';
import type { SparsifyOptions } from '../../core/sparsify/options';
import type { RunEvent } from '../../core/types';
import { ActiveRun, RunJob } from './activeRun';

const MAX_FINISHED_RUNS = 20;

export type StartJob = (options: SparsifyOptions, onEvent: (e: RunEvent) => void) => RunJob;

export class RunRegistry implements vscode.Disposable {
  private readonly runs: ActiveRun[] = [];
  private readonly changeEmitter = new vscode.EventEmitter<ActiveRun>();
  /** A run started, progressed (epoch/phase) or ended. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly startJob: StartJob) {}

  start(options: SparsifyOptions): ActiveRun {
    const run = new ActiveRun(options, this.startJob);
    this.runs.push(run);
    this.forgetOldRuns();
    run.onEvent((e) => {
      if (e.type === 'epoch' || e.type === 'phase' || e.type === 'start') this.changeEmitter.fire(run);
    });
    run.onEnd(() => this.changeEmitter.fire(run));
    this.changeEmitter.fire(run);
    return run;
  }

  get(id: string): ActiveRun | undefined {
    return this.runs.find((r) => r.id === id);
  }

  /** The newest run still in progress. */
  latestRunning(): ActiveRun | undefined {
    for (let k = this.runs.length - 1; k >= 0; k--) if (this.runs[k].running) return this.runs[k];
    return undefined;
  }

  running(): ActiveRun[] {
    return this.runs.filter((r) => r.running);
  }

  latest(): ActiveRun | undefined {
    return this.runs[this.runs.length - 1];
  }

  /** Finished runs beyond the newest few are dropped (their dashboards keep their own reference). */
  private forgetOldRuns(): void {
    const finished = this.runs.filter((r) => !r.running);
    for (const r of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_RUNS))) {
      this.runs.splice(this.runs.indexOf(r), 1);
    }
  }

  dispose(): void {
    for (const r of this.runs) r.dispose();
    this.changeEmitter.dispose();
  }
}

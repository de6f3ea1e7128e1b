/**
 * Runs a comparison with its UI: a worker thread does the work, a cancellable progress notification names each
 * run, the Output channel gets a line per run, and the report is written atomically beside the model
 * (`<name>.compare.json`). Cancelling stops the worker at its next step; the core removes its temp models and the
 * temp root made here is removed too, whatever happened.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CompareProgress } from '../../core/compare/compareMethods';
import type { CompareReport } from '../../core/compare/compareReport';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { isCancelled } from '../../core/sparsify/cancellation';
import { readSettings } from '../config/settings';
import { OutputLog } from '../log/outputLog';
import { reportError } from '../log/reportError';
import { CompareRequest, runResultText, runTitle, toCompareOptions } from './compareRequest';
import { compareReportPathFor } from './compareView';
import { CompareJob, startCompareWorker } from './compareWorker';

const PROGRESS_MIN_INTERVAL_MS = 300;

export type StartCompareJob = typeof startCompareWorker;

export interface CompareResult {
  report: CompareReport;
  reportPath: string;
}

/** The comparisons in progress, so shutdown can stop them and a model is not compared twice at once. */
export class CompareJobs implements vscode.Disposable {
  private readonly jobs = new Map<string, { job: CompareJob; tempRoot: string }>();

  constructor(private readonly log: OutputLog, private readonly start: StartCompareJob = startCompareWorker) {}

  running(model: string): boolean {
    return this.jobs.has(path.resolve(model));
  }

  /**
   * Resolves with the report once written, or null when cancelled; rejects (after telling the user) on failure.
   */
  async run(model: string, request: CompareRequest): Promise<CompareResult | null> {
    const key = path.resolve(model);
    const name = path.basename(model);
    if (this.jobs.has(key)) {
      void vscode.window.showInformationMessage(`MaxQ: methods are already being compared on ${name}.`);
      return null;
    }
    const reportPath = compareReportPathFor(model);
    const tempRoot = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'maxq-studio-compare-'));
    const options = toCompareOptions(request, model, { threads: readSettings().threads, tempRoot });
    this.log.info(`Compare ${model}: patterns ${request.patterns.join(', ')}; methods ${request.methods.join(', ')}; ${request.epochs} epoch(s), ${request.seeds} seed(s); data ${request.data.kind} → ${reportPath}`);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MaxQ: comparing methods on ${name}`, cancellable: true },
        async (progress, token) => {
          let total = 0, current = '', stepsPerEpoch = 0, epochs = 0, lastReport = 0;
          const onProgress = (p: CompareProgress) => {
            if (p.type === 'log') {
              // Said once per comparison: where the data's preprocessing came from.
              if (p.level === 'warn') this.log.warn(`Compare ${name}: ${p.message}`);
              else this.log.info(`Compare ${name}: ${p.message}`);
            } else if (p.type === 'plan') {
              total = p.runs.length;
              this.log.info(`Compare ${name}: ${total} runs`);
              progress.report({ message: `${total} runs` });
            } else if (p.type === 'run-start') {
              current = runTitle(p.index, p.total, p.run);
              this.log.info(current);
              lastReport = Date.now();
              progress.report({ message: current });
            } else if (p.type === 'run-event') {
              const e = p.event;
              if (e.type === 'start') [stepsPerEpoch, epochs] = [e.stepsPerEpoch, e.epochs];
              else if (e.type === 'log' && e.level === 'warn') this.log.warn(`  ${e.message}`);
              else if (e.type === 'step' || e.type === 'phase') {
                const now = Date.now();
                if (e.type === 'step' && now - lastReport < PROGRESS_MIN_INTERVAL_MS) return;
                lastReport = now;
                const detail = e.type === 'step' ? `epoch ${e.epoch + 1}/${epochs} · step ${e.step + 1}${stepsPerEpoch ? `/${stepsPerEpoch}` : ''}` : e.phase;
                progress.report({ message: `${current} · ${detail}` });
              }
            } else if (p.type === 'run-done') {
              this.log.info(`  ${runResultText(p.result)}`);
              progress.report({ increment: 100 / Math.max(1, p.total) });
            }
          };
          const job = this.start(options, onProgress);
          this.jobs.set(key, { job, tempRoot });
          const cancel = token.onCancellationRequested(() => {
            this.log.info(`Cancelling the comparison on ${name}…`);
            progress.report({ message: 'cancelling…' });
            job.cancel();
          });
          try {
            const report = await job.done;
            await writeFileAtomic(reportPath, JSON.stringify(report, null, 1) + '\n');
            const failing = report.runs.filter((r) => !r.validationPass).length;
            this.log.info(`Compare ${name}: ${report.runs.length} runs in ${report.totalSeconds.toFixed(1)} s; report ${reportPath}`);
            if (failing > 0) void vscode.window.showWarningMessage(`MaxQ: ${failing} run(s) of the comparison on ${name} failed the N:M pattern check; see the table.`);
            return { report, reportPath };
          } finally {
            cancel.dispose();
          }
        },
      );
    } catch (e) {
      if (isCancelled(e)) {
        this.log.info(`Compare ${name}: cancelled; no report written`);
        void vscode.window.showInformationMessage(`MaxQ: the comparison on ${name} was cancelled; no report was written.`);
        return null;
      }
      reportError(this.log, `Compare methods on ${name}`, e);
      throw e;
    } finally {
      this.jobs.delete(key);
      await fs.promises.rm(tempRoot, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  dispose(): void {
    for (const { job, tempRoot } of this.jobs.values()) {
      job.terminate();
      fs.rmSync(tempRoot, { recursive: true, force: true });
    }
    this.jobs.clear();
  }
}

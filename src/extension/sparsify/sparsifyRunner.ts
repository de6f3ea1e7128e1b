/**
 * Runs a sparsify job with its UI: the worker streams events to the run dashboard and the Output channel, a
 * cancellable progress notification follows the epochs, and the end offers the next steps on the result.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { SparsifyOptions } from '../../core/sparsify/options';
import type { RunEvent, RunSummary } from '../../core/types';
import { DashboardPanels } from '../dashboard/dashboardPanels';
import { OutputLog } from '../log/outputLog';
import { reportError } from '../log/reportError';
import { ActiveRun } from '../runs/activeRun';
import { RunRegistry } from '../runs/runRegistry';
import { RunEndNotice, runEndNotice } from './runEndNotice';
import { epochsText } from '../../protocol/preprocessing';

export interface SparsifyUi {
  runs: RunRegistry;
  dashboards: DashboardPanels;
  log: OutputLog;
}

const PROGRESS_MIN_INTERVAL_MS = 250;

function logEvent(log: OutputLog, e: RunEvent): void {
  switch (e.type) {
    case 'start':
      log.info(`Run ${e.runId}: ${e.layers.length} layer${e.layers.length === 1 ? '' : 's'}, ${epochsText(e.epochs)} × ${e.stepsPerEpoch} step${e.stepsPerEpoch === 1 ? '' : 's'}`);
      return;
    case 'phase':
      log.info(`Phase: ${e.phase}${e.detail ? ` — ${e.detail}` : ''}`);
      return;
    case 'epoch': {
      const acc = e.valAccuracy ?? e.trainAccuracy;
      log.info(`Epoch ${e.epoch + 1}: coverage ${(e.coverage * 100).toFixed(1)}%, train loss ${e.trainLoss.toFixed(4)}${acc !== null ? `, accuracy ${(acc * 100).toFixed(2)}%` : ''}`);
      return;
    }
    case 'log':
      if (e.level === 'warn') log.warn(e.message);
      else log.info(e.message);
      return;
    case 'error':
      log.error(e.message);
      return;
    case 'done':
      log.info(`Done: ${e.output} (run record ${e.record})`);
      return;
    default:
      return;
  }
}

/** Progress message and increment for an event, or null when it changes nothing worth showing. */
function progressFor(run: ActiveRun, e: RunEvent): { message?: string; increment?: number } | null {
  const epochs = Math.max(1, run.progress.epochs);
  if (e.type === 'phase') return { message: e.detail ? `${e.phase}: ${e.detail}` : e.phase };
  if (e.type === 'epoch') return { increment: 100 / epochs, message: `epoch ${e.epoch + 1}/${epochs} · N:M coverage ${(e.coverage * 100).toFixed(0)}%` };
  if (e.type === 'step') return { message: `epoch ${e.epoch + 1}/${epochs} · step ${e.step + 1} · loss ${e.loss.toFixed(4)}` };
  return null;
}

function offerNextSteps(summary: RunSummary, notice: RunEndNotice): void {
  const shown = notice.level === 'warning'
    ? vscode.window.showWarningMessage(notice.text, 'Open Inspector', 'Validate')
    : vscode.window.showInformationMessage(notice.text, 'Open Inspector', 'Validate');
  void Promise.resolve(shown).then((pick) => {
    const uri = vscode.Uri.file(summary.output);
    if (pick === 'Open Inspector') void vscode.commands.executeCommand('maxq.openInspector', uri);
    if (pick === 'Validate') void vscode.commands.executeCommand('maxq.validate', uri);
  });
}

/** Starts the run and resolves with its summary; rejects (after telling the user) when it fails or is cancelled. */
export function runSparsify(ui: SparsifyUi, options: SparsifyOptions): Promise<RunSummary> {
  const run = ui.runs.start(options);
  ui.log.info(`Sparsify ${options.model} → ${options.out} (${options.pattern}, ${options.method}, ${epochsText(options.epochs)}${options.valFraction !== undefined ? `, hold-out ${Number((options.valFraction * 100).toFixed(2))} %` : ''})`);
  const logging = run.onEvent((e) => logEvent(ui.log, e));
  ui.dashboards.showLive(run);
  const name = path.basename(options.model);
  return Promise.resolve(
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `MaxQ: sparsifying ${name} (${options.pattern} ${options.method})`, cancellable: true },
      async (progress, token) => {
        const cancel = token.onCancellationRequested(() => {
          ui.log.info(`Cancelling the run on ${name}…`);
          run.cancel();
        });
        let lastReport = 0;
        let pendingIncrement = 0;
        const progressSub = run.onEvent((e) => {
          const p = progressFor(run, e);
          if (!p) return;
          pendingIncrement += p.increment ?? 0;
          const now = Date.now();
          // Step events come fast; epochs and phases always get through.
          if (e.type === 'step' && now - lastReport < PROGRESS_MIN_INTERVAL_MS) return;
          lastReport = now;
          progress.report({ message: p.message, ...(pendingIncrement ? { increment: pendingIncrement } : {}) });
          pendingIncrement = 0;
        });
        try {
          const summary = await run.done;
          ui.log.info(`Sparsify ${name}: finished in ${summary.seconds.toFixed(1)} s, ${summary.sparsifiedLayers} layers, pattern check ${summary.validationPass ? 'passed' : 'FAILED'}`);
          const notice = runEndNotice(summary);
          for (const line of notice.log) {
            if (line.level === 'warn') ui.log.warn(line.text);
            else ui.log.info(line.text);
          }
          offerNextSteps(summary, notice);
          return summary;
        } catch (e) {
          if (run.outcome === 'cancelled') {
            ui.log.info(`Sparsify ${name}: cancelled`);
            void vscode.window.showInformationMessage(`MaxQ: the run on ${name} was cancelled; no output was written.`);
          } else reportError(ui.log, `Sparsify ${name}`, e);
          throw e;
        } finally {
          cancel.dispose();
          progressSub.dispose();
          logging.dispose();
        }
      },
    ),
  );
}

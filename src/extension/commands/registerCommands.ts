/**
 * The MaxQ commands. Each one reports its own failure (notification + Output) and never throws to VS Code, so
 * a corrupt model or a bad file leaves every command working.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { inputError } from '../../core/errors';
import { isRunLogPath } from '../dashboard/runLogFile';
import { isRunRecordPath } from '../dashboard/runRecordFile';
import { reportError } from '../log/reportError';
import { SHOW_ACTIVE_RUN_COMMAND } from '../runs/runStatusBar';
import { Services } from '../services';
import { SparsifyFormPanel } from '../sparsify/sparsifyFormPanel';
import { modelPathOf, resolveModelUri } from './modelTarget';

export const COMMANDS = {
  sparsify: 'maxq.sparsify',
  validate: 'maxq.validate',
  openInspector: 'maxq.openInspector',
  openRunDashboard: 'maxq.openRunDashboard',
  showActiveRun: SHOW_ACTIVE_RUN_COMMAND,
  cancelRun: 'maxq.cancelRun',
  followRunLog: 'maxq.followRunLog',
} as const;

/** Optional second argument of maxq.openInspector: where to go in the inspector. */
export interface InspectorTarget {
  layer: string;
  violation?: { o: number; i: number; h: number; w: number };
  m?: number;
}

function isInspectorTarget(x: unknown): x is InspectorTarget {
  return !!x && typeof x === 'object' && !Array.isArray(x) && typeof (x as InspectorTarget).layer === 'string';
}

/** The file a command was invoked on (Explorer: a Uri; API: a path), else the one the user picks. */
async function fileArgOrPick(arg: unknown, dialog: vscode.OpenDialogOptions): Promise<vscode.Uri | undefined> {
  if (typeof arg === 'string') return vscode.Uri.file(arg);
  if (arg instanceof vscode.Uri) return arg;
  return (await vscode.window.showOpenDialog(dialog))?.[0];
}

export function registerCommands(context: vscode.ExtensionContext, s: Services): void {
  const register = (id: string, action: string, fn: (...args: unknown[]) => Promise<void>) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          await fn(...args);
        } catch (e) {
          reportError(s.log, action, e);
        }
      }),
    );

  register(COMMANDS.sparsify, 'Sparsify', async (arg) => {
    const uri = await resolveModelUri(arg, s.inspector.activeModel());
    if (uri) SparsifyFormPanel.show({ ...s }, modelPathOf(uri));
  });

  register(COMMANDS.validate, 'Validate', async (arg) => {
    const uri = await resolveModelUri(arg, s.inspector.activeModel());
    if (!uri) return;
    // The service has already told the user about a failure.
    await s.validation.validate(modelPathOf(uri)).catch(() => undefined);
  });

  register(COMMANDS.openInspector, 'Open Layer Inspector', async (arg, target) => {
    const uri = await resolveModelUri(arg, s.inspector.activeModel());
    if (!uri) return;
    modelPathOf(uri);
    await s.inspector.open(uri, isInspectorTarget(target) ? target : undefined);
  });

  register(COMMANDS.openRunDashboard, 'Open Run Dashboard', async (arg) => {
    const uri = await fileArgOrPick(arg, { canSelectMany: false, openLabel: 'Open run', filters: { 'MaxQ run records (*.run.json)': ['json'] } });
    if (!uri) return;
    let file = modelPathOf(uri);
    // A model's record sits beside it: accept the model too.
    if (file.toLowerCase().endsWith('.onnx')) file = `${file}.run.json`;
    if (!isRunRecordPath(file)) throw inputError(file, 'not a run record (expected a *.run.json file written by a MaxQ run)');
    s.dashboards.showRecord(file);
  });

  // A run of another process (maxq_torch under torchrun, `maxq sparsify --events`), followed while it grows. On a
  // remote (SSH, container) the log is a file of the remote workspace, read by the extension host there.
  register(COMMANDS.followRunLog, 'Follow Run Log', async (arg) => {
    const uri = await fileArgOrPick(arg, {
      canSelectMany: false,
      openLabel: 'Follow',
      title: 'MaxQ: follow a run-event log (maxq_torch --events, maxq sparsify --events)',
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      filters: { 'Run-event logs (*.jsonl)': ['jsonl', 'ndjson'], 'All files': ['*'] },
    });
    if (!uri) return;
    const file = modelPathOf(uri);
    if (!isRunLogPath(file) && !fs.existsSync(file)) throw inputError(file, 'no such run log');
    s.dashboards.showLog(file);
  });

  register(COMMANDS.showActiveRun, 'Show Active Run', async () => {
    const run = s.runs.latestRunning() ?? s.runs.latest();
    if (!run) {
      void vscode.window.showInformationMessage('MaxQ: no run has been started in this window.');
      return;
    }
    s.dashboards.showLive(run);
  });

  register(COMMANDS.cancelRun, 'Cancel Run', async () => {
    const running = s.runs.running();
    if (running.length === 0) {
      void vscode.window.showInformationMessage('MaxQ: no run is in progress.');
      return;
    }
    const pick =
      running.length === 1
        ? running[0]
        : (await vscode.window.showQuickPick(running.map((r) => ({ label: r.title, description: path.basename(r.options.out), run: r })), { placeHolder: 'Cancel which run?' }))?.run;
    pick?.cancel();
  });
}

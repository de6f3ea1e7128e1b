/** Everything the commands, views and API share, created once in activate() and disposed with the extension. */
import * as vscode from 'vscode';
import { startSparsifyWorker } from '../core/worker/sparsifyWorker';
import { DashboardPanels } from './dashboard/dashboardPanels';
import { LayerInspectorProvider } from './inspector/layerInspectorProvider';
import { OutputLog } from './log/outputLog';
import { RunRegistry } from './runs/runRegistry';
import { RunStatusBar } from './runs/runStatusBar';
import { ValidationService } from './validation/validationService';
import { CoreWorkerClient } from './worker/coreWorkerClient';

export interface Services {
  extensionUri: vscode.Uri;
  log: OutputLog;
  /** Shared worker for one-off requests (inspect, validate, the form's layer list). */
  worker: CoreWorkerClient;
  runs: RunRegistry;
  dashboards: DashboardPanels;
  inspector: LayerInspectorProvider;
  validation: ValidationService;
  diagnostics: vscode.DiagnosticCollection;
}

export function createServices(context: vscode.ExtensionContext): Services {
  const extensionUri = context.extensionUri;
  const log = new OutputLog();
  const worker = new CoreWorkerClient('MaxQ commands');
  const runs = new RunRegistry(startSparsifyWorker);
  const dashboards = new DashboardPanels(extensionUri, log, runs);
  const inspector = new LayerInspectorProvider(extensionUri, log);
  const diagnostics = vscode.languages.createDiagnosticCollection('maxq');
  const validation = new ValidationService(extensionUri, log, worker, diagnostics, (modelPath, layer, violation, m) => {
    inspector.open(vscode.Uri.file(modelPath), { layer, violation, m }).catch((e) => log.error(`Open the inspector at ${layer}: ${String(e)}`));
  });
  context.subscriptions.push(
    log,
    { dispose: () => worker.dispose() },
    runs,
    dashboards,
    inspector,
    diagnostics,
    validation,
    new RunStatusBar(runs),
  );
  return { extensionUri, log, worker, runs, dashboards, inspector, validation, diagnostics };
}

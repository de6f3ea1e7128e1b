/**
 * MaxQ Studio's entry point: registers the commands, the Layer Inspector custom editor and the panel serializers,
 * and returns the API the extension-host tests drive. Heavy work never runs here: the core is reached through
 * worker threads.
 */
import * as vscode from 'vscode';
import { createApi, MaxqApi } from './api';
import { registerCommands } from './commands/registerCommands';
import { registerCompare } from './compare/compareService';
import { DASHBOARD_VIEW_TYPE } from './dashboard/dashboardPanel';
import { LayerInspectorProvider } from './inspector/layerInspectorProvider';
import { createServices } from './services';
import { VALIDATION_VIEW_TYPE } from './validation/validationPanel';

export function activate(context: vscode.ExtensionContext): MaxqApi {
  const services = createServices(context);
  context.subscriptions.push(
    LayerInspectorProvider.register(services.inspector),
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, services.dashboards),
    vscode.window.registerWebviewPanelSerializer(VALIDATION_VIEW_TYPE, services.validation),
  );
  registerCommands(context, services);
  registerCompare(context, services);
  return createApi(services);
}

export function deactivate(): void {
  // Everything is in context.subscriptions: runs are cancelled and worker threads terminated there.
}

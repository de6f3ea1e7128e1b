/**
 * The read-only custom editor 'maxq.layerInspector' for *.onnx. Each document gets its own worker thread, so a
 * big model loads and masks compute without touching the extension host's event loop. VS Code restores these
 * editors after a reload by itself; the webview restores its view from its saved state.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { usageError } from '../../core/errors';
import { OutputLog } from '../log/outputLog';
import { InspectorDocument } from './inspectorDocument';
import { InspectorSession, RevealRequest } from './inspectorSession';

export const INSPECTOR_VIEW_TYPE = 'maxq.layerInspector';

export class LayerInspectorProvider implements vscode.CustomReadonlyEditorProvider<InspectorDocument>, vscode.Disposable {
  private readonly sessions = new Set<InspectorSession>();
  /** Reveal requests for editors that are opening; taken by the session when it is created. */
  private readonly pendingReveals = new Map<string, RevealRequest>();

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: OutputLog) {}

  static register(provider: LayerInspectorProvider): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(INSPECTOR_VIEW_TYPE, provider, {
      supportsMultipleEditorsPerDocument: true,
      webviewOptions: { enableFindWidget: false, retainContextWhenHidden: false },
    });
  }

  openCustomDocument(uri: vscode.Uri): InspectorDocument {
    if (uri.scheme !== 'file') throw usageError(`the Layer Inspector reads models from disk; ${uri.toString()} is not a local file`);
    return new InspectorDocument(uri);
  }

  resolveCustomEditor(document: InspectorDocument, panel: vscode.WebviewPanel): void {
    const session = new InspectorSession(document, panel, this.extensionUri, this.log);
    this.sessions.add(session);
    session.onDidDispose(() => this.sessions.delete(session));
    const key = document.uri.toString();
    const reveal = this.pendingReveals.get(key);
    if (reveal) {
      this.pendingReveals.delete(key);
      session.reveal(reveal);
    }
  }

  /** Opens (or focuses) the inspector on a model, optionally at a layer and a violating block. */
  async open(uri: vscode.Uri, reveal?: RevealRequest): Promise<void> {
    const existing = this.sessionFor(uri);
    if (existing && reveal) {
      existing.reveal(reveal);
      return;
    }
    if (reveal) this.pendingReveals.set(uri.toString(), reveal);
    await vscode.commands.executeCommand('vscode.openWith', uri, INSPECTOR_VIEW_TYPE, { preview: false });
  }

  /** The model of the inspector editor that has focus, if any. */
  activeModel(): vscode.Uri | undefined {
    return [...this.sessions].find((s) => s.active)?.document.uri;
  }

  private sessionFor(uri: vscode.Uri): InspectorSession | undefined {
    const target = path.resolve(uri.fsPath);
    const matching = [...this.sessions].filter((s) => path.resolve(s.document.path) === target);
    return matching.find((s) => s.active) ?? matching[matching.length - 1];
  }

  dispose(): void {
    for (const s of this.sessions) s.dispose();
    this.sessions.clear();
  }
}

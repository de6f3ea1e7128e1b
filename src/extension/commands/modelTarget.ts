/**
 * Which model a command acts on: the explorer/editor-title argument, else the focused inspector or editor tab
 * showing a .onnx file, else a file the user picks.
 */
import * as vscode from 'vscode';
import { usageError } from '../../core/errors';

function isModelUri(u: unknown): u is vscode.Uri {
  return u instanceof vscode.Uri && u.path.toLowerCase().endsWith('.onnx');
}

function activeTabUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText) return input.uri;
  return undefined;
}

export async function resolveModelUri(arg: unknown, activeInspector?: vscode.Uri): Promise<vscode.Uri | undefined> {
  if (typeof arg === 'string') arg = vscode.Uri.file(arg);
  if (arg instanceof vscode.Uri) return arg;
  const fromEditor = activeInspector ?? activeTabUri();
  if (isModelUri(fromEditor)) return fromEditor;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Select model', filters: { 'ONNX models': ['onnx'] } });
  return picked?.[0];
}

/** The core reads files from disk by path. */
export function modelPathOf(uri: vscode.Uri): string {
  if (uri.scheme !== 'file') throw usageError(`MaxQ reads models from disk; ${uri.toString()} is not a local file`);
  return uri.fsPath;
}

/** Shared helpers of the in-extension-host suite. Runs inside VS Code's extension host (require('vscode') works). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MaxqApi, SparsifyRequest } from '../../src/extension/api';
import type { ValidateOptions } from '../../src/extension/validation/validationService';
import { writeFixtures } from '../e2e/lib/fixtures';
import { assert } from './framework';

/** Compiled to out/test/vscode/util.js: the repository root is three levels up. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  publisher: string;
  contributes?: Record<string, unknown>;
};
export const extensionId = `${pkg.publisher}.${pkg.name}`;

export type { MaxqApi };

/** Sparsify options for the suite: 2:4 MaxQ, 2 epochs on the bundled MNIST demo digits, output replaced. */
export function sparsifyOptions(out: string, overrides: SparsifyRequest = {}): SparsifyRequest {
  return { pattern: '2:4', method: 'maxq', epochs: 2, data: { kind: 'mnist-demo' }, out, overwrite: true, seed: 1, ...overrides };
}

/** Validation through the API without opening the validation view. */
export function validateOptions(pattern = '2:4'): ValidateOptions {
  return { pattern, showView: false };
}

let apiPromise: Promise<MaxqApi> | undefined;

export function getExtension(): vscode.Extension<MaxqApi> {
  const ext = vscode.extensions.getExtension<MaxqApi>(extensionId);
  assert(ext, `extension ${extensionId} is not loaded in this extension host`);
  return ext;
}

/** Activates the extension (once) and returns its API, checking its shape. */
export function getApi(): Promise<MaxqApi> {
  apiPromise ??= (async () => {
    const api = await getExtension().activate();
    assert(api && typeof api === 'object', `activate() returned ${String(api)}, expected the MaxQ API object`);
    for (const fn of ['sparsify', 'validate', 'inspect'] as const) {
      assert(typeof api[fn] === 'function', `the API has no ${fn}() function`);
    }
    return api;
  })();
  return apiPromise;
}

let workspaceDir: string | undefined;

/**
 * The folder with the fixture models: the opened workspace folder (the runners open a fresh one), else a temp
 * folder. Fixtures are (re)written on first use.
 */
export function fixtureDir(): string {
  if (workspaceDir) return workspaceDir;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  workspaceDir = folder && folder.scheme === 'file' ? folder.fsPath : fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-vscode-'));
  writeFixtures(workspaceDir);
  return workspaceDir;
}

export function fixture(name: string): vscode.Uri {
  return vscode.Uri.file(path.join(fixtureDir(), name));
}

/** Polls `probe` until truthy, for up to `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | false | null, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Tabs (in all groups) showing a custom editor of `viewType` for `uri`. */
export function customEditorTabs(viewType: string, uri?: vscode.Uri): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === viewType && (!uri || t.input.uri.fsPath === uri.fsPath));
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** Whether this process has `needle` (e.g. onnxruntime's native binding) in its memory maps (Linux). */
export function processMaps(needle: string): boolean | undefined {
  try {
    return fs.readFileSync('/proc/self/maps', 'utf8').includes(needle);
  } catch {
    return undefined;
  }
}

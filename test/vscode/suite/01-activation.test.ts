/** The extension loads, activates, returns its API, and contributes what the UI relies on. */
import * as vscode from 'vscode';
import { commandIds, commandTitles, customEditorViewType } from '../../e2e/lib/selectors';
import { assert, test } from '../framework';
import { extensionId, getApi, getExtension } from '../util';

interface ManifestCommand {
  command: string;
  title: string;
  category?: string;
}
interface ManifestMenuItem {
  command: string;
  when?: string;
}
interface ManifestCustomEditor {
  viewType: string;
  priority?: string;
  selector?: { filenamePattern?: string }[];
}

function contributes(): Record<string, unknown> {
  return (getExtension().packageJSON as { contributes?: Record<string, unknown> }).contributes ?? {};
}

test(`extension ${extensionId} activates and returns the MaxQ API`, async () => {
  const api = await getApi();
  assert(getExtension().isActive, 'extension is not active after activate()');
  for (const fn of ['sparsify', 'validate', 'inspect'] as const) assert(typeof api[fn] === 'function', `API lacks ${fn}()`);
});

test('commands maxq.sparsify, maxq.validate and maxq.openInspector are registered', async () => {
  await getApi();
  const all = new Set(await vscode.commands.getCommands(true));
  const missing = Object.values(commandIds).filter((c) => !all.has(c));
  assert(missing.length === 0, `not registered: ${missing.join(', ')}`);
});

test('manifest titles match what the UI tests click (palette and Explorer menu)', () => {
  const cmds = (contributes().commands as ManifestCommand[] | undefined) ?? [];
  for (const [key, id] of Object.entries(commandIds) as [keyof typeof commandIds, string][]) {
    const c = cmds.find((x) => x.command === id);
    assert(c, `contributes.commands has no ${id}`);
    // The Explorer menu shows `title`; the palette shows `category: title`. The UI tests use one string for both.
    const menuLabel = c.title;
    const paletteLabel = c.category ? `${c.category}: ${c.title}` : c.title;
    const expected = commandTitles[key];
    assert(
      menuLabel === expected || paletteLabel === expected,
      `${id}: manifest title "${paletteLabel}" (menu "${menuLabel}") != "${expected}" in test/e2e/lib/selectors.ts`,
    );
  }
});

test('Explorer context menu offers the three commands on .onnx files only', () => {
  const menus = (contributes().menus as Record<string, ManifestMenuItem[]> | undefined) ?? {};
  const explorer = menus['explorer/context'] ?? [];
  for (const id of [commandIds.sparsify, commandIds.validate, commandIds.openInspector]) {
    const item = explorer.find((m) => m.command === id);
    assert(item, `explorer/context has no ${id}`);
    assert(/resourceExtname\s*==\s*\.onnx/.test(item.when ?? ''), `${id} in explorer/context: when "${item.when}" lacks resourceExtname == .onnx`);
  }
});

test('custom editor maxq.layerInspector is contributed for *.onnx with priority "option"', () => {
  const editors = (contributes().customEditors as ManifestCustomEditor[] | undefined) ?? [];
  const ed = editors.find((e) => e.viewType === customEditorViewType);
  assert(ed, `customEditors has no ${customEditorViewType}`);
  assert(ed.priority === 'option', `priority is ${JSON.stringify(ed.priority)}, expected "option" (users keep their default editor)`);
  assert((ed.selector ?? []).some((s) => /\*\.onnx$/i.test(s.filenamePattern ?? '')), 'selector lacks filenamePattern *.onnx');
});

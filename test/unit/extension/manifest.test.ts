/**
 * The extension manifest (package.json `contributes`). The Explorer and editor menus must show on the first
 * right-click after a window loads, before anything activates the extension: their `when` clauses may use only
 * context keys VS Code itself sets (a key the extension sets at activation would hide the items until then), and
 * every item must name a declared command that the extension registers.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..', '..'); // out/test/unit/extension → the checkout
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Context keys VS Code sets for a resource or an editor, with no extension involved. */
const BUILT_IN_KEYS = new Set(['resourceExtname', 'resourceFilename', 'resourceScheme', 'resourceLangId', 'resourcePath', 'explorerResourceIsFolder', 'activeCustomEditorId', 'activeEditor']);

/** The context keys a `when` clause reads: the left side of each comparison and each bare key. */
export function contextKeysOf(when: string): string[] {
  const withoutValues = when
    .replace(/=~\s*\/(?:\\.|[^/])*\/[a-z]*/g, ' ') // regex literals
    .replace(/(==|!=)\s*('[^']*'|"[^"]*"|[^\s&|)]+)/g, ' '); // compared values
  return [...withoutValues.matchAll(/[A-Za-z_][\w.]*/g)].map((m) => m[0]).filter((k) => k !== 'true' && k !== 'false');
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

test('contextKeysOf reads the keys, not the values', () => {
  assert.deepEqual(contextKeysOf('resourceExtname == .onnx'), ['resourceExtname']);
  assert.deepEqual(contextKeysOf('resourceFilename =~ /\\.run\\.json$/'), ['resourceFilename']);
  assert.deepEqual(contextKeysOf('resourceExtname == .onnx && !(activeCustomEditorId == maxq.layerInspector)'), ['resourceExtname', 'activeCustomEditorId']);
  assert.deepEqual(contextKeysOf('maxq.ready && resourceExtname == .onnx'), ['maxq.ready', 'resourceExtname']);
});

test('menus: every when clause uses only built-in context keys, so items show before the extension activates', () => {
  const menus = manifest.contributes.menus as Record<string, { command: string; when?: string }[]>;
  assert.ok(menus['explorer/context']?.some((i) => i.command === 'maxq.sparsify' && i.when === 'resourceExtname == .onnx'), 'Sparsify… on .onnx files in the Explorer');
  for (const [menu, items] of Object.entries(menus)) {
    for (const item of items) {
      for (const key of contextKeysOf(item.when ?? '')) {
        assert.ok(BUILT_IN_KEYS.has(key), `${menu} › ${item.command}: when clause "${item.when}" reads "${key}", which VS Code does not set before activation`);
      }
    }
  }
});

test('menus and commands: every menu item names a declared command, and every declared command is registered', () => {
  const declared = new Set((manifest.contributes.commands as { command: string }[]).map((c) => c.command));
  for (const [menu, items] of Object.entries(manifest.contributes.menus as Record<string, { command: string }[]>)) {
    for (const item of items) assert.ok(declared.has(item.command), `${menu} names ${item.command}, which contributes.commands lacks`);
  }
  const source = sourceFiles(path.join(root, 'src', 'extension')).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  for (const id of declared) assert.ok(source.includes(`'${id}'`), `${id} is declared but no source under src/extension names it`);
  // VS Code ≥ 1.74 activates on any contributed command; the engine range must allow relying on that.
  assert.match(manifest.engines.vscode, /^\^1\.(\d{3,}|7[4-9]|[89]\d)\./);
});

/** A corrupt model gives errors that name the file, and the extension keeps working afterwards. */
import * as vscode from 'vscode';
import { fixtureFiles } from '../../e2e/lib/fixtures';
import { commandIds, customEditorViewType } from '../../e2e/lib/selectors';
import { assert, assertRejects, test } from '../framework';
import { closeAllEditors, customEditorTabs, fixture, fixtureDir, getApi, getExtension, sparsifyOptions, validateOptions, waitFor } from '../util';
import * as path from 'path';
import { post, trackPanel } from '../../../src/extension/webviewHost/messaging';

test('a corrupt .onnx: inspect, validate and sparsify reject with a message naming the file', async () => {
  const api = await getApi();
  const bad = fixture(fixtureFiles.corrupt);
  const messages = [
    await assertRejects(api.inspect(bad), 'inspect(corrupt.onnx)'),
    await assertRejects(api.validate(bad, validateOptions()), 'validate(corrupt.onnx)'),
    await assertRejects(api.sparsify(bad, sparsifyOptions(path.join(fixtureDir(), 'corrupt.maxq-2of4.onnx'))), 'sparsify(corrupt.onnx)'),
  ];
  for (const m of messages) assert(m.includes(fixtureFiles.corrupt), `error message does not name the file: "${m}"`);
});

test('commands on a corrupt .onnx settle (error reported in the UI) instead of hanging or crashing the host', async () => {
  await getApi();
  const bad = fixture(fixtureFiles.corrupt);
  for (const id of [commandIds.openInspector, commandIds.validate]) {
    // A command may show an error notification or an error page in its webview; either way it must settle.
    const settled = await Promise.race([
      Promise.resolve(vscode.commands.executeCommand(id, bad)).then(
        () => 'resolved',
        (e: unknown) => `rejected: ${e instanceof Error ? e.message : String(e)}`,
      ),
      new Promise<string>((r) => setTimeout(() => r('pending'), 20_000)),
    ]);
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    console.log(`# ${id}(corrupt.onnx): ${settled}`);
    assert(settled !== 'pending', `${id} on a corrupt model did not settle within 20 s`);
  }
  await closeAllEditors();
});

test('after the errors the extension still works: validate and the inspector succeed', async () => {
  const api = await getApi();
  assert(getExtension().isActive, 'extension is no longer active');
  const report = await api.validate(fixture(fixtureFiles.sparse2of4), validateOptions());
  assert(report.pass, 'validate() of the 2:4 fixture failed after the corrupt-model errors');
  const uri = fixture(fixtureFiles.dense);
  await vscode.commands.executeCommand(commandIds.openInspector, uri);
  await waitFor(() => customEditorTabs(customEditorViewType, uri).length > 0, 'the inspector to open after the errors');
  await closeAllEditors();
});

test('a message to a panel that has closed is dropped, not thrown (replies to work still running when it closed)', () => {
  const panel = vscode.window.createWebviewPanel('maxq.test.closedPanel', 'MaxQ closed-panel test', vscode.ViewColumn.Active, {});
  const tracking = trackPanel(panel);
  post(panel, { type: 'ping' });
  panel.dispose();
  // The sparsify form hands over to its run by closing itself; a layer list still loading then answered into a
  // disposed panel, whose webview getter throws ("Webview is disposed"), and the form reported a failure.
  post(panel, { type: 'ping' });
  tracking.dispose();
});

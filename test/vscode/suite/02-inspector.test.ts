/** inspect() on a fixture model, and the layer-inspector custom editor opening for a .onnx. */
import * as vscode from 'vscode';
import { fixtureFiles, fixtureLayers } from '../../e2e/lib/fixtures';
import { commandIds, customEditorViewType } from '../../e2e/lib/selectors';
import { assert, assertEqual, test } from '../framework';
import { closeAllEditors, customEditorTabs, fixture, getApi, waitFor } from '../util';

test('inspect() lists the fixture layers with the default 2:4 policy', async () => {
  const api = await getApi();
  const s = await api.inspect(fixture(fixtureFiles.dense));
  const byName = new Map(s.layers.map((l) => [l.name, l]));
  for (const name of Object.values(fixtureLayers)) assert(byName.has(name), `layer ${name} missing; got ${[...byName.keys()].join(', ')}`);
  assertEqual(byName.get(fixtureLayers.conv2)!.op, 'Conv', 'conv2 op');
  assertEqual(byName.get(fixtureLayers.fc)!.op, 'Gemm', 'fc op');
  assertEqual(JSON.stringify(byName.get(fixtureLayers.conv2)!.canonicalShape), JSON.stringify([16, 8, 3, 3]), 'conv2 canonical shape');
  assert(byName.get(fixtureLayers.conv2)!.selected && byName.get(fixtureLayers.conv3)!.selected, 'conv2/conv3 should be selected');
  const conv1 = byName.get(fixtureLayers.conv1)!;
  assert(!conv1.selected && conv1.reason, `conv1 (first conv, Cin 1) should be left dense with a reason; got ${JSON.stringify(conv1)}`);
  assertEqual(s.inputs[0]?.name, 'input', 'model input name');
  assert(s.paramCount > 3000, `paramCount ${s.paramCount} is implausible`);
});

test('maxq.openInspector opens the layer inspector for a .onnx', async () => {
  await getApi();
  await closeAllEditors();
  const uri = fixture(fixtureFiles.dense);
  await vscode.commands.executeCommand(commandIds.openInspector, uri);
  await waitFor(() => customEditorTabs(customEditorViewType, uri).length > 0, `a ${customEditorViewType} tab for ${uri.fsPath}`);
  const tab = customEditorTabs(customEditorViewType, uri)[0];
  assert(tab.isActive, 'the inspector tab is not the active tab');
  await closeAllEditors();
});

test('"Open With…" (vscode.openWith) opens a .onnx in maxq.layerInspector', async () => {
  await getApi();
  await closeAllEditors();
  const uri = fixture(fixtureFiles.sparse2of4);
  await vscode.commands.executeCommand('vscode.openWith', uri, customEditorViewType);
  await waitFor(() => customEditorTabs(customEditorViewType, uri).length > 0, `a ${customEditorViewType} tab for ${uri.fsPath}`);
  await closeAllEditors();
  await waitFor(() => customEditorTabs(customEditorViewType).length === 0, 'the inspector tab to close');
});

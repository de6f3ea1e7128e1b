/** validate() on fixtures, and a real sparsify run on the bundled MNIST demo data that yields a valid 2:4 model. */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { defaultSparseOutputName, fixtureFiles, fixtureLayers, fixtureSelectedLayers } from '../../e2e/lib/fixtures';
import { assert, assertEqual, test } from '../framework';
import { fixture, fixtureDir, getApi, processMaps, repoRoot, sparsifyOptions, validateOptions } from '../util';

test('validate() at 2:4: the pruned fixture passes, the dense one fails on conv2 and conv3', async () => {
  const api = await getApi();
  const ok = await api.validate(fixture(fixtureFiles.sparse2of4), validateOptions());
  assert(ok.pass, `pruned fixture failed validation: ${JSON.stringify(ok.layers.filter((l) => l.status === 'fail'))}`);
  assertEqual(ok.pattern, '2:4', 'report pattern');
  const dense = await api.validate(fixture(fixtureFiles.dense), validateOptions());
  assert(!dense.pass, 'the dense fixture passed 2:4 validation');
  const failing = dense.layers.filter((l) => l.status === 'fail').map((l) => l.name).sort();
  assertEqual(JSON.stringify(failing), JSON.stringify([...fixtureSelectedLayers].sort()), 'failing layers of the dense model');
  const conv2 = dense.layers.find((l) => l.name === fixtureLayers.conv2)!;
  assert((conv2.violatingGroups ?? 0) > 0 && (conv2.firstViolations ?? []).length > 0, 'conv2 lists no violating blocks');
});

test('sparsify() 2:4 maxq on the MNIST demo data writes a sparse model that validates, without blocking the host', async () => {
  const api = await getApi();
  const input = fixture(fixtureFiles.dense);
  const output = path.join(fixtureDir(), defaultSparseOutputName(fixtureFiles.dense));
  fs.rmSync(output, { force: true });

  // Measure event-loop lag while the run goes on: the engine must run off the extension host's main thread.
  let maxLagMs = 0;
  let last = Date.now();
  const ticker = setInterval(() => {
    const now = Date.now();
    maxLagMs = Math.max(maxLagMs, now - last - 50);
    last = now;
  }, 50);
  let summary;
  try {
    summary = await api.sparsify(input, sparsifyOptions(output));
  } finally {
    clearInterval(ticker);
  }
  console.log(`# sparsify: ${JSON.stringify(summary)}; max event-loop lag ${maxLagMs} ms`);
  assert(fs.existsSync(output), `no output model at ${output}`);
  assertEqual(path.resolve(summary.output), path.resolve(output), 'summary.output');
  assertEqual(summary.pattern, '2:4', 'summary.pattern');
  assertEqual(summary.method, 'maxq', 'summary.method');
  assertEqual(summary.sparsifiedLayers, fixtureSelectedLayers.length, 'summary.sparsifiedLayers');
  assert(summary.validationPass, 'summary.validationPass is false');
  assert(maxLagMs < 1500, `the extension host's event loop stalled for ${maxLagMs} ms during the run`);

  const report = await api.validate(vscode.Uri.file(output), validateOptions());
  assert(report.pass, `the output fails 2:4 validation: ${JSON.stringify(report.layers.filter((l) => l.status === 'fail'))}`);
  for (const name of fixtureSelectedLayers) {
    assertEqual(report.layers.find((l) => l.name === name)?.status, 'pass', `validation status of ${name}`);
  }
  // The output is a complete model, not just masks: it inspects like the input.
  const s = await api.inspect(vscode.Uri.file(output));
  assertEqual(s.layers.length, 4, 'layers in the output model');
}, 300_000);

test("onnxruntime-node's native binding is loaded in the extension host (or its worker)", () => {
  const mapped = processMaps('onnxruntime_binding.node');
  if (mapped === undefined) {
    console.log('# /proc/self/maps not readable on this platform; skipped');
    return;
  }
  assert(mapped, 'onnxruntime_binding.node is not mapped in the extension-host process after a sparsify run');
});

test('sparsify() on the bundled example model (media/demo/mnist-cnn.onnx), 1 epoch: a valid 2:4 model', async () => {
  const api = await getApi();
  const bundled = path.join(repoRoot, 'media', 'demo', 'mnist-cnn.onnx');
  assert(fs.existsSync(bundled), `the bundled example ${bundled} is missing`);
  // Work on a copy in the workspace: the run writes its output (and run record) beside the input.
  const input = path.join(fixtureDir(), 'mnist-cnn.onnx');
  fs.copyFileSync(bundled, input);
  const output = path.join(fixtureDir(), 'mnist-cnn.maxq-2of4.onnx');
  fs.rmSync(output, { force: true });
  const summary = await api.sparsify(vscode.Uri.file(input), sparsifyOptions(output, { epochs: 1 }));
  console.log(`# bundled model: ${JSON.stringify(summary)}`);
  assert(fs.existsSync(output), `no output model at ${output}`);
  assert(summary.validationPass, 'summary.validationPass is false');
  assert(summary.sparsifiedLayers >= 1, `sparsifiedLayers = ${summary.sparsifiedLayers}`);
  const report = await api.validate(vscode.Uri.file(output), validateOptions());
  assert(report.pass, `the output fails 2:4 validation: ${JSON.stringify(report.layers.filter((l) => l.status === 'fail'))}`);
  const checked = report.layers.filter((l) => l.status === 'pass').length;
  assertEqual(checked, summary.sparsifiedLayers, 'layers that pass 2:4 = layers sparsified');
}, 300_000);

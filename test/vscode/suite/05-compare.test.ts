/**
 * The Compare view: maxq.openCompareReport with a URI (no picker) opens a report and the webview renders it — or
 * says why it cannot; maxq.compareMethods with a request argument runs a small comparison end to end (worker
 * thread, report beside the model, view opened) without blocking the host.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { fixtureFiles } from '../../e2e/lib/fixtures';
import { fixtureReport } from '../../unit/extension/compareFixture';
import { assert, assertEqual, test } from '../framework';
import { closeAllEditors, fixture, fixtureDir, getApi, waitFor } from '../util';

const COMPARE_VIEW_TYPE = 'maxq.compare';

interface CompareViewInfo {
  reportPath: string;
  status: string;
  rows: number;
}

function compareTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(COMPARE_VIEW_TYPE));
}

test('maxq.openCompareReport(uri) opens the Compare view, which renders every row (#status DONE)', async () => {
  await getApi();
  await closeAllEditors();
  // A report of the fixture model, its path relative as `maxq compare` records it.
  const report = { ...fixtureReport(), model: fixtureFiles.dense };
  const file = path.join(fixtureDir(), 'tiny-cnn.compare.json');
  fs.writeFileSync(file, JSON.stringify(report, null, 1));
  const info = (await vscode.commands.executeCommand('maxq.openCompareReport', vscode.Uri.file(file))) as CompareViewInfo | undefined;
  console.log(`# openCompareReport: ${JSON.stringify(info)}`);
  assert(info, 'maxq.openCompareReport returned nothing (it failed or asked for a file)');
  assertEqual(info.status, 'DONE', 'the view status');
  assertEqual(info.rows, report.rows.length, 'rows rendered in #compare-table');
  assertEqual(path.resolve(info.reportPath), path.resolve(file), 'report shown');
  await waitFor(() => compareTabs().length === 1, 'one Compare view tab');
  assert(compareTabs()[0].isActive, 'the Compare view is not the active tab');
  // Opening the same report again reuses the view.
  const again = (await vscode.commands.executeCommand('maxq.openCompareReport', file)) as CompareViewInfo | undefined;
  assertEqual(again?.status, 'DONE', 'status after reopening');
  assertEqual(compareTabs().length, 1, 'Compare view tabs after reopening the same report');
  await closeAllEditors();
}, 60_000);

test('a file that is not a comparison report: the view says so (#status ERROR) and the command settles', async () => {
  await getApi();
  const file = path.join(fixtureDir(), 'not-a-report.compare.json');
  fs.writeFileSync(file, JSON.stringify({ kind: 'something-else' }));
  const info = (await vscode.commands.executeCommand('maxq.openCompareReport', vscode.Uri.file(file))) as CompareViewInfo | undefined;
  console.log(`# broken report: ${JSON.stringify(info)}`);
  assertEqual(info?.status, 'ERROR', 'the view status for a broken report');
  assertEqual(info?.rows, 0, 'rows of a broken report');
  await closeAllEditors();
}, 60_000);

test('maxq.compareMethods(uri, request) compares on the fixture, writes <name>.compare.json and opens it, off the host thread', async () => {
  await getApi();
  await closeAllEditors();
  const model = fixture(fixtureFiles.dense);
  const reportPath = path.join(fixtureDir(), 'tiny-cnn.compare.json');
  fs.rmSync(reportPath, { force: true });
  const tempsBefore = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('maxq-studio-compare-')));
  let maxLagMs = 0;
  let last = Date.now();
  const ticker = setInterval(() => {
    const now = Date.now();
    maxLagMs = Math.max(maxLagMs, now - last - 50);
    last = now;
  }, 50);
  let info: CompareViewInfo | undefined;
  try {
    info = (await vscode.commands.executeCommand('maxq.compareMethods', model, {
      patterns: ['2:4'], methods: ['magnitude', 'maxq'], epochs: 0, seeds: 1, data: { kind: 'mnist-demo' }, overwrite: true,
    })) as CompareViewInfo | undefined;
  } finally {
    clearInterval(ticker);
  }
  console.log(`# compareMethods: ${JSON.stringify(info)}; max event-loop lag ${maxLagMs} ms`);
  assert(info, 'maxq.compareMethods returned nothing (failed or cancelled; see the MaxQ output)');
  assertEqual(path.resolve(info.reportPath), path.resolve(reportPath), 'report path beside the model');
  assert(fs.existsSync(reportPath), `no report at ${reportPath}`);
  const written = JSON.parse(fs.readFileSync(reportPath, 'utf8')) as { kind: string; rows: { key: string; validationPass: boolean }[]; runs: unknown[] };
  assertEqual(written.kind, 'maxq-compare', 'report kind');
  assertEqual(JSON.stringify(written.rows.map((r) => r.key)), JSON.stringify(['2:4 magnitude one-shot', '2:4 magnitude one-shot-bn', '2:4 maxq one-shot', '2:4 maxq one-shot-bn']), 'rows');
  assert(written.rows.every((r) => r.validationPass), 'a run failed the 2:4 pattern check');
  assertEqual(info.status, 'DONE', 'the Compare view status');
  assertEqual(info.rows, 4, 'rows rendered');
  assert(compareTabs().length === 1, 'the Compare view did not open');
  assert(maxLagMs < 1500, `the extension host's event loop stalled for ${maxLagMs} ms during the comparison`);
  const leftover = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('maxq-studio-compare-') && !tempsBefore.has(n));
  assertEqual(leftover.length, 0, `temp folders left: ${leftover.join(', ')}`);
  await closeAllEditors();
}, 300_000);

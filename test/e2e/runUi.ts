/**
 * Runs the UI end-to-end suites (out/test/e2e/ui/*.test.js) against code-server with the packaged .vsix
 * installed, driving Debian Chromium with playwright-core. One fresh code-server + browser per suite file;
 * teardown always runs. Prints `ok - …` / `not ok - …` per test and a final `N passed, N failed` line.
 *
 * Env: MAXQ_UI_TEST_FILTER=<substring of suite or test name>, MAXQ_UI_TIMEOUT_S (default 1200: the whole run),
 * MAXQ_E2E_KEEP=1 to keep run folders. Screenshots: test-artifacts/e2e/ui-<suite>/.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFixtures } from './lib/fixtures';
import { fixtureFiles } from './lib/fixtures';
import { withTimeout } from './lib/proc';
import { Session, log } from './lib/session';
import { UiContext, UiSuite } from './lib/uiSuite';
import { dismissQuickInput, waitForExplorerRow } from './lib/workbench';

interface Counts {
  passed: number;
  failed: number;
}

function loadSuites(filter: string | undefined): UiSuite[] {
  const dir = path.join(__dirname, 'ui');
  const suites: UiSuite[] = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.test.js')).sort()) {
    const mod = require(path.join(dir, f)) as { suite?: UiSuite };
    if (!mod.suite) throw new Error(`${f} does not export a suite`);
    const s = mod.suite;
    const tests = filter && !s.name.includes(filter) ? s.tests.filter((t) => t.name.includes(filter)) : s.tests;
    if (tests.length > 0) suites.push({ ...s, tests });
  }
  return suites;
}

function report(ok: boolean, name: string, ms: number, error?: unknown): void {
  console.log(`${ok ? 'ok' : 'not ok'} - ${name} (${ms} ms)`);
  if (error !== undefined) {
    const msg = error instanceof Error ? error.message : String(error);
    for (const line of msg.split('\n').slice(0, 25)) console.log(`#   ${line}`);
  }
}

async function runSuite(suite: UiSuite, counts: Counts): Promise<void> {
  const t0 = Date.now();
  let session: Session | undefined;
  let files: UiContext['files'] | undefined;
  let anyFailed = false;
  try {
    session = await Session.start({
      name: `ui-${suite.name}`,
      installVsix: true,
      prepareWorkspace: (ws) => {
        files = writeFixtures(ws);
        suite.prepareWorkspace?.(ws);
      },
    });
    await session.openWorkbench();
    await waitForExplorerRow(session.page, fixtureFiles.dense, 30_000);
    log(`[${suite.name}] workbench and explorer ready in ${Date.now() - t0} ms`);
  } catch (e) {
    if (session) await session.shot('setup-failed');
    for (const t of suite.tests) {
      counts.failed++;
      report(false, `[${suite.name}] ${t.name}`, 0, t === suite.tests[0] ? e : 'suite setup failed (see above)');
    }
    if (session) await session.close({ failed: true });
    return;
  }
  const s = session;
  const ctx: UiContext = {
    session: s,
    page: s.page,
    workspace: s.run.workspace,
    files: files!,
    shot: (name) => s.shot(name),
    state: new Map(),
    log: (m) => log(`[${suite.name}] ${m}`),
    expectConsoleError: (re) => s.expectedConsole.push(re),
  };
  try {
    for (const t of suite.tests) {
      const started = Date.now();
      try {
        await withTimeout(t.run(ctx), t.timeoutMs ?? 90_000, `test "${t.name}"`);
        counts.passed++;
        report(true, `[${suite.name}] ${t.name}`, Date.now() - started);
      } catch (e) {
        anyFailed = true;
        counts.failed++;
        const shot = await s.shot(`FAILED-${t.name}`);
        report(false, `[${suite.name}] ${t.name}`, Date.now() - started, shot ? `${e instanceof Error ? e.message : e}\nscreenshot: ${path.relative(process.cwd(), shot)}` : e);
      }
      await dismissQuickInput(s.page).catch(() => undefined);
    }
    // Workbench and webview errors that nobody asserted on still fail the suite.
    const started = Date.now();
    if (s.consoleErrors.length === 0) {
      counts.passed++;
      report(true, `[${suite.name}] no unexpected browser console errors`, Date.now() - started);
    } else {
      anyFailed = true;
      counts.failed++;
      report(false, `[${suite.name}] no unexpected browser console errors`, Date.now() - started, [...new Set(s.consoleErrors)].slice(0, 20).join('\n'));
    }
  } finally {
    await s.close({ failed: anyFailed });
    log(`[${suite.name}] finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

export async function runUiTests(): Promise<number> {
  const suites = loadSuites(process.env.MAXQ_UI_TEST_FILTER);
  const counts: Counts = { passed: 0, failed: 0 };
  const budgetMs = Number(process.env.MAXQ_UI_TIMEOUT_S ?? 1200) * 1000;
  try {
    await withTimeout(
      (async () => {
        for (const suite of suites) await runSuite(suite, counts);
      })(),
      budgetMs,
      'the UI test run (MAXQ_UI_TIMEOUT_S)',
    );
  } catch (e) {
    counts.failed++;
    report(false, 'UI test run', budgetMs, e);
  }
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  return counts.failed === 0 && counts.passed > 0 ? 0 : 1;
}

if (require.main === module) {
  runUiTests().then(
    (code) => process.exit(code), // exit handlers kill any code-server group still alive
    (e) => {
      console.error(e);
      console.log('0 passed, 1 failed');
      process.exit(1);
    },
  );
}

/**
 * Runs the in-extension-host suite (out/test/vscode/index.js) inside code-server's real Node extension host —
 * the offline equivalent of @vscode/test-electron. The extension is loaded from the checkout
 * (extensionDevelopmentPath), not from the .vsix. The workbench reports the suite's result through
 * `window.codeAutomationExit(code)`; extension-host console output is forwarded from the browser console.
 *
 * Prints the suite's `ok - …` lines and ends with `N passed, N failed`. Exit code 0 only if the suite passed.
 * MAXQ_EXT_TEST_TIMEOUT_S (default 600) bounds the whole suite. MAXQ_EXTENSION_DEV_PATH loads the extension
 * from another folder (default: this checkout).
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFixtures } from './lib/fixtures';
import { extensionTestsEntry, repoRoot } from './lib/paths';
import { withTimeout } from './lib/proc';
import { Session, harmlessConsole, log } from './lib/session';

export async function runExtensionTests(): Promise<number> {
  const started = Date.now();
  if (!fs.existsSync(extensionTestsEntry)) throw new Error(`${extensionTestsEntry} is missing; run npm run build`);
  const timeoutMs = Number(process.env.MAXQ_EXT_TEST_TIMEOUT_S ?? 600) * 1000;
  const session = await Session.start({
    name: 'extension-tests',
    installVsix: false,
    smokeTestDriver: true,
    prepareWorkspace: (ws) => {
      writeFixtures(ws);
    },
  });
  let summarySeen: string | undefined;
  let okLines = 0;
  let notOkLines = 0;
  let exitCode = 1;
  try {
    const verbose = process.env.MAXQ_E2E_VERBOSE === '1';
    session.onConsole((line, msg) => {
      // Extension-host and workbench console output arrive alike, with a `%c LEVEL css` prefix. Pass the suite's
      // own lines through; of the rest, show errors that are not known offline noise (everything when verbose).
      if (!msg.text().startsWith('%c')) return;
      const isError = msg.type() === 'error';
      const noise = harmlessConsole.some((re) => re.test(line));
      for (const l of line.split('\n')) {
        const m = l.match(/^((?:not )?ok - .*|#.*|1\.\.\d+|\d+ passed, \d+ failed)$/);
        if (m && !isError) {
          if (/^\d+ passed, \d+ failed$/.test(m[1])) summarySeen = m[1];
          else {
            if (m[1].startsWith('ok - ')) okLines++;
            if (m[1].startsWith('not ok - ')) notOkLines++;
            console.log(m[1]);
          }
        } else if (l.trim() !== '' && (verbose || (isError && !noise))) {
          console.log(`# [host] ${l.slice(0, 500)}`);
        }
      }
    });
    let resolveExit!: (code: number) => void;
    const exited = new Promise<number>((r) => (resolveExit = r));
    await session.page.exposeFunction('codeAutomationExit', (code: number) => {
      resolveExit(Number(code));
    });
    const authority = `127.0.0.1:${session.server.port}`;
    const devPath = path.resolve(process.env.MAXQ_EXTENSION_DEV_PATH ?? repoRoot);
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', `vscode-remote://${authority}${devPath}`],
      ['extensionTestsPath', `vscode-remote://${authority}${extensionTestsEntry}`],
    ]);
    await session.openWorkbench({ payload });
    exitCode = await withTimeout(exited, timeoutMs, 'the extension tests to call codeAutomationExit');
    log(`extension tests finished with code ${exitCode} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    console.log(`not ok - extension-test harness: ${e instanceof Error ? e.message : String(e)}`);
    await session.shot('failure');
    exitCode = 1;
  } finally {
    if (exitCode !== 0) await session.shot('final');
    await session.close({ failed: exitCode !== 0 });
  }
  if (!summarySeen) {
    // The suite never printed its summary (it did not load, or it was cut off by the time limit): count the tests
    // reported so far, plus one failure for the suite itself.
    summarySeen = `${okLines} passed, ${notOkLines + (exitCode === 0 ? 0 : 1)} failed`;
  } else if (exitCode !== 0 && / 0 failed$/.test(summarySeen)) {
    summarySeen = summarySeen.replace(/ 0 failed$/, ' 1 failed');
  }
  console.log(summarySeen);
  return exitCode === 0 ? 0 : 1;
}

if (require.main === module) {
  runExtensionTests().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      console.log('0 passed, 1 failed');
      process.exit(1);
    },
  );
}

/**
 * Runs the in-extension-host suite in a desktop VS Code through @vscode/test-electron, for machines that have
 * VS Code installed. It never downloads VS Code: set VSCODE_EXECUTABLE to the `code` binary (on Linux without a
 * display, run under xvfb-run). Without VSCODE_EXECUTABLE it prints why it skipped and exits 0.
 *
 *   VSCODE_EXECUTABLE=/usr/share/code/code xvfb-run -a node out/test/vscode/runTestElectron.js
 *
 * CI uses the code-server route instead (scripts/e2e/run-extension-tests.js), which needs no VS Code download.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFixtures } from '../e2e/lib/fixtures';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

async function main(): Promise<number> {
  const exe = process.env.VSCODE_EXECUTABLE;
  if (!exe) {
    console.log('# skipped: VSCODE_EXECUTABLE is not set (no VS Code download here; CI runs the suite in code-server)');
    return 0;
  }
  if (!fs.existsSync(exe)) {
    console.error(`VSCODE_EXECUTABLE=${exe} does not exist`);
    return 1;
  }
  const { runTests } = await import('@vscode/test-electron');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-electron-'));
  const workspace = path.join(tmp, 'workspace');
  writeFixtures(workspace);
  try {
    const code = await runTests({
      vscodeExecutablePath: exe,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(repoRoot, 'out', 'test', 'vscode', 'index.js'),
      launchArgs: [
        workspace,
        '--disable-extensions', // other installed extensions stay off; the one under development still loads
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--user-data-dir',
        path.join(tmp, 'user-data'),
        '--extensions-dir',
        path.join(tmp, 'extensions'),
      ],
      extensionTestsEnv: { ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
    return code;
  } catch (e) {
    console.error(`extension tests failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

/**
 * Entry point of the in-extension-host suite (the `extensionTestsPath` module), the same contract as
 * @vscode/test-electron: `run()` resolves when all tests pass and throws otherwise. Loads every
 * suite/*.test.js in name order. MAXQ_VSCODE_TEST_FILTER=<substring> runs a subset.
 */
import * as fs from 'fs';
import * as path from 'path';
import { runRegistered } from './framework';

export async function run(): Promise<void> {
  const suiteDir = path.join(__dirname, 'suite');
  const files = fs
    .readdirSync(suiteDir)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  for (const f of files) require(path.join(suiteDir, f));
  const { passed, failed, failures } = await runRegistered(process.env.MAXQ_VSCODE_TEST_FILTER);
  console.log(`${passed} passed, ${failed} failed`);
  if (failed > 0) throw new Error(`${failed} extension test(s) failed:\n${failures.join('\n')}`);
}

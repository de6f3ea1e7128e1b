/** The shape of a UI test file (test/e2e/ui/*.test.ts): one suite, one code-server session, tests in order. */
import type { Page } from 'playwright-core';
import type { Session } from './session';

export interface FixturePaths {
  dense: string;
  sparse2of4: string;
  corrupt: string;
}

export interface UiContext {
  session: Session;
  page: Page;
  workspace: string;
  files: FixturePaths;
  /** Screenshot into test-artifacts/e2e/<suite>/. */
  shot(name: string): Promise<string | undefined>;
  /** Values a test leaves for later tests of the same suite (e.g. the sparse model it produced). */
  state: Map<string, unknown>;
  log(message: string): void;
  /** Marks browser-console errors matching `re` as provoked on purpose (they do not fail the suite). */
  expectConsoleError(re: RegExp): void;
}

export interface UiTest {
  name: string;
  /** Default 90 s. Every wait inside has its own, shorter bound too. */
  timeoutMs?: number;
  run(ctx: UiContext): Promise<void>;
}

export interface UiSuite {
  name: string;
  /** Writes suite-specific files into the workspace after the shared fixtures, before code-server starts. */
  prepareWorkspace?(workspace: string): void;
  tests: UiTest[];
}

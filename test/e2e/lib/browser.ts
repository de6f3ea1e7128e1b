/**
 * Debian Chromium driven by playwright-core (never Playwright's own browser download). The persistent context
 * keeps the profile inside the run folder; `closeBrowser` always ends the browser, by killing its processes
 * (found by profile path) when a polite close does not finish in time.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { BrowserContext, Page } from 'playwright-core';
import { RunDir, runEnv } from './codeServer';
import { chromiumPath, e2eToolsDir } from './paths';
import { listProcesses, withTimeout } from './proc';

type Playwright = typeof import('playwright-core');

/** playwright-core from the project's devDependencies, else from .tools/e2e (set up by scripts/setup.sh). */
export function loadPlaywright(): Playwright {
  try {
    return require('playwright-core') as Playwright;
  } catch {
    return require(path.join(e2eToolsDir, 'node_modules', 'playwright-core')) as Playwright;
  }
}

export const chromiumArgs = [
  '--no-sandbox', // needed as root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function launchBrowser(run: RunDir, opts: { timeoutMs?: number } = {}): Promise<{ context: BrowserContext; page: Page }> {
  if (!fs.existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}; run bash scripts/setup.sh`);
  const { chromium } = loadPlaywright();
  const env = runEnv(run);
  const context = await chromium.launchPersistentContext(run.chromeProfile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string')),
    args: chromiumArgs,
    timeout: opts.timeoutMs ?? 60_000,
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(60_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

/** Pids of this run's Chromium processes, crashpad handlers included (they outlive the browser otherwise). */
export function chromiumPids(run: RunDir): number[] {
  return listProcesses()
    .filter((p) => p.cmdline.includes(run.root) && /chrom/i.test(p.cmdline.split(' ')[0] ?? ''))
    .map((p) => p.pid);
}

export async function closeBrowser(context: BrowserContext | undefined, run: RunDir): Promise<void> {
  if (context) {
    try {
      await withTimeout(context.close(), 15_000, 'closing the browser context');
    } catch (e) {
      console.error(`# browser close: ${e instanceof Error ? e.message : String(e)}; killing Chromium`);
    }
  }
  for (const pid of chromiumPids(run)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * One E2E session: a fresh run folder, optionally the .vsix installed, code-server started, Chromium launched.
 * `close()` always tears everything down (browser, then the server's whole process group), also after a failure.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { closeBrowser, launchBrowser } from './browser';
import { CodeServer, RunDir, createRunDir, installVsix, startCodeServer } from './codeServer';
import { artifactsDir, requireTools, vsixPath } from './paths';
import { waitForWorkbench } from './workbench';

/** Console noise of an offline workbench that is not a failure (shared/docs/vscode-e2e.md §7). */
export const harmlessConsole: RegExp[] = [
  /Failed to load resource: the server responded with a status of 404/,
  /ERR_NAME_NOT_RESOLVED/,
  /ERR_INTERNET_DISCONNECTED/,
  /ERR_CONNECTION_REFUSED/,
  /getaddrinfo (ENOTFOUND|EAI_AGAIN)/,
  /open-vsx\.org|marketplace\.visualstudio\.com|update\.code\.visualstudio\.com/,
  // The workbench asks for GitHub sessions (settings sync, chat); code-server has no GitHub auth provider offline.
  /Timed out waiting for authentication provider '[\w-]+' to register/,
];

export interface SessionOptions {
  /** Name of the run folder and of the screenshot folder under test-artifacts/e2e/. */
  name: string;
  /** Install the packaged .vsix (UI tests) — not for extension-test mode, which loads the extension from source. */
  installVsix: boolean;
  /** Start code-server with `--vscode-option enable-smoke-test-driver` (extension-test mode). */
  smokeTestDriver?: boolean;
  /** Writes the files the test needs into the workspace folder before code-server starts. */
  prepareWorkspace?: (workspace: string) => void | Promise<void>;
  settings?: Record<string, unknown>;
}

export class Session {
  readonly consoleErrors: string[] = [];
  /** Console errors a test provokes on purpose (e.g. the error notification for a corrupt model). */
  readonly expectedConsole: RegExp[] = [];
  private shotCount = 0;
  private closed = false;
  private consoleListeners: ((line: string, msg: ConsoleMessage) => void)[] = [];

  private constructor(
    readonly name: string,
    readonly run: RunDir,
    readonly server: CodeServer,
    readonly context: BrowserContext,
    readonly page: Page,
    readonly shotsDir: string,
  ) {
    page.on('console', (msg) => {
      const line = cleanConsoleText(msg.text());
      for (const l of this.consoleListeners) l(line, msg);
      if (msg.type() !== 'error') return;
      if (harmlessConsole.some((re) => re.test(line)) || this.expectedConsole.some((re) => re.test(line))) return;
      this.consoleErrors.push(line);
    });
    page.on('pageerror', (err) => this.consoleErrors.push(`pageerror: ${err.message}`));
  }

  static async start(opts: SessionOptions): Promise<Session> {
    requireTools({ vsix: opts.installVsix });
    const shotsDir = path.join(artifactsDir, opts.name);
    fs.rmSync(shotsDir, { recursive: true, force: true });
    fs.mkdirSync(shotsDir, { recursive: true });
    const run = await createRunDir(opts.name, opts.settings);
    let server: CodeServer | undefined;
    let context: BrowserContext | undefined;
    try {
      if (opts.prepareWorkspace) await opts.prepareWorkspace(run.workspace);
      if (opts.installVsix) {
        const t = Date.now();
        installVsix(run, vsixPath());
        log(`installed ${path.basename(vsixPath())} in ${Date.now() - t} ms`);
      }
      let t = Date.now();
      server = await startCodeServer(run, { smokeTestDriver: opts.smokeTestDriver });
      log(`code-server pid ${server.pid} healthy on ${server.origin} in ${Date.now() - t} ms`);
      t = Date.now();
      const b = await launchBrowser(run);
      context = b.context;
      log(`chromium started in ${Date.now() - t} ms`);
      return new Session(opts.name, run, server, b.context, b.page, shotsDir);
    } catch (e) {
      await closeBrowser(context, run);
      if (server) await server.stop();
      copyLog(run, shotsDir);
      throw e;
    }
  }

  /** Forwards cleaned console lines (extension-host output shows up in the browser console). */
  onConsole(listener: (line: string, msg: ConsoleMessage) => void): void {
    this.consoleListeners.push(listener);
  }

  /** The workbench URL for the run's workspace folder, with extra query parameters (e.g. `payload`). */
  workbenchUrl(params: Record<string, string> = {}): string {
    const q = new URLSearchParams({ folder: this.run.workspace, ...params });
    return `${this.server.origin}/?${q.toString()}`;
  }

  async openWorkbench(params: Record<string, string> = {}, timeoutMs = 60_000): Promise<void> {
    const t = Date.now();
    await this.page.goto(this.workbenchUrl(params), { timeout: timeoutMs, waitUntil: 'domcontentloaded' });
    await waitForWorkbench(this.page, timeoutMs);
    log(`workbench loaded in ${Date.now() - t} ms`);
  }

  /** Saves a screenshot as test-artifacts/e2e/<session>/<NN>-<name>.png; never throws. */
  async shot(name: string): Promise<string | undefined> {
    const file = path.join(this.shotsDir, `${String(++this.shotCount).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '-')}.png`);
    try {
      await this.page.screenshot({ path: file, timeout: 10_000 });
      return file;
    } catch (e) {
      log(`screenshot ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }

  /** Tears everything down; keeps the run folder when `failed` (or MAXQ_E2E_KEEP=1) for a post-mortem. */
  async close(opts: { failed: boolean }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeBrowser(this.context, this.run);
    await this.server.stop();
    copyLog(this.run, this.shotsDir);
    if (!opts.failed && process.env.MAXQ_E2E_KEEP !== '1') {
      fs.rmSync(this.run.root, { recursive: true, force: true });
    } else {
      log(`run folder kept: ${this.run.root}`);
    }
  }
}

function copyLog(run: RunDir, dir: string): void {
  try {
    if (fs.existsSync(run.log)) fs.copyFileSync(run.log, path.join(dir, 'code-server.log'));
  } catch {
    // best effort
  }
}

/**
 * Strips the `%c` style prefix the workbench puts on forwarded extension-host console lines. Playwright's
 * `msg.text()` joins the arguments with spaces, e.g. `%c INFO color: #33f ok - …` or `%c ERR color: #f33 …`.
 */
export function cleanConsoleText(text: string): string {
  if (!text.startsWith('%c')) return text;
  const m = text.match(
    /^%c\s*(?:\[[^\]]*\]\s*)?(?:%c\s*)?(?:[A-Z]+\s+)?(?:(?:color|background(?:-color)?|font-weight|font-style)\s*:\s*[^\s;]+;?\s*)+/,
  );
  return (m ? text.slice(m[0].length) : text.replace(/%c/g, '')).trim();
}

export function log(message: string): void {
  console.log(`# ${message}`);
}

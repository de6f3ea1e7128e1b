#!/usr/bin/env node
// The README's test command (npm run test:all): builds, packages the .vsix, then runs
//   1. unit/integration tests      node scripts/run-tests.js            (node's test runner)
//   1b. maxq_torch (Python)        node scripts/python-tests.js         (pytest; torchrun with 2 processes)
//   2. extension-host tests        node scripts/e2e/run-extension-tests.js  (code-server extension-test mode)
//   3. UI end-to-end tests         node scripts/e2e/run-ui-tests.js         (playwright-core + Debian Chromium)
// in that order, each in its own process group under a time limit, and ends with one line
// `N passed, N failed` summed over the three. Exits non-zero if anything failed or a suite could not run.
//
//   --skip-build           use the existing out/ and dist/*.vsix (e.g. right after scripts/setup.sh)
//   --only=unit,python,vscode,ui  run a subset
// Per-suite limits (seconds): MAXQ_UNIT_TIMEOUT_S (1800), MAXQ_PYTHON_TIMEOUT_S (600), MAXQ_VSCODE_TIMEOUT_S (900), MAXQ_UI_TIMEOUT_S (1800).
'use strict';
const { spawn, spawnSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const skipBuild = args.includes('--skip-build') || process.env.MAXQ_SKIP_BUILD === '1';
const onlyArg = args.find((a) => a.startsWith('--only='));
const only = onlyArg ? onlyArg.slice('--only='.length).split(',') : null;

const suites = [
  { key: 'unit', name: 'unit tests', cmd: [process.execPath, 'scripts/run-tests.js'], timeoutS: Number(process.env.MAXQ_UNIT_TIMEOUT_S || 1800) },
  { key: 'python', name: 'maxq_torch tests (pytest: vectors, cross-engine, torchrun)', cmd: [process.execPath, 'scripts/python-tests.js'], timeoutS: Number(process.env.MAXQ_PYTHON_TIMEOUT_S || 600) },
  { key: 'vscode', name: 'extension-host tests (code-server)', cmd: [process.execPath, 'scripts/e2e/run-extension-tests.js'], timeoutS: Number(process.env.MAXQ_VSCODE_TIMEOUT_S || 900) },
  { key: 'ui', name: 'UI end-to-end tests (code-server + Chromium)', cmd: [process.execPath, 'scripts/e2e/run-ui-tests.js'], timeoutS: Number(process.env.MAXQ_UI_TIMEOUT_S || 1800) + 60 },
].filter((s) => !only || only.includes(s.key));

/** Counts from a suite's output: our `N passed, N failed` line, or node's test runner summary (ℹ pass / ℹ fail). */
function parseCounts(out) {
  const ours = [...out.matchAll(/^(\d+) passed, (\d+) failed\s*$/gm)].pop();
  if (ours) return { passed: Number(ours[1]), failed: Number(ours[2]) };
  const num = (label) => {
    const m = [...out.matchAll(new RegExp(`^(?:ℹ|#) ${label} (\\d+)\\s*$`, 'gm'))].pop();
    return m ? Number(m[1]) : null;
  };
  const pass = num('pass');
  const fail = num('fail');
  if (pass === null || fail === null) return null;
  return { passed: pass, failed: fail + (num('cancelled') || 0) };
}

let current = null;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) try { process.kill(-current.pid, 'SIGTERM'); } catch { /* gone */ }
    process.exit(130);
  });
}

function runSuite(suite) {
  return new Promise((resolve) => {
    const started = Date.now();
    let out = '';
    const child = spawn(suite.cmd[0], suite.cmd.slice(1), {
      cwd: root,
      detached: true, // own process group: a timeout kills the suite with everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MAXQ_SKIP_BUILD: '1', ONNXRUNTIME_NODE_INSTALL: 'skip', FORCE_COLOR: '0' },
    });
    current = child;
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.log(`# ${suite.name}: time limit of ${suite.timeoutS} s reached, stopping it`);
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
      setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000).unref();
    }, suite.timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      // Anything the suite left in its group (it should have cleaned up) goes now.
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      const counts = parseCounts(out) || { passed: 0, failed: 0 };
      let { passed, failed } = counts;
      const broken = timedOut || code !== 0;
      // A suite that failed without a counted failure (crash, timeout, no summary) still counts as one failure.
      if (broken && failed === 0) failed = 1;
      resolve({ suite, passed, failed, code, signal, timedOut, seconds: (Date.now() - started) / 1000 });
    });
  });
}

(async () => {
  const t0 = Date.now();
  if (!skipBuild) {
    for (const [what, cmd] of [
      ['build (npm run build)', ['npm', ['run', '--silent', 'build']]],
      ['package the .vsix', ['bash', ['scripts/e2e/package-vsix.sh']]],
    ]) {
      if (only && !only.includes('ui') && what.startsWith('package')) continue;
      console.log(`\n==> ${what}`);
      const r = spawnSync(cmd[0], cmd[1], { cwd: root, stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
      if (r.status !== 0) {
        console.log(`${what} failed (exit ${r.status})`);
        console.log('0 passed, 1 failed');
        process.exit(1);
      }
    }
  }
  const results = [];
  for (const suite of suites) {
    console.log(`\n==> ${suite.name}: ${suite.cmd.slice(1).join(' ')}`);
    results.push(await runSuite(suite));
  }
  console.log('\n==> summary');
  for (const r of results) {
    const state = r.timedOut ? 'TIMED OUT' : r.code === 0 ? 'ok' : `exit ${r.code ?? r.signal}`;
    console.log(`  ${r.suite.name.padEnd(46)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(4)} failed  ${r.seconds.toFixed(1).padStart(7)} s  ${state}`);
  }
  console.log(`  total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const passed = results.reduce((a, r) => a + r.passed, 0);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
})();

/**
 * `maxq <command> --help` prints that command's usage and exits 0; the terminal progress bar is cleared before
 * anything else (an error) is printed; `maxq validate` never says PASS when no layer was checked.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import { HelpRequested, parse, wantsHelp } from '../../../src/cli/args';
import { ProgressLine } from '../../../src/cli/format';
import { formatReport } from '../../../src/cli/commands/validate';
import type { ValidationReport } from '../../../src/core/types';
import { MAXQ_BIN, noEligibleModel, REPO_ROOT, tempDir, writeModelFile } from '../fixtures';

function maxq(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAXQ_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, MAXQ_DEBUG: '' }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const COMMANDS = ['inspect', 'masks', 'sparsify', 'validate', 'compare', 'bn-recalibrate', 'fold-bn'];

describe('maxq <command> --help', () => {
  for (const command of COMMANDS) {
    it(`${command} --help and -h print its usage on stdout and exit 0`, () => {
      for (const flag of ['--help', '-h']) {
        const r = maxq([command, flag]);
        assert.equal(r.code, 0, `${command} ${flag}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^usage: maxq ${command} `), `${command} ${flag} stdout: ${r.stdout}`);
        assert.equal(r.stderr, '');
      }
    });
  }

  it('--help wins over other (even missing or bad) options', () => {
    const r = maxq(['sparsify', 'missing.onnx', '--pattern', 'bogus', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: maxq sparsify/);
  });

  it('parse throws HelpRequested with the usage; after `--` it is a positional', () => {
    assert.throws(() => parse(['x.onnx', '--help'], { json: { type: 'boolean' } }, 'maxq x'), (e: unknown) => e instanceof HelpRequested && e.usage === 'maxq x');
    assert.equal(wantsHelp(['--', '--help']), false);
    assert.equal(wantsHelp(['-h']), true);
    assert.equal(wantsHelp(['--json']), false);
  });

  it('an unknown option still fails with exit 2', () => {
    const r = maxq(['inspect', 'x.onnx', '--bogus']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--bogus/);
  });
});

class FakeTty {
  isTTY = true;
  columns = 80;
  out = '';
  write(chunk: string): boolean {
    this.out += chunk;
    return true;
  }
}

describe('ProgressLine', () => {
  it('draws in place on a TTY and clears its line on done()', () => {
    const tty = new FakeTty();
    const bar = new ProgressLine(tty);
    bar.update(0.5, 'epoch 1/2');
    assert.match(tty.out, /^\r\[#{12}\.{12}\]  50% epoch 1\/2\x1b\[K$/);
    tty.out = '';
    bar.done();
    assert.equal(tty.out, '\r\x1b[K');
    tty.out = '';
    bar.done();
    assert.equal(tty.out, '', 'nothing drawn: nothing to clear');
  });

  it('clearActive() clears the bar drawn now (the error path), once', () => {
    const tty = new FakeTty();
    const bar = new ProgressLine(tty);
    bar.update(0.25, 'x');
    tty.out = '';
    ProgressLine.clearActive();
    assert.equal(tty.out, '\r\x1b[K', 'the error then starts on a clean line');
    tty.out = '';
    ProgressLine.clearActive();
    assert.equal(tty.out, '');
  });

  it('writes nothing when not a terminal', () => {
    const pipe = new FakeTty();
    pipe.isTTY = false;
    const bar = new ProgressLine(pipe);
    bar.update(0.5, 'x');
    bar.done();
    ProgressLine.clearActive();
    assert.equal(pipe.out, '');
  });
});

describe('maxq validate with nothing checked', () => {
  const report: ValidationReport = {
    file: 'vit.onnx', pattern: '2:4', pass: true,
    layers: [
      { name: 'patch.weight', op: 'Conv', status: 'skipped', reason: 'linear stem (patch embedding of the model input; kept dense like the first conv)' },
      { name: 'blocks.0.fc1.weight', op: 'Gemm', status: 'skipped', reason: 'linear layer (opt-in: name it with --include)' },
      { name: 'head.weight', op: 'Gemm', status: 'skipped', reason: 'final classifier (kept dense unless named with --include)' },
    ],
  };

  it('formatReport says NOTHING CHECKED, never PASS, and names what --include would add', () => {
    const text = formatReport(report);
    assert.doesNotMatch(text, /^PASS/m);
    assert.match(text, /^NOTHING CHECKED: 0 layers checked, 3 skipped/m);
    assert.match(text, /--include patch\.weight,blocks\.0\.fc1\.weight,head\.weight/);
  });

  it('a model whose layers are all skipped: exit 1, no PASS', () => {
    const file = writeModelFile(tempDir(), 'none.onnx', noEligibleModel());
    const r = maxq(['validate', file, '--pattern', '2:4']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /NOTHING CHECKED/);
    assert.doesNotMatch(r.stdout, /^PASS/m);
  });
});

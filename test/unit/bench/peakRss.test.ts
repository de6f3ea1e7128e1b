/**
 * The bench's peak-RSS figures (issue 11: "peak memory of validate ≤ 1.5× the model file") come from processes the
 * bench starts. On Linux ru_maxrss survives fork + exec, so a child of a large bench process read the parent's
 * peak (every row of one `npm run bench` showed the same 654 MB). peakRssKb must report the child's own.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { peakRssKb } from '../../../bench/peakRss';

const PEAK_RSS_JS = path.resolve(__dirname, '..', '..', '..', 'bench', 'peakRss.js');
const BENCH_DIR = path.resolve(__dirname, '..', '..', '..', '..', 'bench');

describe('bench peak RSS', () => {
  it('is at least what this process holds now', () => {
    assert.ok(peakRssKb() * 1024 >= process.memoryUsage().rss * 0.99);
  });

  it('a child of a large process reports its own peak, not the parent\'s', { skip: !fs.existsSync('/proc/self/status') && 'no procfs' }, () => {
    const held = Buffer.alloc(384 << 20, 1); // touched, so resident
    const r = spawnSync(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(PEAK_RSS_JS)}).peakRssKb()))`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const childKb = Number(r.stdout);
    assert.ok(childKb > 1024, `child peak ${childKb} KiB`);
    assert.ok(childKb < (held.length >> 10) / 2, `child peak ${childKb} KiB should be far below the parent's ${held.length >> 10} KiB held`);
  });

  // Without python3 the bench skips its Python references too.
  const noPython = spawnSync('python3', ['--version']).status !== 0 && 'no python3';
  it('the Python references report their own peak too', { skip: (!fs.existsSync('/proc/self/status') && 'no procfs') || noPython }, () => {
    const held = Buffer.alloc(384 << 20, 1);
    const r = spawnSync('python3', ['-c', 'import sys; sys.path.insert(0, sys.argv[1]); from peak_rss import peak_rss_kb; print(peak_rss_kb())', BENCH_DIR], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const childKb = Number(r.stdout.trim());
    assert.ok(childKb > 1024 && childKb < (held.length >> 10) / 2, `python peak ${childKb} KiB against ${held.length >> 10} KiB held by the parent`);
  });
});

#!/usr/bin/env node
// Reruns the README's results table on the bundled MNIST CNN: `maxq compare` for 2:4, 1:4 and 1:16 with
// magnitude, SR-STE and MaxQ (one-shot with and without BN re-estimation, magnitude + fine-tune, SR-STE, MaxQ with
// and without the schedule, all after the same fine-tune budget), then writes docs/results.json (the compare
// report) and docs/results.md (the table with the command, date and machine), whatever the numbers show.
//
// Usage: node scripts/results.js [--epochs 3] [--seeds 2] [--out-dir docs] [--render-only]
// --render-only rewrites results.md from an existing results.json without measuring again.
// Builds first unless MAXQ_SKIP_BUILD=1. About 15 min on 2 idle cores with the defaults.
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');

const root = path.resolve(__dirname, '..');
const MODEL = 'media/demo/mnist-cnn.onnx';
const PATTERNS = '2:4,1:4,1:16';
const METHODS = 'magnitude,srste,maxq';

function options() {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string', default: '3' }, seeds: { type: 'string', default: '2' }, 'out-dir': { type: 'string', default: 'docs' },
      'render-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  return { epochs: values.epochs, seeds: values.seeds, outDir: path.resolve(root, values['out-dir']), renderOnly: values['render-only'] };
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function codeVersion() {
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (!head) return 'not a git checkout';
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  return `commit ${head}${dirty ? ' with uncommitted changes' : ''}`;
}

function minutes(seconds) {
  return seconds >= 90 ? `${(seconds / 60).toFixed(1)} min` : `${seconds.toFixed(0)} s`;
}

function machine(env) {
  return [
    `${env.cpuModel}, ${env.cpuCount} logical CPUs (${env.availableParallelism} usable), ${env.totalMemoryGiB} GiB`,
    `${env.platform} ${env.osRelease} ${env.arch}`,
    `Node ${env.node}, onnxruntime-node ${env.onnxruntime ?? 'unknown'}`,
    `load average ${env.loadAverage.map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) when the run started`,
  ].join('; ');
}

function budget(b) {
  return `${b.epochs} epochs, batch ${b.batchSize}, ${b.optimizer} lr ${b.lr} (cosine) momentum ${b.momentum}, weight decay ${b.weightDecay}, ` +
    `dense-fraction schedule evaluated per ${b.scheduleGranularity}; BN re-estimation over ${b.bnBatches} batches`;
}

/** One factual sentence per pattern on the issue's target: MaxQ (default schedule) within 0.5 point of dense at 2:4. */
function headline(report) {
  const row = report.rows.find((r) => r.pattern === '2:4' && r.method === 'maxq' && r.scheduleVariant === 'default');
  if (!row || !row.delta) return '';
  const d = row.delta.mean * 100;
  return `MaxQ 2:4 with the default schedule: ${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)} points vs dense ` +
    `(issue 3's target: within 0.5 point — ${Math.abs(d) <= 0.5 || d > 0 ? 'met' : 'not met'} in this run).`;
}

function fill(template, values) {
  return template.replace(/\{\{(\w+)\}\}/g, (_, k) => {
    if (!(k in values)) throw new Error(`results.md template: unknown placeholder {{${k}}}`);
    return values[k];
  });
}

function compareArgs(o, jsonPath) {
  return ['compare', MODEL, '--patterns', PATTERNS, '--methods', METHODS, '--seeds', o.seeds, '--epochs', o.epochs,
    '--schedule-variants', 'default,none', '--mnist-demo', '--out', path.relative(root, jsonPath)];
}

/** Runs `maxq compare` (progress and its table on this terminal), which writes the report. */
function measure(o, jsonPath) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'maxq.js'), ...compareArgs(o, jsonPath)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`maxq compare exited with ${r.status ?? r.signal}; nothing written`);
}

/**
 * SR-STE's one-shot mask is the magnitude mask (the methods differ only while training), so its one-shot rows
 * repeat magnitude's; they are left out of the Markdown table when they are indeed identical (kept in the JSON).
 */
function tableRows(report) {
  const same = (a, b) => a && b && a.accuracy && b.accuracy && a.accuracy.mean === b.accuracy.mean;
  const twin = (r) => report.rows.find((m) => m.method === 'magnitude' && m.pattern === r.pattern && m.kind === r.kind);
  const omitted = report.rows.filter((r) => r.method === 'srste' && r.kind !== 'fine-tune' && same(r, twin(r)));
  return { rows: report.rows.filter((r) => !omitted.includes(r)), omitted: omitted.length };
}

function render(report, jsonPath, code) {
  const { compareTable, markdownTable } = require(path.join(root, 'out', 'src', 'core', 'compare', 'compareTable.js'));
  const metric = report.metric === 'accuracy' ? 'top-1 accuracy' : 'top-1 agreement with the dense model';
  const { rows, omitted } = tableRows(report);
  const notes = [...report.notes];
  if (omitted > 0) notes.push(`SR-STE one-shot rows are left out: SR-STE's one-shot mask is the magnitude mask and measured the same (${omitted} rows, in results.json).`);
  const config = report.config;
  return fill(fs.readFileSync(path.join(__dirname, 'results.md'), 'utf8'), {
    date: report.createdAt.slice(0, 10),
    duration: minutes(report.totalSeconds),
    cpu: minutes(report.totalCpuSeconds),
    command: `node scripts/results.js --epochs ${config.budget.epochs} --seeds ${config.seeds.length}   # runs: maxq ${compareArgs({ epochs: String(config.budget.epochs), seeds: String(config.seeds.length) }, jsonPath).join(' ')}`,
    metric,
    evaluation: report.evaluation.oneShot.replace(/^validation data: /, 'the held-out test split, '),
    budget: budget(config.budget),
    seeds: config.seeds.join(', '),
    table: markdownTable(compareTable({ ...report, rows })),
    headline: headline(report),
    notes: notes.map((n) => `- ${n}`).join('\n'),
    machine: machine(report.environment),
    code,
  });
}

async function main() {
  const o = options();
  if (process.env.MAXQ_SKIP_BUILD !== '1') {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: 'inherit', cwd: root });
  }
  fs.mkdirSync(o.outDir, { recursive: true });
  const jsonPath = path.join(o.outDir, 'results.json');
  const mdPath = path.join(o.outDir, 'results.md');
  // The code that measured: taken before the run, since others may commit while it runs.
  const code = o.renderOnly ? 'not recorded (table re-rendered from results.json with --render-only)' : codeVersion();
  if (!o.renderOnly) measure(o, jsonPath);
  const report = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const { writeFileAtomic } = require(path.join(root, 'out', 'src', 'core', 'io', 'atomicWrite.js'));
  await writeFileAtomic(mdPath, render(report, jsonPath, code));
  console.error(`results: wrote ${path.relative(root, mdPath)}${o.renderOnly ? ` from ${path.relative(root, jsonPath)}` : ` and ${path.relative(root, jsonPath)}`}`);
}

Promise.resolve()
  .then(main)
  .catch((e) => {
    console.error(`results: ${e && e.message ? e.message : e}`);
    process.exit(1);
  });

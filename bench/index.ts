/**
 * Bench runner: `npm run bench [-- <name filter>] [-- --json <file>]` (after `tsc`). Every bench is a module
 * exporting a `BenchModule`; add new ones to BENCHES below and they are run and tabulated the same way.
 */
import * as fs from 'fs';
import { BenchModule, BenchResult } from './harness';
import { masksBench } from './masks.bench';
import { trainStepBench } from './trainStep.bench';
import { modelIoBench } from './modelIo.bench';

/** The registry: one entry per bench module, run in this order. */
export const BENCHES: BenchModule[] = [masksBench, trainStepBench, modelIoBench];

export interface BenchReport {
  node: string;
  platform: string;
  cpus: number;
  modules: { name: string; results: BenchResult[] }[];
}

export async function runBenches(modules: BenchModule[], filter?: string): Promise<BenchReport> {
  const selected = filter ? modules.filter((m) => m.name.includes(filter)) : modules;
  const report: BenchReport = { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: require('os').cpus().length, modules: [] };
  for (const m of selected) {
    process.stderr.write(`running ${m.name} ...\n`);
    report.modules.push({ name: m.name, results: await m.run() });
  }
  return report;
}

export function formatReport(report: BenchReport): string {
  const rows: string[][] = [['bench', 'case', 'median ms', 'min ms', 'cpu ms', 'runs', 'x baseline', 'x baseline cpu', 'note']];
  const fixed = (x: number | undefined, digits: number) => (x !== undefined ? x.toFixed(digits) : '');
  for (const m of report.modules) {
    for (const r of m.results) {
      rows.push([m.name, r.name, r.medianMs.toFixed(1), r.minMs.toFixed(1), fixed(r.cpuMs, 1), String(r.runs), fixed(r.ratio, 2), fixed(r.cpuRatio, 2), r.note ?? '']);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c >= 2 && c <= 7 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const load = require('os').loadavg()[0].toFixed(2);
  return [`node ${report.node}, ${report.platform}, ${report.cpus} CPUs, load average ${load} (wall times inflate when the machine is shared; cpu ms is this process only, all its threads)`, line(rows[0]), line(rows[0].map((_, c) => '-'.repeat(widths[c]))), ...rows.slice(1).map(line)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let json: string | undefined;
  let filter: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') json = argv[++i];
    else filter = argv[i];
  }
  const report = await runBenches(BENCHES, filter);
  if (report.modules.length === 0) {
    console.error(`no bench matches '${filter}' (have: ${BENCHES.map((b) => b.name).join(', ')})`);
    return 1;
  }
  console.log(formatReport(report));
  if (json) fs.writeFileSync(json, JSON.stringify(report, null, 2));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

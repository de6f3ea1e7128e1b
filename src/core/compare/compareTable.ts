/**
 * A comparison report as a table of text cells — the dense model first, then one line per configuration with
 * mean ± std over seeds, Δ vs dense in points, wall and CPU time per run — and that table as Markdown. The CLI prints the
 * cells with its plain-text formatter; scripts/results.js writes the Markdown.
 */
import { CompareReport, CompareRow } from './compareReport';

export interface TextTable {
  header: string[];
  rows: string[][];
}

const pct = (x: number) => (x * 100).toFixed(2);
const signedPoints = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}`;

export function metricName(report: Pick<CompareReport, 'metric'>): string {
  return report.metric === 'accuracy' ? 'accuracy %' : 'agreement with dense %';
}

function cells(row: CompareRow): string[] {
  const a = row.accuracy, d = row.delta;
  // A spread needs two runs or more; deterministic rows and single seeds show none.
  const spread = (std: number) => (row.deterministic || row.seeds.length < 2 ? '' : ` ± ${(std * 100).toFixed(2)}`);
  return [
    row.pattern,
    row.method,
    row.label,
    row.deterministic ? '1 (deterministic)' : String(row.seeds.length),
    a ? `${pct(a.mean)}${spread(a.std)}` : 'n/a',
    d ? `${signedPoints(d.mean)}${spread(d.std)}` : 'n/a',
    `${row.seconds.mean.toFixed(1)} s`,
    `${row.cpuSeconds.mean.toFixed(1)} s`,
  ];
}

export function compareTable(report: CompareReport): TextTable {
  const dense = report.dense.accuracy;
  return {
    header: ['pattern', 'method', 'variant', 'runs', metricName(report), 'Δ vs dense (points)', 'time / run', 'CPU / run'],
    rows: [['—', 'dense', 'original model', '1', dense === null ? 'n/a' : pct(dense), '', '', ''], ...report.rows.map(cells)],
  };
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function markdownTable(table: TextTable): string {
  const line = (cells: string[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  const align = table.header.map((_, c) => (c >= 3 ? '---:' : '---'));
  return [line(table.header), `|${align.join('|')}|`, ...table.rows.map(line)].join('\n');
}

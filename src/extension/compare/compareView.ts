/**
 * A comparison report (`<name>.compare.json`, written by `maxq compare` or the extension) read from disk and turned
 * into what the Compare view shows: table rows, chart series grouped by pattern, facts and notes. Pure: no vscode
 * import, so it is unit-tested with node:test.
 */
import * as path from 'path';
import { inputError } from '../../core/errors';
import { describeNormalize } from '../../core/data/normalize';
import type { CompareReport, CompareRow } from '../../core/compare/compareReport';
import type { DataSpec } from '../../core/sparsify/options';
import type { MaskMethod } from '../../core/types';
import type { CompareChartData, CompareChartSeries, CompareRunKind, CompareViewModel, CompareViewRow } from '../../protocol/messages';

export const COMPARE_REPORT_SUFFIX = '.compare.json';

export function isCompareReportPath(file: string): boolean {
  return file.toLowerCase().endsWith(COMPARE_REPORT_SUFFIX);
}

/** `<dir>/<name>.compare.json` beside the model (the name without `.onnx`), where the extension writes a report. */
export function compareReportPathFor(model: string): string {
  return path.join(path.dirname(model), `${path.basename(model).replace(/\.onnx$/i, '')}${COMPARE_REPORT_SUFFIX}`);
}

const METHOD_NAMES: Record<MaskMethod, string> = { magnitude: 'Magnitude', srste: 'SR-STE', maxq: 'MaxQ' };
const KINDS: readonly CompareRunKind[] = ['one-shot', 'one-shot-bn', 'fine-tune'];

export function methodName(m: MaskMethod): string {
  return METHOD_NAMES[m] ?? m;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isStats(x: unknown): boolean {
  return x === null || (isObject(x) && typeof x.mean === 'number' && typeof x.std === 'number');
}

/** Why `row` is not a report row, or null when it is one. */
function rowProblem(row: unknown, k: number): string | null {
  if (!isObject(row)) return `row ${k + 1} is not an object`;
  const name = typeof row.key === 'string' ? `row "${row.key}"` : `row ${k + 1}`;
  if (typeof row.key !== 'string' || typeof row.pattern !== 'string' || typeof row.label !== 'string') return `${name} lacks its key, pattern or label`;
  if (!(row.method === 'magnitude' || row.method === 'srste' || row.method === 'maxq')) return `${name} has an unknown method ${JSON.stringify(row.method)}`;
  if (!KINDS.includes(row.kind as CompareRunKind)) return `${name} has an unknown kind ${JSON.stringify(row.kind)}`;
  if (!Array.isArray(row.seeds) || !isStats(row.accuracy) || !isStats(row.delta)) return `${name} lacks its seeds or accuracy statistics`;
  if (!isObject(row.seconds) || typeof row.seconds.mean !== 'number') return `${name} lacks its timings`;
  if (!isObject(row.recipe) || typeof row.recipe.pattern !== 'string' || typeof row.recipe.epochs !== 'number') return `${name} lacks the recipe that reproduces it`;
  return null;
}

/**
 * Parses and checks a report file's text. Throws an input error naming the file when it is not a comparison report
 * this version understands, so the view can say what is wrong instead of drawing nonsense.
 */
export function parseCompareReport(text: string, file: string): CompareReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw inputError(file, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(data) || data.kind !== 'maxq-compare') throw inputError(file, 'not a MaxQ comparison report (expected "kind": "maxq-compare", written by maxq compare)');
  if (data.version !== 1) throw inputError(file, `comparison report version ${JSON.stringify(data.version)} is not supported (this MaxQ reads version 1)`);
  if (typeof data.model !== 'string') throw inputError(file, 'the report does not name its model');
  if (data.metric !== 'accuracy' && data.metric !== 'agreement') throw inputError(file, `unknown metric ${JSON.stringify(data.metric)}`);
  if (!Array.isArray(data.rows)) throw inputError(file, 'the report has no rows');
  for (let k = 0; k < data.rows.length; k++) {
    const problem = rowProblem(data.rows[k], k);
    if (problem) throw inputError(file, problem);
  }
  if (!isObject(data.config) || !isObject(data.config.budget)) throw inputError(file, 'the report lacks its config (budget, data)');
  return data as unknown as CompareReport;
}

/**
 * Where the compared model is. The CLI records the path as it was typed (relative to where it ran), so a relative
 * path is tried against the report's folder, then the model's file name there, then `<name>.onnx` beside
 * `<name>.compare.json`. Null when none exists.
 */
export function locateComparedModel(reportModel: string, reportPath: string, exists: (p: string) => boolean): string | null {
  const dir = path.dirname(reportPath);
  const candidates = path.isAbsolute(reportModel)
    ? [reportModel, path.join(dir, path.basename(reportModel))]
    : [path.resolve(dir, reportModel), path.join(dir, path.basename(reportModel))];
  if (isCompareReportPath(reportPath)) candidates.push(path.join(dir, `${path.basename(reportPath).slice(0, -COMPARE_REPORT_SUFFIX.length)}.onnx`));
  return candidates.find((c) => exists(c)) ?? null;
}

/** The series a row belongs to: its configuration without the pattern. */
export function seriesIdOf(row: Pick<CompareRow, 'method' | 'kind' | 'scheduleVariant'>): string {
  return [row.method, row.kind, row.scheduleVariant].filter((s) => s !== null && s !== undefined).join(' ');
}

/** A short legend label: "Magnitude · one-shot + BN", "MaxQ · fine-tune, default schedule". */
export function seriesLabel(row: Pick<CompareRow, 'method' | 'kind' | 'scheduleVariant'>): string {
  const what =
    row.kind === 'one-shot' ? 'one-shot'
    : row.kind === 'one-shot-bn' ? 'one-shot + BN'
    : row.scheduleVariant && (row.method === 'maxq' || row.scheduleVariant !== 'none') ? `fine-tune, ${row.scheduleVariant === 'none' ? 'no' : row.scheduleVariant} schedule`
    : 'fine-tune';
  return `${methodName(row.method)} · ${what}`;
}

/** Spread is only shown where it was measured: two runs or more of a non-deterministic configuration. */
function spread(row: CompareRow, std: number | undefined): number | null {
  return row.deterministic || row.seeds.length < 2 || std === undefined ? null : std;
}

export function viewRows(rows: readonly CompareRow[]): CompareViewRow[] {
  const best = new Map<string, number>();
  for (const r of rows) if (r.accuracy) best.set(r.pattern, Math.max(best.get(r.pattern) ?? -Infinity, r.accuracy.mean));
  return rows.map((r) => ({
    key: r.key,
    pattern: r.pattern,
    method: r.method,
    kind: r.kind,
    variant: r.label,
    seriesId: seriesIdOf(r),
    runs: r.seeds.length,
    deterministic: r.deterministic,
    mean: r.accuracy?.mean ?? null,
    std: r.accuracy ? spread(r, r.accuracy.std) : null,
    delta: r.delta?.mean ?? null,
    deltaStd: r.delta ? spread(r, r.delta.std) : null,
    seconds: r.seconds.mean,
    cpuSeconds: r.cpuSeconds?.mean ?? r.seconds.mean,
    validationPass: r.validationPass,
    highest: r.accuracy !== null && Math.abs(r.accuracy.mean - (best.get(r.pattern) ?? NaN)) < 1e-12,
  }));
}

/** The zoomed chart shows the results within this distance (a fraction: 10 points) of the best one. */
export const ZOOM_WINDOW = 0.1;

/** Bars grouped by pattern: one series per configuration, in the order the report lists them. */
export function chartData(rows: readonly CompareRow[], dense: number | null): CompareChartData {
  const patterns: string[] = [];
  for (const r of rows) if (!patterns.includes(r.pattern)) patterns.push(r.pattern);
  const series = new Map<string, CompareChartSeries>();
  for (const r of rows) {
    const id = seriesIdOf(r);
    let s = series.get(id);
    if (!s) {
      s = { id, label: seriesLabel(r), method: r.method, kind: r.kind, scheduleVariant: r.scheduleVariant, points: patterns.map(() => null) };
      series.set(id, s);
    }
    if (r.accuracy) s.points[patterns.indexOf(r.pattern)] = { key: r.key, mean: r.accuracy.mean, std: spread(r, r.accuracy.std) };
  }
  // The zoomed axis frames the results worth choosing between: within ZOOM_WINDOW of the best mean, and dense.
  const points = [...series.values()].flatMap((s) => s.points.filter((p): p is NonNullable<typeof p> => p !== null));
  const best = Math.max(...points.map((p) => p.mean), dense ?? -Infinity);
  let lo = dense ?? Infinity, hi = dense ?? -Infinity;
  for (const p of points) {
    if (p.mean < best - ZOOM_WINDOW) continue;
    lo = Math.min(lo, p.mean - (p.std ?? 0));
    hi = Math.max(hi, p.mean + (p.std ?? 0));
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  const pad = Math.max(0.005, (hi - lo) * 0.15);
  const zoom = { min: Math.max(0, Math.floor((lo - pad) * 100) / 100), max: Math.min(1, Math.ceil((hi + pad) * 100) / 100) };
  return { patterns, series: [...series.values()], dense, zoom };
}

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)} %`;

export function describeData(data: DataSpec | undefined): string {
  if (!data) return 'unknown';
  switch (data.kind) {
    case 'mnist-demo':
      return 'bundled MNIST demo';
    case 'npy': {
      const parts = [`${path.basename(data.inputs)}${data.labels ? ` + ${path.basename(data.labels)}` : ' (no labels)'}`];
      if (data.valInputs) parts.push(`validation ${path.basename(data.valInputs)}${data.valLabels ? ` + ${path.basename(data.valLabels)}` : ''}`);
      return parts.join(', ');
    }
    case 'images':
      return `images in ${data.dir}${data.valDir ? `, validation ${data.valDir}` : ''}`;
    case 'none':
      return 'none';
  }
}

/** The preprocessing every run of the comparison fed its data with (the option, or the model's recorded one). */
export function describePreprocessing(data: DataSpec | undefined): string {
  if (!data || data.kind === 'none') return 'none (no data)';
  if (data.kind === 'mnist-demo') return `${describeNormalize('mnist')} (the demo's own)`;
  return data.normalize ? describeNormalize(data.normalize) : 'values as stored';
}

function minutes(s: number): string {
  return s < 90 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

export interface ViewSource {
  reportPath: string;
  /** The model found on disk (see locateComparedModel), or null. */
  modelPath: string | null;
}

export function toCompareView(report: CompareReport, source: ViewSource): CompareViewModel {
  const { config, environment: env } = report;
  const b = config.budget;
  const modelPath = source.modelPath ?? report.model;
  const metricLabel = report.metric === 'accuracy' ? 'accuracy' : 'agreement with dense';
  const facts: { label: string; value: string }[] = [
    { label: 'model', value: path.basename(modelPath) },
    { label: report.metric === 'accuracy' ? 'dense accuracy' : 'dense (reference)', value: report.dense?.accuracy === null || report.dense?.accuracy === undefined ? 'n/a' : pct(report.dense.accuracy) },
    { label: 'patterns', value: config.patterns.join(', ') },
    { label: 'methods', value: config.methods.map(methodName).join(', ') },
    {
      label: 'fine-tune budget',
      value: b.epochs === 0 ? 'none (one-shot only)' : `${b.epochs} epoch${b.epochs === 1 ? '' : 's'}, batch ${b.batchSize}, ${b.optimizer} lr ${b.lr}, schedule per ${b.scheduleGranularity}`,
    },
    { label: 'seeds', value: config.seeds.join(', ') },
    { label: 'data', value: describeData(config.data) },
    { label: 'preprocessing', value: describePreprocessing(config.data) },
    { label: 'runs', value: `${report.runs?.length ?? 0} in ${minutes(report.totalSeconds ?? 0)}` },
  ];
  if (env) facts.push({ label: 'machine', value: `${env.cpuModel}, ${env.availableParallelism} CPUs, Node ${env.node}${env.onnxruntime ? `, onnxruntime ${env.onnxruntime}` : ''}` });
  const ev = report.evaluation;
  const evaluation = !ev ? '' : ev.fineTune && ev.fineTune !== ev.oneShot ? `one-shot rows: ${ev.oneShot}; fine-tunes: ${ev.fineTune}` : ev.oneShot;
  return {
    reportPath: source.reportPath,
    reportName: path.basename(source.reportPath),
    modelPath,
    modelName: path.basename(modelPath),
    modelFound: source.modelPath !== null,
    createdAt: report.createdAt,
    metric: report.metric,
    metricLabel,
    dense: report.dense?.accuracy ?? null,
    evaluation,
    facts,
    notes: Array.isArray(report.notes) ? report.notes.filter((n) => typeof n === 'string') : [],
    rows: viewRows(report.rows),
    chart: chartData(report.rows, report.dense?.accuracy ?? null),
  };
}

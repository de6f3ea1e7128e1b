/**
 * "Use this one": a comparison row's recipe and the comparison's shared budget and data as sparsify form values,
 * plus what the form cannot express (said to the user, never silently dropped). Pure: no vscode import.
 */
import * as path from 'path';
import type { CompareConfig, CompareRow } from '../../core/compare/compareReport';
import { RUN_DEFAULTS } from '../../core/sparsify/defaults';
import type { DataSpec } from '../../core/sparsify/options';
import type { SparsifyFormValues } from '../../protocol/messages';
import { PREPROCESS_PRESETS } from '../../protocol/preprocessing';
import { methodName } from './compareView';

export interface RecipeFormResult {
  values: SparsifyFormValues;
  /** Differences between the comparison's runs and what the form will run, one sentence each. */
  caveats: string[];
  /** "2:4 MaxQ · fine-tune, default schedule (linear 0→1)". */
  title: string;
}

/** A data path as the report names it, made absolute against the report's folder (where `maxq compare` usually ran). */
export function dataPathResolver(reportPath: string, exists: (p: string) => boolean): (p: string) => string {
  const dir = path.dirname(reportPath);
  return (p) => {
    if (path.isAbsolute(p)) return p;
    const near = path.resolve(dir, p);
    return exists(near) ? near : p;
  };
}

function applyData(v: SparsifyFormValues, data: DataSpec | undefined, resolve: (p: string) => string, caveats: string[]): void {
  if (!data || data.kind === 'none') return;
  if (data.kind === 'mnist-demo') {
    v.dataKind = 'mnist-demo';
    return;
  }
  if (data.normalize) {
    // A preset (by name or by its string) shows as that preset; anything else as the custom fields.
    const preset = PREPROCESS_PRESETS.find((p) => p.name === data.normalize!.trim().toLowerCase() || p.normalize === data.normalize!.replace(/\s+/g, ''));
    if (preset) {
      v.preprocess = preset.name;
    } else {
      const [scale, mean, std] = data.normalize.split(',');
      if (std === undefined) caveats.push(`The comparison normalised inputs with ${data.normalize}, which the form cannot show; choose the preprocessing before running.`);
      else Object.assign(v, { preprocess: 'custom', customScale: scale.trim(), customMean: mean.trim(), customStd: std.trim() });
    }
  }
  // Without its own validation data the comparison held out the run default's share, as the form's hold-out does.
  v.valKind = 'holdout';
  v.valPercent = Math.round(RUN_DEFAULTS.valFraction * 100);
  if (data.kind === 'npy') {
    v.npyInputs = resolve(data.inputs);
    if (data.labels) {
      v.dataKind = 'npy';
      v.npyLabels = resolve(data.labels);
    } else {
      v.dataKind = 'distil';
      v.npyLabels = '';
    }
    if (data.valInputs) {
      v.valKind = 'separate';
      v.valInputs = resolve(data.valInputs);
      v.valLabels = data.valLabels ? resolve(data.valLabels) : '';
    }
    return;
  }
  v.dataKind = 'images';
  v.imagesDir = resolve(data.dir);
  if (data.valDir) {
    v.valKind = 'separate';
    v.valDir = resolve(data.valDir);
  }
}

/**
 * `base` is the form's own defaults for the model (settings, data kind from its input shape); the row's recipe and
 * the comparison's budget, data and layer selection replace what they define.
 */
export function recipeFormValues(base: SparsifyFormValues, row: CompareRow, config: CompareConfig, resolveDataPath: (p: string) => string = (p) => p): RecipeFormResult {
  const r = row.recipe;
  const b = config.budget;
  const v: SparsifyFormValues = { ...base, include: [...base.include], exclude: [...base.exclude] };
  const caveats: string[] = [];
  v.pattern = r.pattern;
  v.method = r.method;
  v.epochs = r.epochs;
  if (r.epochs > 0) {
    v.schedule = r.schedule ?? 'linear';
    v.decayStart = r.decayStart ?? 0;
    v.decayEnd = r.decayEnd ?? 0;
    v.optimizer = b.optimizer;
    v.lr = b.lr;
    const differs: string[] = [];
    if (b.momentum !== RUN_DEFAULTS.momentum) differs.push(`momentum ${b.momentum} (the run uses ${RUN_DEFAULTS.momentum})`);
    if (b.weightDecay !== RUN_DEFAULTS.weightDecay) differs.push(`weight decay ${b.weightDecay} (the run uses ${RUN_DEFAULTS.weightDecay})`);
    if (b.labelSmoothing !== 0) differs.push(`label smoothing ${b.labelSmoothing} (the run uses none)`);
    if (b.scheduleGranularity !== 'step') differs.push(`the schedule stepped per ${b.scheduleGranularity} (the run steps it per step)`);
    if (differs.length) caveats.push(`The form cannot set ${differs.join(', ')}; use \`maxq sparsify\` for an exact replay.`);
  } else {
    v.bnRecalibrate = r.bnRecalibrate !== false && r.bnRecalibrate !== undefined;
    if (typeof r.bnRecalibrate === 'number' && r.bnRecalibrate !== RUN_DEFAULTS.bnBatches) {
      caveats.push(`The comparison re-estimated BN over ${r.bnRecalibrate} batches; the form's run uses the default ${RUN_DEFAULTS.bnBatches}.`);
    }
  }
  // Batch size also sets the BN re-estimation and evaluation batches of one-shot runs.
  v.batchSize = b.batchSize;
  applyData(v, config.data, resolveDataPath, caveats);
  v.include = config.include ? [...config.include] : [];
  v.exclude = config.exclude ? [...config.exclude] : [];
  return { values: v, caveats, title: `${row.pattern} ${methodName(row.method)} · ${row.label}` };
}

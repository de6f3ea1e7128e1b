/**
 * `maxq validate` and the validation view: does every layer the policy selects really follow N:M along its
 * input-channel axis, where exactly does it fail, and (optionally) does the model still compute what its
 * dense reference computes.
 */
import { OnnxModel } from '../onnx/onnxModel';
import { discoverLayers } from '../layers/layerDiscovery';
import { loadLayerWeight } from '../layers/layerWeights';
import { NmPattern } from '../masks/nmPattern';
import { layerNmStats } from './nmCheck';
import type { CanonicalWeight } from '../masks/canonicalWeight';
import { LayerValidation, ValidationReport } from '../types';
import { inputError } from '../errors';
import type { DataSpec } from '../sparsify/options';
import { modelMetadata } from '../sparsify/modelPreprocessing';

export interface ValidateOptions {
  /** "N:M" to check; omitted = detect the tightest N:M of each layer (M in 4, 8, 16). */
  pattern?: string;
  include?: string[];
  exclude?: string[];
  /** Dense source model for the numeric check. */
  reference?: string;
  /** .npy inputs for the numeric check (random inputs otherwise). */
  inputs?: string;
  /**
   * Preprocessing of `inputs` (`SCALE,MEAN,STD` or a preset name); absent = the model's `maxq.preprocessing`
   * metadata when it has one (a model a run wrote), else the inputs as stored.
   */
  normalize?: string;
  /** How many `inputs` rows the numeric check runs (default 256), or 'all'. */
  samples?: number | 'all';
  maxListed?: number;
  threads?: number;
  /**
   * Re-estimate the BN statistics first (on `data`, or the data of the run record beside the model) into
   * `<name>.bn.onnx`, then check that copy.
   */
  bnRecalibrate?: boolean;
  data?: DataSpec;
}

export async function validateLoadedModel(model: OnnxModel, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const pattern = opts.pattern ? NmPattern.parse(opts.pattern) : null;
  const layers = discoverLayers(model, { m: pattern?.m, include: opts.include, exclude: opts.exclude });
  const results: LayerValidation[] = [];
  // Read-only: the checks never change the weight, so it may be a view on the file's bytes (no copy). The next
  // selected layer is read while this one is checked, so the (positioned) reads overlap the counting.
  // Weights left in the file (OnnxModel.open) are read into two buffers used in turn (this layer's and the
  // next one's), not a fresh allocation per layer.
  const largest = Math.max(0, ...layers.filter((l) => l.selected).map((l) => l.storageShape.reduce((a, b) => a * b, 1)));
  const scratch = model.isLazy ? [new ArrayBuffer(4 * largest), new ArrayBuffer(4 * largest)] : undefined;
  let turn = 0;
  const load = (i: number) => {
    const next = layers.findIndex((l, k) => k >= i && l.selected);
    if (next < 0) return undefined;
    const p = loadLayerWeight(model, layers[next], { readOnly: true, scratch: scratch?.[turn++ % 2] });
    p.catch(() => undefined); // awaited (and reported) in turn below
    return { index: next, weight: p };
  };
  let ahead: { index: number; weight: Promise<CanonicalWeight> } | undefined = load(0);
  for (let li = 0; li < layers.length; li++) {
    const layer = layers[li];
    if (!layer.selected) {
      results.push({ name: layer.name, op: layer.op, status: 'skipped', reason: layer.reason });
      continue;
    }
    const w = await (ahead as { weight: Promise<CanonicalWeight> }).weight;
    ahead = load(li + 1);
    const stats = layerNmStats(w, pattern, opts.maxListed ?? 10);
    const detected = stats.detected;
    const base = { name: layer.name, op: layer.op, detected, zeroFraction: stats.zeroFraction };
    if (pattern) {
      const check = stats.check as NonNullable<typeof stats.check>;
      results.push({
        ...base, status: check.pass ? 'pass' : 'fail', n: pattern.n, m: pattern.m, totalGroups: check.totalGroups,
        violatingGroups: check.violatingGroups, firstViolations: check.firstViolations,
      });
    } else {
      results.push({ ...base, status: detected ? 'pass' : 'fail', n: detected?.n, m: detected?.m });
    }
  }
  const report: ValidationReport = {
    file: model.path,
    pattern: pattern ? pattern.toString() : null,
    pass: results.every((r) => r.status !== 'fail'),
    layers: results,
  };
  if (opts.reference) {
    const recorded = modelMetadata(model)['maxq.preprocessing'];
    const normalize = !opts.inputs ? undefined
      : opts.normalize !== undefined ? { spec: opts.normalize, from: 'option' as const }
      : recorded ? { spec: recorded, from: 'model metadata' as const } : undefined;
    // Loaded on demand: the numeric check needs onnxruntime, which the pattern check does not.
    const { numericCheck } = await import('./numericCheck');
    report.numeric = await numericCheck(model.path, opts.reference, { inputs: opts.inputs, threads: opts.threads, normalize, limit: opts.samples });
  }
  return report;
}

/** The model's metadata_props as a record (kept here too for existing callers). */
export { modelMetadata };

/** `<dir>/<name>.bn.onnx`: where the validation view's re-estimated copy goes. */
export function bnCopyPath(modelPath: string): string {
  return modelPath.replace(/(\.onnx)?$/i, '.bn.onnx');
}

export async function validateModel(path: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
  // open(): the weights stay in the file and are read layer by layer, so memory stays near one layer.
  if (!opts.bnRecalibrate) return validateLoadedModel(await OnnxModel.open(path), opts);
  const { dataOfRun } = await import('../sparsify/runRecord');
  const { reestimateModelFile } = await import('../bn/reestimateModelFile');
  const data = opts.data ?? dataOfRun(path);
  if (!data) throw inputError(path, 'BN re-estimation needs data: this model has no run record naming its data (sparsify it with data, or use `maxq bn-recalibrate` with --inputs, --images or --mnist-demo)');
  const out = bnCopyPath(path);
  const r = await reestimateModelFile(path, { data, out, overwrite: true, reference: opts.reference, threads: opts.threads });
  const report = await validateLoadedModel(await OnnxModel.open(out), { ...opts, bnRecalibrate: false });
  report.bnRecalibration = { source: path, ...r };
  return report;
}

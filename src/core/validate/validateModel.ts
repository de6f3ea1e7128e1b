/**
 * `maxq validate` and the validation view: does every layer the policy selects really follow N:M along its
 * input-channel axis, where exactly does it fail, and (optionally) does the model still compute what its
 * dense reference computes.
 */
import { OnnxModel } from '../onnx/onnxModel';
import { discoverLayers } from '../layers/layerDiscovery';
import { loadLayerWeight } from '../layers/layerWeights';
import { NmPattern } from '../masks/nmPattern';
import { checkNm, detectTightestNm, zeroFraction } from './nmCheck';
import { LayerValidation, ValidationReport } from '../types';
import { numericCheck } from './numericCheck';

export interface ValidateOptions {
  /** "N:M" to check; omitted = detect the tightest N:M of each layer (M in 4, 8, 16). */
  pattern?: string;
  include?: string[];
  exclude?: string[];
  /** Dense source model for the numeric check. */
  reference?: string;
  /** .npy inputs for the numeric check (random inputs otherwise). */
  inputs?: string;
  maxListed?: number;
  threads?: number;
}

export async function validateLoadedModel(model: OnnxModel, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const pattern = opts.pattern ? NmPattern.parse(opts.pattern) : null;
  const layers = discoverLayers(model, { m: pattern?.m, include: opts.include, exclude: opts.exclude });
  const results: LayerValidation[] = [];
  for (const layer of layers) {
    if (!layer.selected) {
      results.push({ name: layer.name, op: layer.op, status: 'skipped', reason: layer.reason });
      continue;
    }
    const w = await loadLayerWeight(model, layer);
    const detected = detectTightestNm(w);
    const base = { name: layer.name, op: layer.op, detected, zeroFraction: zeroFraction(w.data) };
    if (pattern) {
      const check = checkNm(w, pattern, opts.maxListed ?? 10);
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
  if (opts.reference) report.numeric = await numericCheck(model.path, opts.reference, { inputs: opts.inputs, threads: opts.threads });
  return report;
}

export async function validateModel(path: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
  return validateLoadedModel(await OnnxModel.load(path), opts);
}

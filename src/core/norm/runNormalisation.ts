/**
 * The run normalisation end to end: measure each BN-free layer's output statistics on the dense model (so the
 * inserted normalisation is the identity there), and fold the normalisation — re-estimated after one-shot
 * pruning or trained during a fine-tune — back into the layer's weight and bias.
 */
import { Dataset } from '../data/dataset';
import { OnnxModel } from '../onnx/onnxModel';
import { recalibrateBatchNorm } from '../bn/bnRecalibration';
import { NormSite } from './normSites';
import { identityValues, NormValues } from './insertNormalisation';
import { foldNormalisation } from './foldNormalisation';

export interface MeasureOptions {
  batches: number;
  batchSize: number;
  seed?: number;
  threads?: number;
  signal?: AbortSignal;
}

/** Per site, the normalisation that is the identity on the dense model's activations over `data`. */
export async function denseIdentityNormalisation(model: OnnxModel, sites: readonly NormSite[], data: Dataset, opts: MeasureOptions): Promise<Map<string, NormValues>> {
  const r = await recalibrateBatchNorm(model, new Map(), data, { ...opts, insert: { sites } });
  return new Map(sites.map((s) => {
    const stats = r.inserted.get(s.layer);
    if (!stats) throw new Error(`internal: no statistics measured for ${s.layer}`);
    return [s.layer, identityValues(stats, s.epsilon)];
  }));
}

/** The dense-identity normalisation with its running statistics replaced by those measured on the pruned model. */
export function withStatistics(values: NormValues, stats: { mean: Float32Array; variance: Float32Array }): NormValues {
  return { scale: values.scale, shift: values.shift, mean: stats.mean, variance: stats.variance };
}

/**
 * Folds each site's normalisation into `edits` (source tensor → values, stored layout): the layer's weight and
 * bias are replaced by the folded ones. Tensors not yet in `edits` are read from the model.
 */
export async function foldIntoEdits(model: OnnxModel, sites: readonly NormSite[], edits: Map<string, Float32Array>, values: ReadonlyMap<string, NormValues>): Promise<void> {
  for (const site of sites) {
    const v = values.get(site.layer);
    if (!v) throw new Error(`internal: no normalisation values for ${site.layer}`);
    const weight = edits.get(site.layer) ?? (await model.readFloat32(site.layer));
    const bias = edits.get(site.bias) ?? (await model.readFloat32(site.bias));
    const f = foldNormalisation(site, weight, bias, v);
    edits.set(site.layer, f.weight);
    edits.set(site.bias, f.bias);
  }
}

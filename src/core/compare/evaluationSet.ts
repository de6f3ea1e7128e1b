/**
 * Which samples a comparison's accuracies are measured on, found before any run starts (so bad data fails in
 * seconds, not after the first runs). The one-shot runs evaluate on the validation data, or on every sample when
 * none is given; the fine-tunes on the validation data, or on a seeded hold-out of each run's seed. Without labels
 * the number is agreement with the dense model's predictions, not accuracy.
 */
import { usageError } from '../errors';
import { Dataset } from '../data/dataset';
import { OnnxModel } from '../onnx/onnxModel';
import { RUN_DEFAULTS } from '../sparsify/defaults';
import { openRunData } from '../sparsify/runData';
import { DataSpec } from '../sparsify/options';

export type CompareMetric = 'accuracy' | 'agreement';

export interface EvaluationSet {
  /** 'agreement': share of samples where the sparse model's top-1 matches the dense model's (no labels). */
  metric: CompareMetric;
  /** What the one-shot runs are measured on. */
  oneShot: string;
  /** What the fine-tunes are measured on (null when the comparison has no fine-tunes). */
  fineTune: string | null;
  /** True when every run is measured on the very same samples. */
  sameForAllRuns: boolean;
}

function samples(d: Dataset): string {
  return `${d.count} sample${d.count === 1 ? '' : 's'} of ${d.source}`;
}

export function describeEvaluation(model: OnnxModel, data: DataSpec, epochs: number, seed: number, batchSize: number): EvaluationSet {
  const oneShotData = openRunData(model, data, 0, seed);
  if (!oneShotData) throw usageError('compare needs data: give --inputs, --images or --mnist-demo');
  let oneShot: string, fixedVal: boolean, metric: CompareMetric;
  try {
    const evalData = oneShotData.val ?? oneShotData.train;
    metric = evalData.hasLabels ? 'accuracy' : 'agreement';
    fixedVal = oneShotData.val !== null;
    oneShot = fixedVal ? `validation data: ${samples(evalData)}` : `every sample: ${samples(evalData)}`;
  } finally {
    oneShotData.close();
  }
  if (epochs === 0) return { metric, oneShot, fineTune: null, sameForAllRuns: true };
  const fineTuneData = openRunData(model, data, RUN_DEFAULTS.valFraction, seed)!;
  try {
    const { train, val } = fineTuneData;
    if (train.count < batchSize) throw usageError(`fine-tuning trains on ${samples(train)}, fewer than one batch of ${batchSize}; lower --batch`);
    const fineTune = fixedVal
      ? oneShot
      : `a ${Math.round(RUN_DEFAULTS.valFraction * 100)} % hold-out drawn with each run's seed (${val!.count} of ${train.count + val!.count} samples of ${train.source}), trained on the rest`;
    return { metric, oneShot, fineTune, sameForAllRuns: fixedVal };
  } finally {
    fineTuneData.close();
  }
}

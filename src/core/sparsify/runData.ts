/** The data side of a run: the model's I/O as the data loaders need it, and opening the run's data. */
import { OnnxModel } from '../onnx/onnxModel';
import * as path from 'path';
import { ModelIo, openData, OpenedData } from '../data/open';
import { SubsetDataset } from '../data/split';
import { classCount, declaredDims } from '../runtime/classifierOutput';
import { DataSpec } from './options';

export function modelIo(model: OnnxModel): ModelIo {
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name));
  const input = (model.graph.input ?? []).find((i) => !initializers.has(i.name));
  // K of class scores [N, K] or [N, K, 1, 1]; null for anything else (a segmentation map's last dim is its width).
  return { inputShape: declaredDims(input), numClasses: classCount(declaredDims(model.graph.output?.[0])) };
}

export function openRunData(model: OnnxModel, spec: DataSpec | undefined, valFraction: number, seed: number): OpenedData | null {
  if (!spec || spec.kind === 'none') return null;
  return openData(spec, modelIo(model), { valFraction, seed });
}

/** "10", "12.5": a share in percent, as run messages print it. */
function percent(fraction: number): string {
  return String(Number((fraction * 100).toFixed(2)));
}

/**
 * What a run evaluates on, for the 'dense evaluation' phase: "hold-out 10 % of x.npy (800 samples)", "val.npy
 * (1000 samples)", or the training data itself ("x.npy (training data, 8000 samples)") when nothing is held out.
 */
export function evaluationSource(data: OpenedData, valFraction: number): string {
  const { train, val } = data;
  const samples = (n: number) => `${n} sample${n === 1 ? '' : 's'}`;
  if (val instanceof SubsetDataset && train instanceof SubsetDataset && val.base === train.base) {
    return `hold-out ${percent(valFraction)} % of ${path.basename(val.source)} (${samples(val.count)})`;
  }
  if (val) return `${val.source} (${samples(val.count)})`;
  return `${train.source} (training data, ${samples(train.count)})`;
}

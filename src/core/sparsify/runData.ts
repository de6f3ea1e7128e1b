/** The data side of a run: the model's I/O as the data loaders need it, and opening the run's data. */
import { onnx } from '../onnx/proto';
import { OnnxModel } from '../onnx/onnxModel';
import { ModelIo, openData, OpenedData } from '../data/open';
import { DataSpec } from './options';

function dims(v: onnx.IValueInfoProto | undefined): (number | string)[] {
  return (v?.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? Number(d.dimValue) : '?'));
}

export function modelIo(model: OnnxModel): ModelIo {
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name));
  const input = (model.graph.input ?? []).find((i) => !initializers.has(i.name));
  const out = dims(model.graph.output?.[0]);
  const k = out[out.length - 1];
  return { inputShape: dims(input), numClasses: typeof k === 'number' && k > 0 ? k : null };
}

export function openRunData(model: OnnxModel, spec: DataSpec | undefined, valFraction: number, seed: number): OpenedData | null {
  if (!spec || spec.kind === 'none') return null;
  return openData(spec, modelIo(model), { valFraction, seed });
}

/** `maxq inspect` and the inspector's layer table: a model's I/O, size and its layers with eligibility. */
import { OnnxModel } from './onnx/onnxModel';
import { dataTypeName, onnx } from './onnx/proto';
import { discoverLayers, linearFallbackNote } from './layers/layerDiscovery';
import { NmPattern } from './masks/nmPattern';
import { ModelSummary } from './types';
import { batchNormSummary, markBnAfter } from './norm/normSites';

export interface InspectOptions {
  pattern?: string;
  include?: string[];
  exclude?: string[];
}

function shapeOf(v: onnx.IValueInfoProto): (number | string)[] {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  return dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? Number(d.dimValue) : '?'));
}

export function summarizeModel(model: OnnxModel, opts: InspectOptions = {}): ModelSummary {
  const m = opts.pattern ? NmPattern.parse(opts.pattern).m : undefined;
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name));
  const io = (v: onnx.IValueInfoProto) => ({
    name: v.name ?? '',
    shape: shapeOf(v),
    dtype: dataTypeName(v.type?.tensorType?.elemType ?? 0),
  });
  const layers = discoverLayers(model, { m, include: opts.include, exclude: opts.exclude });
  markBnAfter(model, layers);
  return {
    file: model.path,
    irVersion: Number(model.model.irVersion ?? 0),
    opset: model.opset(''),
    producer: [model.model.producerName, model.model.producerVersion].filter(Boolean).join(' '),
    inputs: (model.graph.input ?? []).filter((i) => !initializers.has(i.name)).map(io),
    outputs: (model.graph.output ?? []).map(io),
    nodeCount: model.nodes.length,
    paramCount: model.paramCount,
    hasExternalData: model.hasExternalData,
    layers,
    batchNorm: batchNormSummary(model, layers),
    selectionNote: linearFallbackNote(layers),
  };
}

export async function inspectModel(path: string, opts: InspectOptions = {}): Promise<ModelSummary> {
  // open(): shapes and graph only; no tensor byte is read.
  return summarizeModel(await OnnxModel.open(path), opts);
}

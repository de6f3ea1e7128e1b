/**
 * Shapes by execution, for the nodes the training-graph generator has no shape rule for. Real exports carry
 * whole sub-graphs that compute integers and booleans (Swin's window masks: Range, Mod, Equal, Not …) or that
 * no parameter reaches; they need no gradient, only their output shapes. Running the forward model once at
 * the training batch size with those tensors as extra outputs gives their dims, dtypes and small values, so
 * the generator can keep them in the forward graph (or fold them when every input is a constant) instead of
 * refusing the model.
 */
import { onnx, DataType } from '../onnx/proto';
import { createSession, ort } from '../runtime/ortSession';
import { findParamCandidates, prepareForward } from './graph/prepare';
import { resolveDataInput } from './graph/trainingGraph';
import { MAX_CONST_VALUE, TensorInfo } from './graph/shapes';

const ORT_DTYPES: Record<string, number> = {
  float32: DataType.FLOAT, float64: DataType.DOUBLE, float16: DataType.FLOAT16, int64: DataType.INT64, int32: DataType.INT32,
  int8: DataType.INT8, uint8: DataType.UINT8, bool: DataType.BOOL, int16: DataType.INT16, uint16: DataType.UINT16,
};

export interface ObserveOptions {
  batchSize: number;
  inputShape?: readonly number[];
  inputName?: string;
  threads?: number;
  file?: string;
}

/** Observed infos of the outputs of every node without a shape rule; an empty map when there are none. */
export async function observeShapes(model: onnx.IModelProto, o: ObserveOptions): Promise<Map<string, TensorInfo>> {
  const observed = new Map<string, TensorInfo>();
  const input = resolveDataInput(model, o.batchSize, o.inputShape, o.inputName, o.file);
  const prep = prepareForward(model, { inputDims: new Map([[input.name, input.dims]]), lift: findParamCandidates(model), bnStats: false, file: o.file });
  const wanted = [...new Set(prep.unsupported.flatMap((n) => (n.output ?? []).filter(Boolean)))];
  if (wanted.length === 0) return observed;
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model as onnx.ModelProto).finish());
  const graph = copy.graph as onnx.GraphProto;
  // Run at the training batch size: the batch dimension becomes symbolic, stale intermediate shapes go.
  const vi = graph.input.find((x) => x.name === input.name);
  const dim0 = vi?.type?.tensorType?.shape?.dim?.[0];
  if (dim0) {
    dim0.dimValue = undefined as unknown as number;
    dim0.dimParam = 'batch';
  }
  graph.valueInfo = [];
  for (const out of graph.output) if (out.type?.tensorType?.shape) out.type.tensorType.shape = null;
  const have = new Set(graph.output.map((x) => x.name));
  for (const name of wanted) if (!have.has(name)) graph.output.push(onnx.ValueInfoProto.create({ name }));
  const session = await createSession(onnx.ModelProto.encode(copy).finish(), `${o.file ?? 'model'} (shape observation)`, { threads: o.threads });
  try {
    const n = input.dims.reduce((a, b) => a * b, 1);
    const out = await session.run({ [input.name]: new ort.Tensor('float32', new Float32Array(n), input.dims) }, wanted);
    for (const name of wanted) {
      const t = out[name];
      if (!t) continue;
      const dtype = ORT_DTYPES[t.type] ?? DataType.UNDEFINED;
      const small = t.data.length <= MAX_CONST_VALUE && dtype !== DataType.UNDEFINED && typeof t.data !== 'string';
      const value = small ? Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v)) : undefined;
      observed.set(name, { dims: [...t.dims], dtype, value });
    }
  } finally {
    await session.release();
  }
  return observed;
}

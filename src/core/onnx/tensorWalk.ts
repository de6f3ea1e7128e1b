/**
 * Every TensorProto in a model, wherever it sits: initializers, sparse initializers, Constant and other
 * tensor attributes, and the same inside subgraphs (If/Loop/Scan bodies), functions and training info.
 * Needed to find all external data a model references, not just its top-level weights.
 */
import { onnx } from './proto';

type Visit = (t: onnx.ITensorProto) => void;

function walkAttribute(a: onnx.IAttributeProto, visit: Visit): void {
  if (a.t) visit(a.t);
  for (const t of a.tensors ?? []) visit(t);
  if (a.sparseTensor) walkSparse(a.sparseTensor, visit);
  for (const s of a.sparseTensors ?? []) walkSparse(s, visit);
  if (a.g) walkGraph(a.g, visit);
  for (const g of a.graphs ?? []) walkGraph(g, visit);
}

function walkSparse(s: onnx.ISparseTensorProto, visit: Visit): void {
  if (s.values) visit(s.values);
  if (s.indices) visit(s.indices);
}

function walkNodes(nodes: onnx.INodeProto[] | null | undefined, visit: Visit): void {
  for (const n of nodes ?? []) for (const a of n.attribute ?? []) walkAttribute(a, visit);
}

export function walkGraph(g: onnx.IGraphProto, visit: Visit): void {
  for (const t of g.initializer ?? []) visit(t);
  for (const s of g.sparseInitializer ?? []) walkSparse(s, visit);
  walkNodes(g.node, visit);
}

export function forEachTensor(model: onnx.IModelProto, visit: Visit): void {
  if (model.graph) walkGraph(model.graph, visit);
  for (const f of model.functions ?? []) walkNodes(f.node, visit);
  for (const ti of model.trainingInfo ?? []) {
    if (ti.initialization) walkGraph(ti.initialization, visit);
    if (ti.algorithm) walkGraph(ti.algorithm, visit);
  }
}

export function isExternal(t: onnx.ITensorProto): boolean {
  return t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
}

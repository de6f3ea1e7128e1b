/**
 * Folds every Conv/Gemm → BatchNormalization pair into the layer, as `torch.onnx.export` does in eval mode:
 * W'[o] = W[o]·γ/√(σ² + ε), b'[o] = (b[o] − μ[o])·γ/√(σ² + ε) + β; the BN node goes and the layer writes its
 * output. Used to make BN-free copies of models (the tests' BN-folded demo CNN, `maxq fold-bn`), so what
 * users right-click can be reproduced from a model that still has its BatchNorm.
 */
import { OnnxModel } from './onnxModel';
import { floatTensor } from './builder';
import { DataType, onnx } from './proto';
import { floatAttr, nodeLabel } from './nodeAttributes';
import { inputError } from '../errors';

export interface FoldBatchNormResult {
  bytes: Uint8Array;
  /** BN nodes folded, as `layer ← bn`. */
  folded: string[];
  /** BN nodes left (no foldable layer before them), with why. */
  kept: { node: string; reason: string }[];
}

function initializerOf(model: OnnxModel, name: string | undefined): boolean {
  return !!name && model.tensorInfo(name)?.source === 'initializer' && model.tensorInfo(name)?.dataType === DataType.FLOAT;
}

export async function foldBatchNorm(model: OnnxModel): Promise<FoldBatchNormResult> {
  const proto = onnx.ModelProto.decode(model.bytes);
  const graph = proto.graph as onnx.GraphProto;
  const inits = new Map((graph.initializer as onnx.TensorProto[]).map((t) => [t.name, t]));
  const folded: string[] = [];
  const kept: { node: string; reason: string }[] = [];
  const drop = new Set<onnx.NodeProto>();
  for (const bn of graph.node as onnx.NodeProto[]) {
    if (bn.opType !== 'BatchNormalization') continue;
    const label = nodeLabel(bn);
    const layer = (graph.node as onnx.NodeProto[]).find((n) => n.output[0] === bn.input[0]);
    const why = !layer ? 'not after a layer'
      : layer.opType !== 'Conv' && !(layer.opType === 'Gemm' && floatAttr(layer, 'alpha', 1) === 1 && floatAttr(layer, 'beta', 1) === 1) ? `after ${layer.opType}`
      : model.consumersOf(bn.input[0]).length !== 1 ? 'the layer output has other consumers'
      : bn.output.length > 1 && bn.output.slice(1).some(Boolean) ? 'training-mode outputs are used'
      : ![layer.input[1], ...bn.input.slice(1, 5)].every((t) => initializerOf(model, t)) ? 'weights or statistics are not float32 initializers'
      : layer.input[2] && !initializerOf(model, layer.input[2]) ? 'the layer bias is not a float32 initializer'
      : model.nodes.filter((n) => n.input?.includes(layer.input[1])).length > 1 ? 'the layer weight is shared'
      : undefined;
    if (why || !layer) {
      kept.push({ node: label, reason: why ?? 'no layer' });
      continue;
    }
    const [gamma, beta, mean, variance] = await Promise.all(bn.input.slice(1, 5).map((t) => model.readFloat32(t)));
    const eps = floatAttr(bn, 'epsilon', 1e-5);
    const C = gamma.length;
    const w = await model.readFloat32(layer.input[1]);
    const b = layer.input[2] ? await model.readFloat32(layer.input[2]) : new Float32Array(C);
    const transB = layer.opType === 'Gemm' && (layer.attribute ?? []).some((a) => a.name === 'transB' && Number(a.i) === 1);
    const wOut = new Float32Array(w.length);
    const bOut = new Float32Array(C);
    for (let o = 0; o < C; o++) {
      const s = gamma[o] / Math.sqrt(variance[o] + eps);
      bOut[o] = (b[o] - mean[o]) * s + beta[o];
    }
    const per = w.length / C;
    for (let i = 0; i < w.length; i++) {
      const o = layer.opType === 'Gemm' && !transB ? i % C : Math.floor(i / per);
      wOut[i] = w[i] * (gamma[o] / Math.sqrt(variance[o] + eps));
    }
    const wInit = inits.get(layer.input[1]) as onnx.TensorProto;
    Object.assign(wInit, onnx.TensorProto.create(floatTensor(wInit.name, wInit.dims.map(Number), wOut)));
    let biasName = layer.input[2];
    if (biasName && model.nodes.filter((n) => n.input?.includes(biasName)).length > 1) biasName = '';
    if (biasName) {
      const bInit = inits.get(biasName) as onnx.TensorProto;
      Object.assign(bInit, onnx.TensorProto.create(floatTensor(biasName, [C], bOut)));
    } else {
      biasName = `${layer.name || layer.output[0]}.bias`;
      while (inits.has(biasName)) biasName += '_';
      const t = onnx.TensorProto.create(floatTensor(biasName, [C], bOut));
      graph.initializer.push(t);
      inits.set(biasName, t);
      layer.input = [layer.input[0], layer.input[1], biasName];
    }
    layer.output[0] = bn.output[0];
    drop.add(bn);
    folded.push(`${nodeLabel(layer)} ← ${label}`);
  }
  if (folded.length === 0 && kept.length === 0) throw inputError(model.path, 'has no BatchNormalization node to fold');
  graph.node = (graph.node as onnx.NodeProto[]).filter((n) => !drop.has(n));
  // The BN parameters are unused now.
  const used = new Set((graph.node as onnx.NodeProto[]).flatMap((n) => n.input));
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  const removed = new Set((graph.initializer as onnx.TensorProto[]).filter((t) => !used.has(t.name) && !outputs.has(t.name)).map((t) => t.name));
  graph.initializer = (graph.initializer as onnx.TensorProto[]).filter((t) => !removed.has(t.name));
  graph.input = (graph.input as onnx.ValueInfoProto[]).filter((i) => !removed.has(i.name));
  return { bytes: onnx.ModelProto.encode(proto).finish(), folded, kept };
}

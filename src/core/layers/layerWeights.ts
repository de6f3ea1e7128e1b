/**
 * Moves a layer's weight between the model and the canonical OIHW view the masks work on:
 * read (resolve through Identity/Cast/Transpose/DequantizeLinear, transpose [in,out] storage) and back
 * (undo the transpose, then the resolver's chain) so the writer can store it in the source tensor.
 */
import { OnnxModel } from '../onnx/onnxModel';
import { readResolvedFloat32, resolveWeight, toSourceLayout } from '../onnx/weightResolver';
import { inputError } from '../errors';
import { nodeLabel } from '../onnx/nodeAttributes';
import { CanonicalWeight } from '../masks/canonicalWeight';
import { fromCanonical, toCanonical } from '../masks/layout';
import { LayerInfo } from '../types';

export function findLayer(layers: LayerInfo[], name: string, file?: string): LayerInfo {
  const layer = layers.find((l) => l.name === name || l.nodeName === name);
  if (!layer) throw inputError(file, `no layer named '${name}'`);
  return layer;
}

function resolved(model: OnnxModel, layer: LayerInfo) {
  const node = model.nodes.find((n) => nodeLabel(n) === layer.nodeName);
  const weightInput = node?.input?.[1];
  const r = weightInput ? resolveWeight(model, weightInput) : undefined;
  if (!r) throw inputError(model.path, `layer '${layer.name}': weight is not a constant initializer`);
  return r;
}

export async function loadLayerWeight(model: OnnxModel, layer: LayerInfo): Promise<CanonicalWeight> {
  const r = resolved(model, layer);
  const consumerView = await readResolvedFloat32(model, r);
  const [O, I, Kh, Kw] = layer.canonicalShape;
  const data = layer.storageTransposed ? toCanonical(consumerView, [I, O], true) : consumerView;
  return { data, O, I, Kh, Kw };
}

/** Canonical values → values in the source tensor's own layout, ready for writeModel's edit map. */
export function canonicalToSource(model: OnnxModel, layer: LayerInfo, canonical: Float32Array): Float32Array {
  const r = resolved(model, layer);
  const [O, I] = layer.canonicalShape;
  const consumerView = layer.storageTransposed ? fromCanonical(canonical, [I, O], true) : canonical;
  return toSourceLayout(r, consumerView);
}

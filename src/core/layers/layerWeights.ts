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

/**
 * The layer's weight in canonical OIHW float32. With `readOnly` (checks, masks) the values may be a view on the
 * model's file buffer, so they must not be changed; without it they are the caller's own copy. `scratch` (with
 * `readOnly`, models from `OnnxModel.open`): a buffer reused across layers that a float32 weight is read into.
 */
export async function loadLayerWeight(model: OnnxModel, layer: LayerInfo, opts: { readOnly?: boolean; scratch?: ArrayBufferLike } = {}): Promise<CanonicalWeight> {
  const r = resolved(model, layer);
  const consumerView = await readResolvedFloat32(model, r, opts);
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

/**
 * A canonical mask (hard 0/1 bytes or soft floats) in the source tensor's layout, same array type. When the
 * layer's weight is stored in canonical order (no [in, out] storage, no Transpose on the way) that is the mask
 * itself, with no copy; otherwise one converting pass (hard masks through float32 only for Transpose chains).
 */
export function maskInSourceLayout<T extends Float32Array | Uint8Array>(model: OnnxModel, layer: LayerInfo, canonical: T): T {
  const r = resolved(model, layer);
  const chainTransposes = r.via.some((s) => s.op === 'Transpose');
  if (!layer.storageTransposed && !chainTransposes) return canonical;
  const [O, I] = layer.canonicalShape;
  if (!chainTransposes) return fromCanonical(canonical, [I, O], true);
  if (canonical instanceof Float32Array) return canonicalToSource(model, layer, canonical) as T;
  return Uint8Array.from(canonicalToSource(model, layer, Float32Array.from(canonical))) as T;
}

/**
 * Masks for every selected layer of a model, in canonical and in storage layout: shared by `maxq masks`,
 * one-shot sparsify and the inspector.
 */
import { OnnxModel } from '../onnx/onnxModel';
import { inputError } from '../errors';
import { discoverLayers } from '../layers/layerDiscovery';
import { canonicalToSource, loadLayerWeight } from '../layers/layerWeights';
import { CanonicalWeight } from '../masks/canonicalWeight';
import { computeLayerMask, LayerMask } from '../masks/layerMask';
import { NmPattern } from '../masks/nmPattern';
import { LayerInfo, MaskMethod } from '../types';

export interface MaskRequest {
  pattern: NmPattern;
  method: MaskMethod;
  denseFraction?: number;
  include?: string[];
  exclude?: string[];
}

export interface ComputedLayerMask {
  layer: LayerInfo;
  weight: CanonicalWeight;
  mask: LayerMask;
}

/** Layers the policy selects; a clear error when there are none (nothing to sparsify is never silent). */
export function selectedLayers(model: OnnxModel, req: Pick<MaskRequest, 'pattern' | 'include' | 'exclude'>): LayerInfo[] {
  const layers = discoverLayers(model, { m: req.pattern.m, include: req.include, exclude: req.exclude });
  const selected = layers.filter((l) => l.selected);
  if (selected.length === 0) {
    // Two words, used the same way everywhere: eligible (N:M can apply) and selected (will be sparsified).
    const eligible = layers.filter((l) => l.eligible);
    if (eligible.length > 0) {
      const why = eligible.map((l) => `${l.name}: ${l.reason}`).slice(0, 4).join('; ');
      throw inputError(model.path, `no layer selected for ${req.pattern}: ${eligible.length} eligible layer${eligible.length === 1 ? ' is' : 's are'} left dense by the policy (${why}); select them with --include`);
    }
    const why = layers.length === 0
      ? 'it has no Conv, Gemm or MatMul layer with a constant weight'
      : layers.map((l) => `${l.name}: ${l.reason}`).slice(0, 6).join('; ');
    throw inputError(model.path, `no eligible layer for ${req.pattern} (${why})`);
  }
  return selected;
}

export async function* computeModelMasks(model: OnnxModel, req: MaskRequest): AsyncGenerator<ComputedLayerMask> {
  for (const layer of selectedLayers(model, req)) {
    const weight = await loadLayerWeight(model, layer);
    const mask = computeLayerMask(weight, req.pattern, req.method, req.denseFraction ?? 0, layer.name);
    yield { layer, weight, mask };
  }
}

/** A mask (hard 0/1 or soft) in the layer's storage layout, flat row-major. */
export function maskToStorage(model: OnnxModel, layer: LayerInfo, canonical: Float32Array | Uint8Array): Float32Array {
  const f = canonical instanceof Float32Array ? canonical : Float32Array.from(canonical);
  return canonicalToSource(model, layer, f);
}

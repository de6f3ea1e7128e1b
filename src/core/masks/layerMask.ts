/**
 * Everything the product computes for one sparsified layer at one step (spec §6): the hard mask H after the
 * schedule and the mask applied in the forward pass, for the three methods.
 * - maxq: S = H ⊙ ((1 + F) + P) (spec §5).
 * - magnitude, srste: S = H as 0/1 floats. SR-STE differs only in training, by the decay term
 *   (`srsteDecay.ts`), so the mask itself is the magnitude mask.
 */
import { usageError } from '../errors';
import { MaskMethod } from '../types';
import { assertCanonicalShape, CanonicalWeight } from './canonicalWeight';
import { blockCount, forceDenseBlocks, numDenseBlocks } from './denseBlocks';
import { hardNmMask } from './hardMask';
import { NmPattern } from './nmPattern';
import { maxqMasks, softMask, topkDropped } from './softMask';
import { MaskWorkspace } from './workspace';

export interface LayerMask {
  /** H after the schedule (dense blocks are all 1), canonical OIHW order. */
  hard: Uint8Array;
  /** The factor applied to the weight in the forward pass: S for maxq, H as 0/1 for magnitude and srste. */
  soft: Float32Array;
  numBlocks: number;
  numDenseBlocks: number;
  /** k of the filter axis (spec §5); reported for every method so callers can show it. */
  filterTopk: number;
  /** k of the kernel-position axis, or null when Kh·Kw = 1. */
  positionTopk: number | null;
}

export interface LayerMaskOptions {
  /** Reuse these output buffers (length = weight length) instead of allocating, e.g. at every training step. */
  hardOut?: Uint8Array;
  softOut?: Float32Array;
  workspace?: MaskWorkspace;
}

const METHODS: readonly MaskMethod[] = ['maxq', 'magnitude', 'srste'];

/** The counts of a `LayerMask` without the masks: pure functions of the shape, the pattern and p. */
export type LayerMaskSummary = Omit<LayerMask, 'hard' | 'soft'>;

export function assertMaskMethod(method: MaskMethod): void {
  if (!METHODS.includes(method)) throw usageError(`unknown mask method '${method}' (use maxq, magnitude or srste)`);
}

export function layerMaskSummary(w: CanonicalWeight, pattern: NmPattern, denseFraction = 0): LayerMaskSummary {
  const numBlocks = blockCount(w, pattern);
  const KK = w.Kh * w.Kw;
  return {
    numBlocks,
    numDenseBlocks: numDenseBlocks(denseFraction, numBlocks),
    filterTopk: topkDropped(pattern.drop, w.I * KK),
    positionTopk: KK > 1 ? topkDropped(pattern.drop, w.O * w.I) : null,
  };
}

/**
 * @param denseFraction p of the schedule (spec §4.1); 0 = every block N:M (export, final evaluation).
 * @param name layer name for error messages.
 */
export function computeLayerMask(
  w: CanonicalWeight,
  pattern: NmPattern,
  method: MaskMethod,
  denseFraction = 0,
  name?: string,
  opts: LayerMaskOptions = {},
): LayerMask {
  assertMaskMethod(method);
  assertCanonicalShape(w, name);
  const summary = layerMaskSummary(w, pattern, denseFraction);
  const numDense = summary.numDenseBlocks;

  let hard: Uint8Array;
  let soft: Float32Array;
  if (method === 'maxq' && numDense === 0) {
    // p = 0 (or p·blocks < 1): H and S in one go.
    ({ hard, soft } = maxqMasks(w, pattern, opts.hardOut, opts.softOut, opts.workspace, name));
  } else {
    // hardNmMask also checks the shape, I % M and finiteness, naming the layer.
    hard = hardNmMask(w, pattern, opts.hardOut, name);
    forceDenseBlocks(w, pattern, hard, denseFraction, opts.workspace);
    if (method === 'maxq') {
      soft = softMask(w, pattern, hard, opts.softOut, opts.workspace).soft;
    } else {
      soft = opts.softOut ?? new Float32Array(hard.length);
      if (soft.length !== hard.length) throw usageError(`soft mask buffer has ${soft.length} entries, weight has ${hard.length}`);
      soft.set(hard); // native u8 → f32 conversion
    }
  }
  return { hard, soft, ...summary };
}

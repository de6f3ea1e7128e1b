/**
 * One sparsified layer during fine-tuning: owns its mask buffers and does MaxQ's per-step work (spec §6):
 * recompute H and S from the current dense W, feed W·S, then add the SR-STE decay to the straight-through
 * gradient. Training runs on the stored layout; linear layers stored [in, out] are transposed to canonical
 * OIHW for the mask and back.
 */
import { inputError } from '../errors';
import { CanonicalWeight } from '../masks/canonicalWeight';
import { computeLayerMask, LayerMask } from '../masks/layerMask';
import { fromCanonical, toCanonical } from '../masks/layout';
import { NmPattern } from '../masks/nmPattern';
import { addSrsteDecay, SRSTE_LAMBDA } from '../masks/srsteDecay';
import { MaskWorkspace } from '../masks/workspace';
import { LayerInfo, MaskMethod } from '../types';

export class SparseLayer {
  /** W·S in the stored layout, fed to the training graph in place of W. */
  readonly effective: Float32Array;
  private readonly hardStored: Uint8Array;
  private readonly softStored: Float32Array;
  private readonly hardOut: Uint8Array;
  private readonly softOut: Float32Array;
  private readonly storedShape: number[];
  last: LayerMask | null = null;

  constructor(
    readonly layer: LayerInfo,
    /** The dense fp32 weight in stored layout, updated in place by the optimizer. */
    readonly weight: Float32Array,
    readonly pattern: NmPattern,
    readonly method: MaskMethod,
    private readonly workspace: MaskWorkspace,
  ) {
    const bad = layer.via.filter((op) => op !== 'Identity');
    if (bad.length > 0) throw inputError(undefined, `layer '${layer.name}' reaches its op through ${bad.join(', ')}; fine-tuning needs a plain float weight (one-shot sparsify works)`);
    const n = weight.length;
    this.effective = new Float32Array(n);
    // Shared, so a MaskPool's workers write the masks in place (TrainStepper); plain arrays work the same.
    this.hardOut = new Uint8Array(new SharedArrayBuffer(n));
    this.softOut = new Float32Array(new SharedArrayBuffer(4 * n));
    this.hardStored = layer.storageTransposed ? new Uint8Array(n) : this.hardOut;
    this.softStored = layer.storageTransposed ? new Float32Array(n) : this.softOut;
    const [O, I] = layer.canonicalShape;
    this.storedShape = layer.storageTransposed ? [I, O] : [...layer.canonicalShape];
  }

  canonical(): CanonicalWeight {
    const [O, I, Kh, Kw] = this.layer.canonicalShape;
    const data = this.layer.storageTransposed ? toCanonical(this.weight, this.storedShape, true) : this.weight;
    return { data, O, I, Kh, Kw };
  }

  /** Where the mask of this layer goes: computeLayerMask's (or a MaskPool's) output buffers. */
  maskBuffers(): { hardOut: Uint8Array; softOut: Float32Array } {
    return { hardOut: this.hardOut, softOut: this.softOut };
  }

  /** Recompute H and S at dense fraction p and fill `effective` = W·S. */
  prepare(denseFraction: number): LayerMask {
    const mask = computeLayerMask(this.canonical(), this.pattern, this.method, denseFraction, this.layer.name, {
      hardOut: this.hardOut, softOut: this.softOut, workspace: this.workspace,
    });
    return this.apply(mask);
  }

  /** Takes a mask computed elsewhere (a MaskPool, into `maskBuffers()`) and fills `effective` = W·S. */
  apply(computed: LayerMask): LayerMask {
    if (computed.hard !== this.hardOut) this.hardOut.set(computed.hard);
    if (computed.soft !== this.softOut) this.softOut.set(computed.soft);
    const mask = { ...computed, hard: this.hardOut, soft: this.softOut };
    if (this.layer.storageTransposed) {
      this.hardStored.set(fromCanonical(mask.hard, this.storedShape, true));
      this.softStored.set(fromCanonical(mask.soft, this.storedShape, true));
    }
    const w = this.weight, s = this.softStored, e = this.effective;
    for (let i = 0; i < w.length; i++) e[i] = w[i] * s[i];
    this.last = mask;
    return mask;
  }

  /** Straight-through gradient of W_eff plus SR-STE decay (maxq and srste; magnitude fine-tunes plain STE). */
  adjustGradient(grad: Float32Array): void {
    const h = this.decayMask();
    if (h) addSrsteDecay(grad, this.weight, h, SRSTE_LAMBDA);
  }

  /** H in the stored layout when the method adds the SR-STE decay (maxq, srste); null for magnitude. */
  decayMask(): Uint8Array | null {
    return this.method !== 'magnitude' ? this.hardStored : null;
  }

  /** Share of blocks that are N:M at the last prepare (1 − dense blocks / blocks). */
  coverage(): number {
    const m = this.last;
    return m && m.numBlocks > 0 ? 1 - m.numDenseBlocks / m.numBlocks : 0;
  }

  /** Mean |w| of kept and pruned weights and mean S of kept ones: how separated the two sets are. */
  importance(): { keptMeanAbs: number; prunedMeanAbs: number; softMean: number } {
    let kept = 0, pruned = 0, nKept = 0, nPruned = 0, soft = 0;
    const w = this.weight, h = this.hardStored, s = this.softStored;
    for (let i = 0; i < w.length; i++) {
      if (h[i]) {
        kept += Math.abs(w[i]);
        soft += s[i];
        nKept++;
      } else {
        pruned += Math.abs(w[i]);
        nPruned++;
      }
    }
    return { keptMeanAbs: nKept ? kept / nKept : 0, prunedMeanAbs: nPruned ? pruned / nPruned : 0, softMean: nKept ? soft / nKept : 0 };
  }
}

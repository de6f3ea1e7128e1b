/**
 * A judgement of a numeric check, not only its numbers: does the sparse model still compute the dense model's
 * function? A model whose N:M pattern passes can still compute garbage (scales multiplied up layer by layer
 * when nothing normalises them); this is where that is said.
 */
import { NumericCheck, NumericOutputCheck, NumericVerdict } from '../types';

/** The thresholds, reported with every verdict so a reader knows what they mean. */
export const VERDICT_THRESHOLDS = {
  /** Output RMS ratio (sparse / dense) outside [1/x, x]: blown up (or collapsed). */
  scaleRatio: 10,
  /** max |sparse − dense| above x times the dense output range: blown up. */
  rangeMultiple: 10,
  /** Top-1 agreement below this, or cosine below `cosine`: changed predictions. */
  top1Agreement: 0.9,
  cosine: 0.9,
  /** max |sparse − dense| above x times the dense output range: drift (below: the same function). */
  sameFunction: 1e-4,
  /**
   * Absolute differences up to this are float noise whatever the ratios say: a model whose dense outputs are
   * all ~0 (a degenerate or freshly initialised network) must not read as blown up.
   */
  absoluteFloor: 1e-4,
} as const;

function judgeOutput(o: NumericOutputCheck): NumericVerdict['kind'] {
  const t = VERDICT_THRESHOLDS;
  // A reference that is not finite itself leaves nothing to compare against: a failed check, whatever the model.
  if (!o.finite || o.referenceFinite === false) return 'blown-up';
  if (o.maxAbsDiff <= t.absoluteFloor) return 'same-function';
  if (o.scaleRatio > t.scaleRatio || o.scaleRatio < 1 / t.scaleRatio) return 'blown-up';
  if (o.maxAbsDiff > t.rangeMultiple * Math.max(o.referenceRange, t.absoluteFloor)) return 'blown-up';
  if ((o.top1Agreement !== null && o.top1Agreement < t.top1Agreement) || o.cosine < t.cosine) return 'changed-predictions';
  if (o.maxAbsDiff > t.sameFunction * Math.max(o.referenceRange, t.absoluteFloor)) return 'small-drift';
  return 'same-function';
}

const ORDER: NumericVerdict['kind'][] = ['same-function', 'small-drift', 'changed-predictions', 'blown-up'];

function describe(kind: NumericVerdict['kind'], o: NumericOutputCheck): string {
  const numbers = `output '${o.name}': max |Δ| ${o.maxAbsDiff.toExponential(2)} (dense range ${o.referenceRange.toExponential(2)}), scale ×${o.scaleRatio.toPrecision(3)}, cosine ${o.cosine.toFixed(4)}${o.top1Agreement === null ? '' : `, top-1 agreement ${(o.top1Agreement * 100).toFixed(1)}%`}`;
  switch (kind) {
    case 'blown-up':
      if (o.referenceFinite === false) {
        return `blown up: the dense model's own output '${o.name}' is not finite on these inputs, so there is nothing to compare against (the sparse model's is ${o.finite ? 'finite' : 'not finite either'}): the dense model is broken, a corrupt or diverged weight, or the inputs are not what it expects; sparsifying it cannot be checked`;
      }
      return `blown up: the outputs are no longer on the dense model's scale (${o.finite ? numbers : `non-finite values in '${o.name}'`}); the N:M pattern may pass, but this model computes something else. Sparsify with data so BN-free layers are normalised and re-estimated, or fine-tune`;
    case 'changed-predictions':
      return `changed predictions: ${numbers}; fine-tuning or data for re-estimation usually recovers this`;
    case 'small-drift':
      return `small drift: ${numbers}`;
    default:
      return `same function: ${numbers}${o.referenceRange < VERDICT_THRESHOLDS.absoluteFloor ? `; the dense outputs span only ${o.referenceRange.toExponential(1)}, too little to tell functions apart (an untrained or degenerate model?)` : ''}`;
  }
}

/** The worst output decides. */
export function judgeNumericCheck(check: Pick<NumericCheck, 'outputs'>): NumericVerdict {
  let worst: NumericVerdict['kind'] = 'same-function';
  let at = check.outputs[0];
  for (const o of check.outputs) {
    const k = judgeOutput(o);
    if (ORDER.indexOf(k) > ORDER.indexOf(worst) || at === undefined) {
      worst = k;
      at = o;
    }
  }
  return { kind: worst, message: at ? describe(worst, at) : 'no output compared', thresholds: { ...VERDICT_THRESHOLDS } };
}

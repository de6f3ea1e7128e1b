/**
 * Why a fine-tune's loss stopped being finite, and what to do about it. Two different failures look the same
 * from the loss alone:
 * - a scale blow-up: layers without BatchNorm carry every change of weight scale (MaxQ's S is ×1…3) into the
 *   next layer, and the logits grow by orders of magnitude over a few steps; a lower learning rate only
 *   delays it, normalising those layers fixes it;
 * - a learning rate too high for the model: the logits keep their scale until the step that diverges.
 */
export interface DivergenceContext {
  epoch: number;
  step: number;
  lr: number;
  loss: number;
  /** Largest |logit| of the first step and of the last step whose loss was finite; < 0: no step was finite. */
  firstLogitScale: number;
  lastLogitScale: number;
  /** Sparsified layers with no BatchNorm after them that the run did not normalise. */
  unnormalised: readonly string[];
  /** The largest |weight| the run started from, when extreme (`extremeWeight`). */
  extreme?: ExtremeWeight | null;
}

/** A weight magnitude no trained CNN or transformer has (BN-folded convs reach hundreds at most). */
export const EXTREME_WEIGHT = 1e6;

export interface ExtremeWeight {
  name: string;
  /** Infinity for a non-finite weight. */
  maxAbs: number;
}

/** The parameter holding the largest |w|, when that is ≥ EXTREME_WEIGHT or not finite; otherwise null. */
export function extremeWeight(params: readonly { name: string; data: Float32Array }[]): ExtremeWeight | null {
  let worst: ExtremeWeight | null = null;
  for (const p of params) {
    const m = maxAbs(p.data);
    if (m >= EXTREME_WEIGHT && (!worst || m > worst.maxAbs)) worst = { name: p.name, maxAbs: m };
    if (m === Infinity) break;
  }
  return worst;
}

function extremeNote(x: ExtremeWeight | null | undefined): string {
  if (!x) return '';
  const what = Number.isFinite(x.maxAbs) ? `a weight of magnitude ${x.maxAbs.toPrecision(3)}` : 'a weight that is not finite';
  return ` '${x.name}' started the run with ${what}: the model file may be corrupt, or the model diverged before it was exported.`;
}

/** Logit growth from the first step that counts as a blow-up. */
export const BLOW_UP_GROWTH = 100;

export function divergenceMessage(c: DivergenceContext): string {
  const where = `the loss became ${c.loss} at epoch ${c.epoch + 1}, step ${c.step + 1}`;
  const extreme = extremeNote(c.extreme);
  if (c.firstLogitScale < 0) {
    const norm = c.unnormalised.length > 0 ? ` ${c.unnormalised.length} sparsified layer${c.unnormalised.length > 1 ? 's have' : ' has'} no BatchNorm and no normalisation for the run; normalising them (data, without --no-run-norm) keeps the scale.` : '';
    return `${where}, the first step of this run, before it updated any weight: the model with its masks does not compute a finite loss on this batch, so the learning rate is not the cause.${extreme}${norm}`;
  }
  const growth = c.firstLogitScale > 0 ? c.lastLogitScale / c.firstLogitScale : Infinity;
  const grew = `max |logit| ${c.firstLogitScale.toPrecision(3)} at the first step, ${Number.isFinite(c.lastLogitScale) ? c.lastLogitScale.toPrecision(3) : c.lastLogitScale} before it diverged`;
  if (growth >= BLOW_UP_GROWTH || !Number.isFinite(c.lastLogitScale) || c.unnormalised.length > 0) {
    const layers = c.unnormalised.length > 0
      ? `${c.unnormalised.length} sparsified layer${c.unnormalised.length > 1 ? 's have' : ' has'} no BatchNorm and ${c.unnormalised.length > 1 ? 'were' : 'was'} not normalised for the run (${c.unnormalised.slice(0, 3).join(', ')}${c.unnormalised.length > 3 ? ', …' : ''}); `
      : '';
    return `${where}: the output scale blew up (${grew}). ${layers}normalising BN-free layers keeps the scale: run with data and without --no-run-norm${c.unnormalised.length > 0 ? '' : ', or add BatchNorm to the exported model'}; a lower --lr only delays this${extreme ? `.${extreme}` : ''}`;
  }
  return `${where} while the outputs kept their scale (${grew}): the learning rate ${c.lr.toPrecision(3)} is too high for this model; lower --lr (e.g. ${(c.lr / 10).toPrecision(2)})${extreme ? `.${extreme}` : ''}`;
}

/** Largest |value| of a logits batch (Infinity when any is not finite). */
export function maxAbs(values: Float32Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (!(a <= m)) m = Number.isFinite(a) ? a : Infinity;
    if (m === Infinity) break;
  }
  return m;
}

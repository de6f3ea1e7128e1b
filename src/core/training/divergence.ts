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
  /** Largest |logit| of the first step and of the last step whose loss was finite. */
  firstLogitScale: number;
  lastLogitScale: number;
  /** Sparsified layers with no BatchNorm after them that the run did not normalise. */
  unnormalised: readonly string[];
}

/** Logit growth from the first step that counts as a blow-up. */
export const BLOW_UP_GROWTH = 100;

export function divergenceMessage(c: DivergenceContext): string {
  const where = `the loss became ${c.loss} at epoch ${c.epoch + 1}, step ${c.step + 1}`;
  const growth = c.firstLogitScale > 0 ? c.lastLogitScale / c.firstLogitScale : Infinity;
  const grew = `max |logit| ${c.firstLogitScale.toPrecision(3)} at the first step, ${Number.isFinite(c.lastLogitScale) ? c.lastLogitScale.toPrecision(3) : c.lastLogitScale} before it diverged`;
  if (growth >= BLOW_UP_GROWTH || !Number.isFinite(c.lastLogitScale) || c.unnormalised.length > 0) {
    const layers = c.unnormalised.length > 0
      ? `${c.unnormalised.length} sparsified layer${c.unnormalised.length > 1 ? 's have' : ' has'} no BatchNorm and ${c.unnormalised.length > 1 ? 'were' : 'was'} not normalised for the run (${c.unnormalised.slice(0, 3).join(', ')}${c.unnormalised.length > 3 ? ', …' : ''}); `
      : '';
    return `${where}: the output scale blew up (${grew}). ${layers}normalising BN-free layers keeps the scale: run with data and without --no-run-norm${c.unnormalised.length > 0 ? '' : ', or add BatchNorm to the exported model'}; a lower --lr only delays this`;
  }
  return `${where} while the outputs kept their scale (${grew}): the learning rate ${c.lr.toPrecision(3)} is too high for this model; lower --lr (e.g. ${(c.lr / 10).toPrecision(2)})`;
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

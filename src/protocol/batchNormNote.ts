/**
 * The sparsify form's BatchNorm note: what the run the form would start does about selected layers that no
 * BatchNorm follows (a model exported with BatchNorm folded into its convs has none), given the data choice,
 * the epochs and the BN options. It mirrors the core's sparsify(): BN-free layers are normalised for the run
 * when there is data, run normalisation is not turned off, and the run fine-tunes or re-estimates BatchNorm.
 *
 * Pure and shared: the form's webview shows it, the host uses formHasData when it builds the options, and the
 * unit tests check both. No DOM, no vscode, no core import (the webview bundle cannot take the core).
 */
import type { PolicyLayerRow, SparsifyFormValues } from './messages';

/**
 * The opset BatchNorm re-estimation needs (training-mode BatchNormalization); the core's MIN_BN_TRAINING_OPSET,
 * which a unit test keeps equal to this.
 */
export const BN_TRAINING_OPSET = 14;

/** Whether the form's values give the run data: the chosen kind with its file or folder filled in. */
export function formHasData(v: Pick<SparsifyFormValues, 'dataKind' | 'npyInputs' | 'imagesDir'>): boolean {
  switch (v.dataKind) {
    case 'mnist-demo':
      return true;
    case 'npy':
    case 'distil':
      return v.npyInputs.trim() !== '';
    case 'images':
      return v.imagesDir.trim() !== '';
  }
}

/**
 * What the run does about BN-free layers: 'normalise' them for the run; not, because run normalisation is
 * turned 'off', BN re-estimation of a one-shot run is off ('no-reestimation'), the model's opset is too old for
 * one-shot re-estimation ('old-opset'), or there is no data ('no-data').
 */
export type RunNormCase = 'normalise' | 'off' | 'no-reestimation' | 'old-opset' | 'no-data';

type NoteValues = Pick<SparsifyFormValues, 'dataKind' | 'npyInputs' | 'imagesDir' | 'epochs' | 'bnRecalibrate' | 'normalise' | 'method'>;

function fineTunes(v: Pick<SparsifyFormValues, 'epochs'>): boolean {
  return Number.isInteger(v.epochs) && v.epochs > 0;
}

export function runNormCase(v: NoteValues, opset: number): RunNormCase {
  if (!formHasData(v)) return 'no-data';
  // Saved form state from before the option existed has no `normalise`: the core's default (on).
  if (v.normalise === false) return 'off';
  if (fineTunes(v)) return 'normalise';
  if (!v.bnRecalibrate) return 'no-reestimation';
  return opset < BN_TRAINING_OPSET ? 'old-opset' : 'normalise';
}

export interface BatchNormCounts {
  /** Layers the run sparsifies (the policy with the form's overrides). */
  selected: number;
  /** Of those, the ones no BatchNorm follows. */
  bnFree: number;
  /** Of those, the ones a run with data normalises and folds back. */
  normalisable: number;
  /** BN-free layers a run leaves as they are, with why. */
  left: { layer: string; reason: string }[];
}

/** Counts over the rows the run would sparsify; a row without BatchNorm information counts as having one. */
export function countBatchNorm(included: readonly PolicyLayerRow[]): BatchNormCounts {
  const c: BatchNormCounts = { selected: included.length, bnFree: 0, normalisable: 0, left: [] };
  for (const r of included) {
    if (r.bn === 'normalisable') {
      c.bnFree++;
      c.normalisable++;
    } else if (r.bn === 'left') {
      c.bnFree++;
      c.left.push({ layer: r.name, reason: r.bnReason ?? 'it cannot take a normalisation' });
    }
  }
  return c;
}

export interface BatchNormNote {
  text: string;
  runCase: RunNormCase;
  /** 'info' when the run normalises BN-free layers, 'warning' when some stay without any normalisation. */
  tone: 'info' | 'warning';
  /** No BatchNorm node left in the model: the export folded it into the layers. */
  folded: boolean;
  counts: BatchNormCounts;
}

/**
 * The note for the layers the run would sparsify (`included`), the model's BatchNorm node count and opset,
 * and the form's values; null when every selected layer has its BatchNorm.
 */
export function batchNormNote(included: readonly PolicyLayerRow[], bnNodes: number, opset: number, v: NoteValues): BatchNormNote | null {
  const counts = countBatchNorm(included);
  const { selected, bnFree, normalisable: n, left } = counts;
  if (bnFree === 0) return null;
  const folded = bnNodes === 0;
  const one = bnFree === 1;
  const head = folded
    ? selected === 1
      ? 'BatchNorm was folded into the layers at export: the selected layer has no BatchNorm after it.'
      : `BatchNorm was folded into the layers at export: none of the ${selected} selected layers has BatchNorm after it.`
    : selected === 1
      ? 'The selected layer has no BatchNorm after it.'
      : `${bnFree} of ${selected} selected layers ${one ? 'has' : 'have'} no BatchNorm after ${one ? 'it' : 'them'}.`;
  const runCase = runNormCase(v, opset);
  const oneShot = !fineTunes(v);
  const keep = oneShot && v.method === 'maxq' ? '; MaxQ keeps each filter’s scale' : '';
  const them = n === bnFree ? (one ? 'it' : 'them') : `${n} of them`;
  let does: string;
  if (n === 0) {
    does = `${one ? 'It cannot' : 'None of them can'} be normalised for the run${keep}.`;
  } else {
    switch (runCase) {
      case 'normalise':
        does = `This run normalises ${them} (identity on the dense model, ${oneShot ? 're-estimated on the data' : 'trained with the fine-tune'}) and folds that back into ${n === 1 ? 'its' : 'their'} weight and bias.`;
        break;
      case 'off':
        does = `Run normalisation is off: this run sparsifies ${them} without it${keep}.`;
        break;
      case 'no-reestimation':
        does = `BatchNorm re-estimation is off, so this one-shot run does not normalise ${them}${keep}.`;
        break;
      case 'old-opset':
        does = `This one-shot run cannot normalise ${them}: re-estimation needs opset ≥ ${BN_TRAINING_OPSET} (this model has opset ${opset})${keep}.`;
        break;
      case 'no-data':
        does = `Without data this run cannot normalise ${them}${keep}. Choose data to have ${n === 1 ? 'it' : 'them'} normalised for the run and folded back.`;
        break;
    }
  }
  const rest = left.length > 0 ? ` Left as ${left.length === 1 ? 'it is' : 'they are'}: ${left.length} (${left[0].layer}: ${left[0].reason}${left.length > 1 ? ', …' : ''}).` : '';
  const tone = runCase === 'normalise' && n > 0 && left.length === 0 ? 'info' : 'warning';
  return { text: `${head} ${does}${rest}`, runCase, tone, folded, counts };
}

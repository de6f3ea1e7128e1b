/** The caveats printed under a comparison's table and stored in its report, so numbers are not misread. */
import { CheckedCompareOptions } from './compareOptions';
import { EvaluationSet } from './evaluationSet';

export function reportNotes(o: CheckedCompareOptions, evaluation: EvaluationSet, batchNormLayers: number): string[] {
  const notes: string[] = [];
  if (evaluation.metric === 'agreement') {
    notes.push('The data has no labels: every number is top-1 agreement with the dense model (dense = 100 %), and fine-tunes distil from the dense model.');
  }
  if (!evaluation.sameForAllRuns) {
    notes.push(`No validation data was given: one-shot rows are measured on ${evaluation.oneShot}; fine-tune rows on ${evaluation.fineTune}. Each Δ is against the dense model on the same samples.`);
  }
  if (batchNormLayers === 0) notes.push('The model has no BatchNormalization: "one-shot + BN re-estimation" is the same model as "one-shot".');
  if (o.budget.epochs > 0) {
    notes.push('Fine-tunes share one budget (epochs, batch, lr, optimizer); magnitude and SR-STE are N:M from the first step (no schedule); MaxQ runs once per schedule variant.');
    if (o.methods.includes('maxq') && o.scheduleVariants.includes('default') && Math.ceil(0.25 * o.budget.epochs) >= o.budget.epochs) {
      notes.push(`At ${o.budget.epochs} epoch(s) the default window ceil(0.25·E) leaves no room for a decay: the default schedule is no schedule.`);
    }
  }
  notes.push('One-shot runs are deterministic: they run once, with the first seed.');
  return notes;
}

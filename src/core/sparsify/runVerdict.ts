/**
 * A run's numeric verdict as it reports it (log warning, summary, end-of-run notice), where the check finds the
 * written model no longer computes the dense model's function. After a labelled fine-tune that scores clearly above the dense model on the same evaluation data,
 * the distance from the dense outputs is what training on those labels did (a new task, or labels the dense
 * model does not predict): the verdict stands, but the usual advice (normalise, re-estimate, fine-tune) does
 * not apply, and the message says so instead of giving it.
 */
import { NumericVerdict } from '../types';

/** Accuracy points above the dense model's that make the drift the fine-tune's doing. */
export const LEARNED_MARGIN = 0.05;

export interface RunScores {
  epochs: number;
  metric: 'accuracy' | 'agreement';
  denseAccuracy: number | null;
  finalAccuracy: number | null;
}

/** Whether a labelled fine-tune scored clearly above the dense model: then it moved the outputs on purpose. */
export function learnedDrift(run: RunScores): boolean {
  const { denseAccuracy: dense, finalAccuracy: final } = run;
  return run.epochs > 0 && run.metric === 'accuracy' && dense !== null && final !== null && final >= dense + LEARNED_MARGIN;
}

/**
 * Whether the run failed its numeric check: the written model is blown up (non-finite outputs, or off the dense
 * model's scale), and no fine-tune on labels explains it. `maxq sparsify` then exits 1, as `maxq validate
 * --reference` does for the same model.
 */
export function failsNumericCheck(verdict: NumericVerdict | undefined, run: RunScores): boolean {
  return verdict?.kind === 'blown-up' && !learnedDrift(run);
}

/** The verdict as the run reports it: its message says what the fine-tune did where that explains the drift. */
export function verdictForRun(verdict: NumericVerdict, run: RunScores): NumericVerdict {
  if (verdict.kind !== 'blown-up' && verdict.kind !== 'changed-predictions') return verdict;
  if (!learnedDrift(run)) return verdict;
  const dense = run.denseAccuracy as number, final = run.finalAccuracy as number; // non-null: learnedDrift
  const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
  const head = verdict.message.split(';')[0];
  return {
    ...verdict,
    message: `${head}. The fine-tune scores ${pct(final)} against the dense model's ${pct(dense)} on the same data, so the outputs moved because training on these labels moved them: expected for a new task or labels the dense model does not predict; if the sparse model should keep the dense model's function, fine-tune on data it already predicts or distil from it (inputs without labels)`,
  };
}

/**
 * What the end of a sparsify run tells the user: the notification (a warning when the written model no longer
 * computes the dense model's function) and the summary lines of the Output channel. Pure: no vscode import.
 */
import * as path from 'path';
import type { RunSummary } from '../../core/types';

export interface RunEndNotice {
  level: 'info' | 'warning';
  text: string;
  /** Lines for the Output channel, after the run's own events. */
  log: { level: 'info' | 'warn'; text: string }[];
}

/** The verdicts a notification warns about: the pattern may pass, but the model computes something else. */
export function isBadVerdict(summary: Pick<RunSummary, 'numeric'>): boolean {
  const k = summary.numeric?.verdict.kind;
  return k === 'blown-up' || k === 'changed-predictions';
}

function sentence(s: string): string {
  const t = s.trim();
  return /[.!?…]$/.test(t) ? t : `${t}.`;
}

export function runEndNotice(summary: RunSummary): RunEndNotice {
  const acc = summary.finalAccuracy !== null ? `, ${summary.metric === 'agreement' ? 'agreement' : 'accuracy'} ${(summary.finalAccuracy * 100).toFixed(2)}%` : '';
  const check = summary.validationPass ? '' : ' — pattern check FAILED';
  const parts = [`MaxQ: wrote ${path.basename(summary.output)} (${summary.pattern} ${summary.method}${acc})${check}.`];
  const log: RunEndNotice['log'] = [];
  const norm = summary.normalisation;
  if (norm) {
    parts.push(sentence(norm.message));
    log.push({ level: norm.normalised.length > 0 && norm.skipped.length === 0 ? 'info' : 'warn', text: `Run normalisation: ${sentence(norm.message)}` });
  }
  const bad = isBadVerdict(summary);
  const n = summary.numeric;
  if (n) {
    if (bad) parts.push(`Numeric check: ${sentence(n.verdict.message)}`);
    log.push({ level: bad ? 'warn' : 'info', text: `Numeric check against ${n.reference} (${n.samples} samples of ${n.inputsFrom}): ${n.verdict.message}` });
  }
  return { level: bad ? 'warning' : 'info', text: parts.join(' '), log };
}

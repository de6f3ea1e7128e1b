/** The numeric check's verdict as a pill: does the sparse model still compute the dense model's function? */
import type { NumericVerdictKind } from '../../src/protocol/messages';
import { h } from './dom';

export const VERDICT_LABELS: Record<NumericVerdictKind, string> = {
  'same-function': 'same function',
  'small-drift': 'small drift',
  'changed-predictions': 'changed predictions',
  'blown-up': 'blown up',
};

/** The `.pill` class of a verdict: blown up fails, changed predictions warns, the rest pass. */
export function verdictTone(kind: NumericVerdictKind): 'pass' | 'warn' | 'fail' {
  return kind === 'blown-up' ? 'fail' : kind === 'changed-predictions' ? 'warn' : 'pass';
}

export function verdictPill(kind: NumericVerdictKind): HTMLElement {
  return h('span', { class: `pill ${verdictTone(kind)}`, 'data-verdict': kind }, VERDICT_LABELS[kind] ?? kind);
}

/** The verdict's message without its leading "<label>: " (the pill says it). */
export function verdictDetail(kind: NumericVerdictKind, message: string): string {
  const label = VERDICT_LABELS[kind];
  return label && message.startsWith(`${label}:`) ? message.slice(label.length + 1).trim() : message;
}

/**
 * What "MaxQ: Compare Methods…" asks for, its checks, and the core's CompareOptions made from it; also the progress
 * text of a comparison. Pure: no vscode import.
 */
import { usageError } from '../../core/errors';
import { COMPARE_METHODS, CompareOptions, checkCompareOptions } from '../../core/compare/compareOptions';
import { PlannedRun, planRuns } from '../../core/compare/comparePlan';
import type { CompareRun } from '../../core/compare/compareReport';
import type { DataSpec } from '../../core/sparsify/options';
import type { MaskMethod } from '../../core/types';
import { methodName } from './compareView';

export interface CompareRequest {
  /** "N:M" texts. */
  patterns: string[];
  methods: MaskMethod[];
  /** Fine-tune epochs per run (0: one-shot rows only). */
  epochs: number;
  /** Fine-tune seeds (mean ± std over them). */
  seeds: number;
  data: DataSpec;
  /** Replace an existing `<name>.compare.json` without asking. */
  overwrite?: boolean;
}

/** A small budget: the comparison runs every configuration, so it adds up. */
export const COMPARE_INPUT_DEFAULTS = { epochs: 1, seeds: 1 } as const;

const PATTERN_RE = /^\s*(\d+)\s*:\s*(\d+)\s*$/;

/** "2 : 4" → "2:4"; null when not N:M with 1 ≤ N < M. */
export function normalizePattern(text: string): string | null {
  const m = PATTERN_RE.exec(text);
  if (!m) return null;
  const n = Number(m[1]), mm = Number(m[2]);
  return n >= 1 && n < mm ? `${n}:${mm}` : null;
}

/** The message for a whole-number field, or null when `text` is one ≥ min. */
export function wholeNumberProblem(text: string, min: number): string | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return `Enter a whole number${min > 0 ? ` ≥ ${min}` : ' (0 or more)'}.`;
  return Number(t) >= min ? null : `Enter a whole number ≥ ${min}.`;
}

/** The patterns the picker starts with ticked: the default pattern setting. */
export function defaultPatterns(settingPattern: string): string[] {
  return [normalizePattern(settingPattern) ?? '2:4'];
}

function isDataSpec(x: unknown): x is DataSpec {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Record<string, unknown>;
  if (d.kind === 'mnist-demo') return true;
  if (d.kind === 'npy') return typeof d.inputs === 'string' && (d.labels === undefined || typeof d.labels === 'string');
  if (d.kind === 'images') return typeof d.dir === 'string';
  return false;
}

/**
 * A request given to the command as its second argument (tests, other extensions, keybindings), checked like the
 * prompts check what a person types. Missing fields take the prompts' defaults.
 */
export function compareRequestFrom(x: unknown, settingPattern: string): CompareRequest {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw usageError('the compare request must be an object { patterns, methods, epochs, seeds, data }');
  const o = x as Record<string, unknown>;
  const rawPatterns = o.patterns === undefined ? defaultPatterns(settingPattern) : o.patterns;
  if (!Array.isArray(rawPatterns) || rawPatterns.length === 0) throw usageError('patterns must be a non-empty list of N:M texts');
  const patterns = rawPatterns.map((p) => {
    const n = typeof p === 'string' ? normalizePattern(p) : null;
    if (!n) throw usageError(`pattern ${JSON.stringify(p)} is not N:M with 1 ≤ N < M`);
    return n;
  });
  const methods = (o.methods === undefined ? [...COMPARE_METHODS] : o.methods) as unknown;
  if (!Array.isArray(methods) || methods.length === 0 || methods.some((m) => !(COMPARE_METHODS as readonly unknown[]).includes(m))) {
    throw usageError(`methods must be a non-empty list of ${COMPARE_METHODS.join(', ')}`);
  }
  const whole = (name: string, v: unknown, fallback: number, min: number) => {
    const n = v === undefined ? fallback : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min) throw usageError(`${name} must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  if (!isDataSpec(o.data)) throw usageError('data must be { kind: "mnist-demo" }, { kind: "npy", inputs, labels? } or { kind: "images", dir }');
  return {
    patterns: [...new Set(patterns)],
    methods: [...new Set(methods as MaskMethod[])],
    epochs: whole('epochs', o.epochs, COMPARE_INPUT_DEFAULTS.epochs, 0),
    seeds: whole('seeds', o.seeds, COMPARE_INPUT_DEFAULTS.seeds, 1),
    data: o.data,
    overwrite: o.overwrite === true,
  };
}

export function toCompareOptions(req: CompareRequest, model: string, extra: { threads: number; tempRoot?: string }): CompareOptions {
  return {
    model,
    patterns: req.patterns,
    methods: req.methods,
    epochs: req.epochs,
    seeds: req.seeds,
    data: req.data,
    ...(extra.threads > 0 ? { shared: { threads: extra.threads } } : {}),
    ...(extra.tempRoot ? { tempRoot: extra.tempRoot } : {}),
  };
}

/** How many sparsify runs the request makes (the core's own plan), or null when the core would refuse it. */
export function plannedRunCount(req: CompareRequest, model: string): number | null {
  try {
    return planRuns(checkCompareOptions(toCompareOptions(req, model, { threads: 0 }))).length;
  } catch {
    return null;
  }
}

/** "[3/12] 2:4 MaxQ · fine-tune, default schedule (linear 0→1) · seed 1" */
export function runTitle(index: number, total: number, run: Pick<PlannedRun, 'pattern' | 'method' | 'label' | 'deterministic' | 'seed'>): string {
  return `[${index + 1}/${total}] ${run.pattern} ${methodName(run.method)} · ${run.label}${run.deterministic ? '' : ` · seed ${run.seed}`}`;
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`);

/** The Output channel's line for a finished run. */
export function runResultText(r: Pick<CompareRun, 'accuracy' | 'denseAccuracy' | 'seconds' | 'validationPass'>): string {
  return `→ ${pct(r.accuracy)} (dense ${pct(r.denseAccuracy)}), ${r.seconds.toFixed(1)} s${r.validationPass ? '' : ', pattern check FAILED'}`;
}

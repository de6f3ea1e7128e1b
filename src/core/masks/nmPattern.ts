/**
 * An N:M sparsity pattern: in every group of M consecutive weights along the input-channel axis at most N are
 * non-zero (spec §1). Parsed once from the user's "N:M" text and passed around as a value, so every consumer
 * sees the same validated integers and nobody re-parses or meets a NaN.
 */
import { usageError } from '../errors';

/**
 * Upper bound on M. The spec puts no limit on M, but the hard mask and the checks allocate per-group scratch of
 * size M, and patterns in practice use M ≤ 32; a cap turns a typo such as "2:40000000" into a clear error instead
 * of a huge allocation.
 */
export const MAX_M = 1024;

// Numbers are matched loosely (sign, decimals) so that "2.5:4" or "-1:4" get a specific message, not a generic one.
const PATTERN_RE = /^\s*([+-]?[0-9]*\.?[0-9]+)\s*:\s*([+-]?[0-9]*\.?[0-9]+)\s*$/;

export class NmPattern {
  readonly n: number;
  readonly m: number;

  constructor(n: number, m: number) {
    NmPattern.check(n, m, `${n}:${m}`);
    this.n = n;
    this.m = m;
  }

  /** Parses "2:4" (spaces around the colon are allowed). Anything that is not two integers 1 ≤ N < M is a usage error. */
  static parse(text: string): NmPattern {
    if (typeof text !== 'string') throw usageError(`N:M pattern must be text like "2:4", got ${String(text)}`);
    const match = PATTERN_RE.exec(text);
    if (!match) throw usageError(`invalid N:M pattern "${text}": expected two integers like "2:4"`);
    const n = Number(match[1]);
    const m = Number(match[2]);
    NmPattern.check(n, m, text.trim());
    return new NmPattern(n, m);
  }

  private static check(n: number, m: number, text: string): void {
    if (!Number.isInteger(n) || !Number.isInteger(m)) {
      throw usageError(`invalid N:M pattern "${text}": N and M must be integers`);
    }
    if (m < 2) throw usageError(`invalid N:M pattern "${text}": M must be at least 2`);
    if (m > MAX_M) throw usageError(`invalid N:M pattern "${text}": M must be at most ${MAX_M}`);
    if (n < 1) throw usageError(`invalid N:M pattern "${text}": N must be at least 1`);
    if (n >= m) throw usageError(`invalid N:M pattern "${text}": N must be smaller than M (N = M keeps every weight)`);
  }

  /** Share of each group that is zeroed, `(M − N) / M` as an IEEE double (spec §1: the soft terms use exactly this). */
  get drop(): number {
    return (this.m - this.n) / this.m;
  }

  /** Share of each group that is kept, N / M. */
  get density(): number {
    return this.n / this.m;
  }

  equals(other: NmPattern): boolean {
    return this.n === other.n && this.m === other.m;
  }

  toString(): string {
    return `${this.n}:${this.m}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

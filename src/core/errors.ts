/**
 * Errors a person can act on. Every error the core raises on bad input is one of these: the CLI prints
 * `message` on one line and exits 2, the extension shows it in a notification. Anything else that escapes
 * is a bug.
 */
export type MaxqErrorKind = 'usage' | 'input';

export class MaxqError extends Error {
  readonly kind: MaxqErrorKind;
  /** The file the problem is in, when there is one. Already part of `message`. */
  readonly file?: string;
  /**
   * The whole story when `message` is a summary (every node of a long list): JSON-able, shown by `--json`, the
   * run record and the extension's Output channel.
   */
  details?: Record<string, unknown>;

  constructor(kind: MaxqErrorKind, message: string, file?: string, details?: Record<string, unknown>) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'MaxqError';
    this.kind = kind;
    this.file = file;
    if (details) this.details = details;
  }
}

/** Bad arguments or options (N ≥ M, unknown schedule, …). */
export function usageError(message: string): MaxqError {
  return new MaxqError('usage', message);
}

/** Bad input file: corrupt, truncated, unsupported op or dtype, missing external data, … */
export function inputError(file: string | undefined, message: string, details?: Record<string, unknown>): MaxqError {
  return new MaxqError('input', message, file, details);
}

export function isMaxqError(e: unknown): e is MaxqError {
  return e instanceof MaxqError;
}

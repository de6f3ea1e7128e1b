/** Cancellation: long work checks an AbortSignal between steps and unwinds with a recognisable error. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

export function isCancelled(e: unknown): boolean {
  return e instanceof CancelledError;
}

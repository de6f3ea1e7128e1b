/**
 * One way to run a long core job (a sparsify run, a method comparison) in a worker thread, so the caller (the
 * extension host) never blocks: the caller side starts the thread and turns its replies back into a result or
 * a typed error; the worker side runs the job with an AbortSignal. Cancel asks the worker to stop at its next
 * step; if it does not answer in time the thread is terminated. The core's atomic writers leave no
 * half-written file either way.
 */
import { parentPort, Worker } from 'worker_threads';
import { isMaxqError, MaxqError, MaxqErrorKind } from '../errors';
import { CancelledError, isCancelled } from '../sparsify/cancellation';

export type ToJobWorker<O> = { type: 'run'; options: O } | { type: 'cancel' };

export type FromJobWorker<E, R> =
  | { type: 'event'; event: E }
  | { type: 'result'; result: R }
  | { type: 'failed'; message: string; kind: MaxqErrorKind | 'internal' | 'cancelled'; stack?: string; details?: Record<string, unknown> };

export interface WorkerJob<R> {
  done: Promise<R>;
  cancel(): void;
  /** Ends the thread now (extension shutdown). */
  terminate(): void;
}

const CANCEL_GRACE_MS = 15_000;

/** Caller side: start `script` (a compiled worker entry that calls serveWorkerJob) with `options`. */
export function startWorkerJob<O, E, R>(script: string, options: O, onEvent: (e: E) => void, label: string): WorkerJob<R> {
  const worker = new Worker(script);
  let settled = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const done = new Promise<R>((resolve, reject) => {
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      void worker.terminate();
      f();
    };
    worker.on('message', (m: FromJobWorker<E, R>) => {
      if (m.type === 'event') onEvent(m.event);
      else if (m.type === 'result') finish(() => resolve(m.result));
      else if (m.kind === 'cancelled') finish(() => reject(new CancelledError()));
      else if (m.kind === 'internal') {
        const err = new Error(m.message);
        if (m.stack) err.stack = m.stack;
        finish(() => reject(err));
      } else finish(() => reject(new MaxqError(m.kind as MaxqErrorKind, m.message, undefined, m.details)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(cancelled ? new CancelledError() : new Error(`${label} worker exited with code ${code}`))));
  });
  worker.postMessage({ type: 'run', options } satisfies ToJobWorker<O>);
  return {
    done,
    cancel() {
      if (settled || cancelled) return;
      cancelled = true;
      worker.postMessage({ type: 'cancel' } satisfies ToJobWorker<O>);
      killTimer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
    },
    terminate() {
      cancelled = true;
      void worker.terminate();
    },
  };
}

/** Worker side: run `job` for the first `run` message, streaming its events back; `cancel` aborts its signal. */
export function serveWorkerJob<O, E, R>(job: (options: O, emit: (e: E) => void, signal: AbortSignal) => Promise<R>): void {
  const port = parentPort;
  if (!port) throw new Error('a worker job must run in a worker thread');
  const controller = new AbortController();
  const send = (m: FromJobWorker<E, R>) => port.postMessage(m);
  port.on('message', (msg: ToJobWorker<O>) => {
    if (msg.type === 'cancel') {
      controller.abort();
      return;
    }
    job(msg.options, (event) => send({ type: 'event', event }), controller.signal).then(
      (result) => send({ type: 'result', result }),
      (e: unknown) => {
        if (isCancelled(e)) send({ type: 'failed', message: 'cancelled', kind: 'cancelled' });
        else send({ type: 'failed', message: e instanceof Error ? e.message : String(e), kind: isMaxqError(e) ? e.kind : 'internal', stack: e instanceof Error ? e.stack : undefined, details: isMaxqError(e) ? e.details : undefined });
      },
    );
  });
}

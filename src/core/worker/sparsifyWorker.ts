/**
 * Runs a sparsify job in a worker thread so the caller (the extension host) never blocks. Cancel asks the
 * worker to stop at its next step; if it does not answer in time the thread is terminated. Either way the
 * atomic writers leave no half-written file.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { MaxqError } from '../errors';
import { CancelledError } from '../sparsify/cancellation';
import { SparsifyOptions } from '../sparsify/options';
import { RunEvent, RunSummary } from '../types';
import { FromWorker, ToWorker } from './workerProtocol';

export interface SparsifyJob {
  done: Promise<RunSummary>;
  cancel(): void;
}

const CANCEL_GRACE_MS = 15_000;

export function startSparsifyWorker(options: SparsifyOptions, onEvent: (e: RunEvent) => void): SparsifyJob {
  const worker = new Worker(path.join(__dirname, 'sparsifyWorkerMain.js'));
  let settled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const done = new Promise<RunSummary>((resolve, reject) => {
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      void worker.terminate();
      f();
    };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'event') onEvent(m.event);
      else if (m.type === 'result') finish(() => resolve(m.summary));
      else if (m.kind === 'cancelled') finish(() => reject(new CancelledError()));
      else if (m.kind === 'internal') finish(() => reject(new Error(m.message)));
      else finish(() => reject(new MaxqError(m.kind as 'usage' | 'input', m.message)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(killTimer ? new CancelledError() : new Error(`sparsify worker exited with code ${code}`))));
  });
  worker.postMessage({ type: 'run', options } satisfies ToWorker);
  return {
    done,
    cancel() {
      if (settled || killTimer) return;
      worker.postMessage({ type: 'cancel' } satisfies ToWorker);
      killTimer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
    },
  };
}

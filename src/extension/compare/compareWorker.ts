/**
 * Runs a comparison in its own worker thread so the extension host never blocks (a comparison is many sparsify
 * runs: minutes). Cancel asks the worker to stop at its next step; if it does not answer in time the thread is
 * terminated. The caller owns the temp root and removes it afterwards, whichever way the worker ended.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { CompareProgress } from '../../core/compare/compareMethods';
import type { CompareOptions } from '../../core/compare/compareOptions';
import type { CompareReport } from '../../core/compare/compareReport';
import { MaxqError } from '../../core/errors';
import { CancelledError } from '../../core/sparsify/cancellation';
import { FromCompareWorker, ToCompareWorker } from './compareWorkerProtocol';

export interface CompareJob {
  done: Promise<CompareReport>;
  cancel(): void;
  /** Ends the thread now (extension shutdown). */
  terminate(): void;
}

const CANCEL_GRACE_MS = 15_000;

export function startCompareWorker(options: CompareOptions, onProgress: (p: CompareProgress) => void): CompareJob {
  const worker = new Worker(path.join(__dirname, 'compareWorkerMain.js'));
  let settled = false;
  let killTimer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const done = new Promise<CompareReport>((resolve, reject) => {
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      void worker.terminate();
      f();
    };
    worker.on('message', (m: FromCompareWorker) => {
      if (m.type === 'progress') onProgress(m.progress);
      else if (m.type === 'result') finish(() => resolve(m.report));
      else if (m.kind === 'cancelled') finish(() => reject(new CancelledError()));
      else if (m.kind === 'internal') {
        const err = new Error(m.message);
        if (m.stack) err.stack = m.stack;
        finish(() => reject(err));
      } else finish(() => reject(new MaxqError(m.kind as 'usage' | 'input', m.message)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(cancelled ? new CancelledError() : new Error(`compare worker exited with code ${code}`))));
  });
  worker.postMessage({ type: 'run', options } satisfies ToCompareWorker);
  return {
    done,
    cancel() {
      if (settled || cancelled) return;
      cancelled = true;
      worker.postMessage({ type: 'cancel' } satisfies ToCompareWorker);
      killTimer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
    },
    terminate() {
      cancelled = true;
      void worker.terminate();
    },
  };
}

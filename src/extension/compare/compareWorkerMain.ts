/**
 * Worker-thread entry of a comparison: runs the core's compareMethods off the extension host's thread and streams
 * its progress back. Step events are thinned here (a few per second reach the host); everything else passes.
 * Cancel aborts the core's signal: it stops at the next step and removes its temp models itself.
 */
import { compareMethods, CompareProgress } from '../../core/compare/compareMethods';
import type { CompareOptions } from '../../core/compare/compareOptions';
import { serveWorkerJob } from '../../core/worker/workerJob';

const STEP_INTERVAL_MS = 200;

/** Each run's first step gets through; later steps at most every STEP_INTERVAL_MS; run events the UI ignores are dropped. */
function thinned(emit: (p: CompareProgress) => void): (p: CompareProgress) => void {
  let lastStep = 0;
  return (p) => {
    if (p.type === 'run-start') lastStep = 0;
    if (p.type === 'run-event') {
      const e = p.event;
      if (e.type === 'step') {
        const now = Date.now();
        if (now - lastStep < STEP_INTERVAL_MS) return;
        lastStep = now;
      } else if (e.type !== 'start' && e.type !== 'phase' && e.type !== 'epoch' && e.type !== 'log') return;
    }
    emit(p);
  };
}

serveWorkerJob((options: CompareOptions, emit: (p: CompareProgress) => void, signal: AbortSignal) => compareMethods(options, thinned(emit), signal));

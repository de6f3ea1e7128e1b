/**
 * Worker-thread entry of a comparison: runs the core's compareMethods off the extension host's thread and streams
 * its progress back. Step events are thinned here (a few per second reach the host); everything else passes.
 * Cancel aborts the core's signal: it stops at the next step and removes its temp models itself.
 */
import { parentPort } from 'worker_threads';
import { compareMethods, CompareProgress } from '../../core/compare/compareMethods';
import { isMaxqError } from '../../core/errors';
import { isCancelled } from '../../core/sparsify/cancellation';
import { FromCompareWorker, ToCompareWorker } from './compareWorkerProtocol';

const STEP_INTERVAL_MS = 200;

const port = parentPort;
if (!port) throw new Error('compareWorkerMain must run in a worker thread');
const controller = new AbortController();
const send = (m: FromCompareWorker) => port.postMessage(m);
let lastStep = 0;

function forward(p: CompareProgress): void {
  // Each run's first step gets through.
  if (p.type === 'run-start') lastStep = 0;
  if (p.type === 'run-event') {
    const e = p.event;
    if (e.type === 'step') {
      const now = Date.now();
      if (now - lastStep < STEP_INTERVAL_MS) return;
      lastStep = now;
    } else if (e.type !== 'start' && e.type !== 'phase' && e.type !== 'epoch' && e.type !== 'log') return;
  }
  send({ type: 'progress', progress: p });
}

port.on('message', (msg: ToCompareWorker) => {
  if (msg.type === 'cancel') {
    controller.abort();
    return;
  }
  compareMethods(msg.options, forward, controller.signal).then(
    (report) => send({ type: 'result', report }),
    (e: unknown) => {
      if (isCancelled(e)) send({ type: 'failed', message: 'cancelled', kind: 'cancelled' });
      else send({ type: 'failed', message: e instanceof Error ? e.message : String(e), kind: isMaxqError(e) ? e.kind : 'internal', stack: e instanceof Error ? e.stack : undefined });
    },
  );
});

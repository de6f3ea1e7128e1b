/** Worker-thread entry: runs one sparsify job off the caller's thread and streams its events back. */
import { parentPort } from 'worker_threads';
import { isMaxqError } from '../errors';
import { isCancelled } from '../sparsify/cancellation';
import { sparsify } from '../sparsify/sparsify';
import { FromWorker, ToWorker } from './workerProtocol';

const port = parentPort;
if (!port) throw new Error('sparsifyWorkerMain must run in a worker thread');
const controller = new AbortController();
const send = (m: FromWorker) => port.postMessage(m);

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') {
    controller.abort();
    return;
  }
  sparsify(msg.options, (event) => send({ type: 'event', event }), controller.signal).then(
    (summary) => send({ type: 'result', summary }),
    (e: unknown) => {
      if (isCancelled(e)) send({ type: 'failed', message: 'cancelled', kind: 'cancelled' });
      else send({ type: 'failed', message: e instanceof Error ? e.message : String(e), kind: isMaxqError(e) ? e.kind : 'internal' });
    },
  );
});

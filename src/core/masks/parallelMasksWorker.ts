/** Worker thread of a `MaskPool` (parallelMasks.ts): runs the layer loop for every call it is sent. */
import { parentPort } from 'worker_threads';
import { FromMaskWorker, runLayerJobs, ToMaskWorker } from './parallelJobs';
import { MaskWorkspace } from './workspace';

const port = parentPort;
if (port) {
  const ws = new MaskWorkspace();
  port.on('message', (msg: ToMaskWorker) => {
    const failure = runLayerJobs(msg, ws);
    port.postMessage({ type: 'done', id: msg.id, failure } satisfies FromMaskWorker);
  });
  port.postMessage({ type: 'ready', id: 0 } satisfies FromMaskWorker);
}

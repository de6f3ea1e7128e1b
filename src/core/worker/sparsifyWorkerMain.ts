/** Worker-thread entry: one sparsify run off the caller's thread, its events streamed back. */
import { sparsify } from '../sparsify/sparsify';
import { serveWorkerJob } from './workerJob';

serveWorkerJob(sparsify);

/** A sparsify run in a worker thread (see workerJob.ts), so the extension host never blocks. */
import * as path from 'path';
import { SparsifyOptions } from '../sparsify/options';
import { RunEvent, RunSummary } from '../types';
import { startWorkerJob, WorkerJob } from './workerJob';

export type SparsifyJob = WorkerJob<RunSummary>;

export function startSparsifyWorker(options: SparsifyOptions, onEvent: (e: RunEvent) => void): SparsifyJob {
  return startWorkerJob<SparsifyOptions, RunEvent, RunSummary>(path.join(__dirname, 'sparsifyWorkerMain.js'), options, onEvent, 'sparsify');
}

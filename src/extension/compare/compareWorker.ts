/**
 * Runs a comparison in its own worker thread (the core's workerJob), so the extension host never blocks: a
 * comparison is many sparsify runs, minutes. The caller owns the temp root and removes it afterwards, whichever
 * way the worker ended.
 */
import * as path from 'path';
import type { CompareProgress } from '../../core/compare/compareMethods';
import type { CompareOptions } from '../../core/compare/compareOptions';
import type { CompareReport } from '../../core/compare/compareReport';
import { startWorkerJob, WorkerJob } from '../../core/worker/workerJob';

export type CompareJob = WorkerJob<CompareReport>;

export function startCompareWorker(options: CompareOptions, onProgress: (p: CompareProgress) => void): CompareJob {
  return startWorkerJob<CompareOptions, CompareProgress, CompareReport>(path.join(__dirname, 'compareWorkerMain.js'), options, onProgress, 'compare');
}

/** Messages between a caller thread and a sparsify worker thread. */
import { MaxqErrorKind } from '../errors';
import { RunEvent, RunSummary } from '../types';
import { SparsifyOptions } from '../sparsify/options';

export type ToWorker = { type: 'run'; options: SparsifyOptions } | { type: 'cancel' };

export type FromWorker =
  | { type: 'event'; event: RunEvent }
  | { type: 'result'; summary: RunSummary }
  | { type: 'failed'; message: string; kind: MaxqErrorKind | 'internal' | 'cancelled' };

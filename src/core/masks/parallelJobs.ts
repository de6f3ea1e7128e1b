/**
 * What the threads of a `MaskPool` share: the job and message types, and the loop every thread (the caller's
 * and each worker) runs for one call — take the next layer from the shared counter, compute its masks in place,
 * repeat. Kept apart from `parallelMasks.ts` so the worker entry loads no pool code.
 */
import { isMaxqError, MaxqError, MaxqErrorKind } from '../errors';
import { MaskMethod } from '../types';
import { computeLayerMask } from './layerMask';
import { NmPattern } from './nmPattern';
import { MaskWorkspace } from './workspace';

/** One layer: the canonical weight and its output buffers, all in shared memory. */
export interface LayerJob {
  data: Float32Array;
  O: number;
  I: number;
  Kh: number;
  Kw: number;
  hard: Uint8Array;
  soft: Float32Array;
  name?: string;
}

export interface ToMaskWorker {
  type: 'run';
  id: number;
  n: number;
  m: number;
  method: MaskMethod;
  denseFraction: number;
  jobs: LayerJob[];
  /** Job indices in the order they are taken. */
  order: Int32Array;
  /** counter[0]: position in `order` of the next job to take. */
  counter: Int32Array;
  /** done[job] = 1 once the job's masks are written (so the caller can use them before the others finish). */
  done?: Int32Array;
}

export interface JobFailure {
  kind: MaxqErrorKind | 'internal';
  message: string;
}

/** A worker's answer to a run, sent once it takes no more jobs ('ready' once after loading). */
export type FromMaskWorker = { type: 'done'; id: number; failure?: JobFailure } | { type: 'ready'; id: 0; failure?: undefined };

/**
 * Takes jobs until none is left. On a failure the other threads are stopped too (they finish their layer).
 * `afterEach` runs on this thread after each of its jobs and once more when none is left (the caller's thread
 * uses finished layers there); what it throws is this thread's failure.
 */
export function runLayerJobs(msg: ToMaskWorker, ws: MaskWorkspace, afterEach?: () => void): JobFailure | undefined {
  const pattern = new NmPattern(msg.n, msg.m);
  const total = msg.order.length;
  try {
    for (;;) {
      const next = Atomics.add(msg.counter, 0, 1);
      if (next >= total) {
        afterEach?.();
        return undefined;
      }
      const index = msg.order[next];
      const job = msg.jobs[index];
      computeLayerMask(job, pattern, msg.method, msg.denseFraction, job.name, { hardOut: job.hard, softOut: job.soft, workspace: ws });
      if (msg.done) Atomics.store(msg.done, index, 1);
      afterEach?.();
    }
  } catch (e) {
    Atomics.store(msg.counter, 0, total);
    return isMaxqError(e) ? { kind: e.kind, message: e.message } : { kind: 'internal', message: e instanceof Error ? e.stack ?? e.message : String(e) };
  }
}

/** A job failure as the error the caller throws: the same MaxqError kind as on one thread. */
export function failureToError(f: JobFailure): Error {
  return f.kind === 'internal' ? new Error(f.message) : new MaxqError(f.kind, f.message);
}

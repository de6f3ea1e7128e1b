/**
 * Worker threads that compute one layer's masks per call, for pipelines that stream layers through: while
 * the workers compute, the calling thread reads the next weights and writes finished masks (`maxq masks`).
 * `MaskPool` is the other shape, a whole model per call with the caller computing too; both run the same
 * worker entry and job loop (parallelJobs.ts), and write into the job's shared buffers in place.
 *
 * Calls beyond the number of workers queue; each layer goes to the first worker that is free. The calling
 * thread computes nothing, so its event loop stays free for the I/O.
 */
import { Worker } from 'worker_threads';
import { usageError } from '../errors';
import { MaskMethod } from '../types';
import { assertCanonicalShape } from './canonicalWeight';
import { assertMaskMethod } from './layerMask';
import { NmPattern } from './nmPattern';
import { failureToError, FromMaskWorker, LayerJob, ToMaskWorker } from './parallelJobs';
import { startMaskWorker } from './parallelMasks';

interface Waiting {
  job: LayerJob;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class LayerMaskWorkers {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Waiting[] = [];
  private readonly running = new Map<number, Waiting>();
  private nextId = 1;
  private broken?: Error;
  private closed = false;

  constructor(
    readonly workers: number,
    private readonly pattern: NmPattern,
    private readonly method: MaskMethod,
    private readonly denseFraction: number,
  ) {
    if (!Number.isInteger(workers) || workers < 1) throw usageError(`workers must be an integer ≥ 1, got ${workers}`);
    assertMaskMethod(method);
    for (let t = 0; t < workers; t++) {
      // Messages before `loaded` (the 'ready' one, id 0) match no running layer and are ignored by onDone.
      const { worker, loaded } = startMaskWorker((m) => this.onDone(worker, m), (e) => this.failAll(e));
      loaded.then(
        () => {
          this.idle.push(worker);
          this.dispatch();
        },
        () => undefined, // a worker that fails to start has already failed every call through failAll
      );
      this.all.push(worker);
    }
  }

  /** Computes one layer's masks into `job.hard` / `job.soft` (all of the job's arrays in shared memory). */
  async compute(job: LayerJob): Promise<void> {
    if (this.closed) throw new Error('mask workers are closed');
    if (this.broken) throw this.broken;
    assertCanonicalShape(job, job.name);
    for (const [label, a] of [['weight', job.data], ['hard mask', job.hard], ['soft mask', job.soft]] as const) {
      if (!(a.buffer instanceof SharedArrayBuffer)) throw usageError(`${label} of layer ${job.name ?? '?'} must be in shared memory`);
      if (a.length !== job.data.length) throw usageError(`${label} buffer has ${a.length} entries, weight has ${job.data.length}`);
    }
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
      this.holdProcess();
    });
  }

  /** Ends the workers; calls still queued or running reject. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('mask workers are closed'));
    await Promise.all(this.all.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.shift() as Worker;
      const waiting = this.queue.shift() as Waiting;
      const id = this.nextId++;
      this.running.set(id, waiting);
      const msg: ToMaskWorker = {
        type: 'run', id, n: this.pattern.n, m: this.pattern.m, method: this.method, denseFraction: this.denseFraction,
        jobs: [waiting.job], order: Int32Array.of(0), counter: new Int32Array(new SharedArrayBuffer(4)),
      };
      worker.postMessage(msg);
    }
  }

  private onDone(worker: Worker, m: FromMaskWorker): void {
    const waiting = this.running.get(m.id);
    if (!waiting) return;
    this.running.delete(m.id);
    this.idle.push(worker);
    if (m.failure) waiting.reject(failureToError(m.failure));
    else waiting.resolve();
    this.dispatch();
    this.holdProcess();
  }

  /** Layers queued or in progress keep the process alive (workers still starting included); idle workers do not. */
  private holdProcess(): void {
    const busy = this.queue.length + this.running.size > 0;
    for (const w of this.all) {
      if (busy) w.ref();
      else w.unref();
    }
  }

  private failAll(e: Error): void {
    this.broken ??= e;
    for (const w of [...this.running.values(), ...this.queue]) w.reject(e);
    this.running.clear();
    this.queue.length = 0;
  }
}

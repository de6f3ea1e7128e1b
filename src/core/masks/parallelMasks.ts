/**
 * Masks for a whole model on several threads. Layers are independent (spec §6: every layer is ranked on its
 * own), so the calling thread and `threads − 1` workers take whole layers from a shared counter, largest first,
 * until none is left: dynamic scheduling keeps the threads busy even when the OS deschedules one of them, and
 * no layer is split (the position axis of a 3×3 layer needs all of its rows).
 *
 * The workers read the weights and write the masks in place through SharedArrayBuffers, so nothing is copied
 * when the caller keeps its weights and mask buffers in shared memory (`sharedWeight`, `sharedMaskBuffers`).
 * Other buffers are copied into shared scratch before and out of it after each call.
 *
 * A `MaskPool` keeps its workers between calls (starting one costs tens of milliseconds, a training loop needs
 * masks at every step); `close()` ends them. `computeModelMasksParallel` without a pool starts one and closes it
 * before returning. Idle pools do not keep the process alive. The calling thread computes layers too, so it is
 * busy (not awaiting) for about 1/threads of the work; call from a worker where the event loop must stay free.
 */
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { usageError } from '../errors';
import { MaskMethod } from '../types';
import { assertCanonicalShape, CanonicalWeight } from './canonicalWeight';
import { assertMaskMethod, computeLayerMask, LayerMask, layerMaskSummary } from './layerMask';
import { NmPattern } from './nmPattern';
import { failureToError, FromMaskWorker, LayerJob, runLayerJobs, ToMaskWorker } from './parallelJobs';
import { MaskWorkspace } from './workspace';

export interface ParallelMaskOptions {
  /** Threads in all, the calling thread included (default: the available cores). 1 runs on the calling thread only. */
  threads?: number;
  /** A pool to run on; without one, a pool is started for this call and closed after it. */
  pool?: MaskPool;
  /** Output buffers per layer (weight length each); shared ones are written in place. */
  hardOut?: Uint8Array[];
  softOut?: Float32Array[];
  /** Layer names for error messages. */
  names?: string[];
  /**
   * Called on the calling thread once per layer as soon as its masks are written (workers' layers between the
   * calling thread's own, the rest after), so per-layer work on the masks overlaps the other threads' masks
   * and reads them while they are in cache. On a failure the call rejects; layers already passed stay passed.
   */
  onLayer?: (index: number, mask: LayerMask) => void;
}

/** A weight whose values live in shared memory (fill `data` before computing). */
export function sharedWeight(O: number, I: number, Kh = 1, Kw = 1): CanonicalWeight {
  const n = O * I * Kh * Kw;
  return { data: new Float32Array(new SharedArrayBuffer(4 * n)), O, I, Kh, Kw };
}

/** Shared output buffers for one layer of `n` weights. */
export function sharedMaskBuffers(n: number): { hard: Uint8Array; soft: Float32Array } {
  return { hard: new Uint8Array(new SharedArrayBuffer(n)), soft: new Float32Array(new SharedArrayBuffer(4 * n)) };
}

export function defaultThreadCount(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/** Same results as `computeLayerMask` on every layer, in layer order; computed on up to `threads` threads. */
export async function computeModelMasksParallel(
  layers: readonly CanonicalWeight[],
  pattern: NmPattern,
  method: MaskMethod,
  denseFraction = 0,
  opts: ParallelMaskOptions = {},
): Promise<LayerMask[]> {
  if (opts.pool) return opts.pool.compute(layers, pattern, method, denseFraction, opts);
  if (opts.threads !== undefined) assertThreads(opts.threads);
  const threads = Math.min(opts.threads ?? defaultThreadCount(), layers.length);
  if (threads <= 1) return layers.map((w, i) => computeLayerMask(w, pattern, method, denseFraction, opts.names?.[i], outs(opts, i)));
  const pool = new MaskPool(threads);
  try {
    return await pool.compute(layers, pattern, method, denseFraction, opts);
  } finally {
    await pool.close();
  }
}

function outs(opts: ParallelMaskOptions, i: number): { hardOut?: Uint8Array; softOut?: Float32Array } {
  return { hardOut: opts.hardOut?.[i], softOut: opts.softOut?.[i] };
}

function assertThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw usageError(`threads must be an integer ≥ 1, got ${threads}`);
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/**
 * One mask worker thread, unref'd (an idle worker does not keep the process alive). `loaded` resolves on its
 * first message, which says it has loaded, and rejects if it fails or exits before; every message (that one
 * included, id 0) goes to `onMessage`, and an error or exit at any time to `onFailure`.
 */
export function startMaskWorker(onMessage: (m: FromMaskWorker) => void, onFailure: (e: Error) => void): { worker: Worker; loaded: Promise<void> } {
  const worker = new Worker(path.join(__dirname, 'parallelMasksWorker.js'));
  worker.unref();
  const loaded = new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`mask worker exited with code ${code}`)));
  });
  worker.on('message', onMessage);
  worker.on('error', onFailure);
  worker.on('exit', (code) => onFailure(new Error(`mask worker exited with code ${code}`)));
  return { worker, loaded };
}

export class MaskPool {
  readonly threads: number;
  private readonly workers: Worker[] = [];
  private readonly ready: Promise<void>;
  private readonly workspace = new MaskWorkspace();
  private pending = new Map<number, { left: number; failure?: Error; settle: (failure?: Error) => void }>();
  private nextId = 1;
  private closed = false;
  private running = false;
  /** Set when a worker died: the pool cannot finish a call any more. */
  private broken?: Error;
  /** Shared scratch for callers' non-shared buffers, reused across calls while the sizes match. */
  private scratch: { data?: Float32Array; hard?: Uint8Array; soft?: Float32Array }[] = [];

  /** @param threads threads in all, the calling thread included (≥ 1). */
  constructor(threads = defaultThreadCount()) {
    assertThreads(threads);
    this.threads = threads;
    const started: Promise<void>[] = [];
    for (let t = 1; t < threads; t++) {
      const { worker, loaded } = startMaskWorker((m) => this.onMessage(m), (e) => this.failAll(e));
      started.push(loaded);
      this.workers.push(worker);
    }
    this.ready = Promise.all(started).then(() => undefined);
    this.ready.catch(() => undefined); // reported by compute()
  }

  /** Masks of every layer; one call at a time per pool. */
  async compute(
    layers: readonly CanonicalWeight[],
    pattern: NmPattern,
    method: MaskMethod,
    denseFraction = 0,
    opts: Omit<ParallelMaskOptions, 'pool' | 'threads'> = {},
  ): Promise<LayerMask[]> {
    if (this.closed) throw new Error('mask pool is closed');
    if (this.broken) throw this.broken;
    if (this.running) throw new Error('mask pool is already computing');
    assertMaskMethod(method);
    // Check what computeLayerMask would check before any thread starts, so bad input fails the same way.
    const summaries = layers.map((w, i) => {
      assertCanonicalShape(w, opts.names?.[i]);
      for (const [label, out] of [['hard', opts.hardOut?.[i]], ['soft', opts.softOut?.[i]]] as const) {
        if (out && out.length !== w.data.length) throw usageError(`${label} mask buffer has ${out.length} entries, weight has ${w.data.length}`);
      }
      return layerMaskSummary(w, pattern, denseFraction);
    });
    this.running = true;
    for (const w of this.workers) w.ref(); // a pending call keeps the process alive; an idle pool does not
    try {
      await this.ready;
      const jobs = layers.map((w, i) => this.job(w, i, opts));
      const results: LayerMask[] = new Array(jobs.length);
      const finish = (i: number): void => {
        const job = jobs[i];
        const hard = opts.hardOut?.[i] ?? job.hard;
        const soft = opts.softOut?.[i] ?? job.soft;
        if (hard !== job.hard) hard.set(job.hard);
        if (soft !== job.soft) soft.set(job.soft);
        results[i] = { hard, soft, ...summaries[i] };
        opts.onLayer?.(i, results[i]);
      };
      await this.run(jobs, pattern, method, denseFraction, finish);
      return results;
    } finally {
      for (const w of this.workers) w.unref();
      this.running = false;
    }
  }

  /** Ends the workers (a call in progress rejects). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('mask pool is closed'));
    this.scratch = [];
    this.workspace.release();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** A layer's job: its own buffers where they are shared, otherwise shared scratch (weights copied in). */
  private job(w: CanonicalWeight, i: number, opts: Omit<ParallelMaskOptions, 'pool' | 'threads'>): LayerJob {
    const n = w.data.length;
    const s = (this.scratch[i] ??= {});
    const hardOut = opts.hardOut?.[i];
    const softOut = opts.softOut?.[i];
    let data = w.data;
    if (!isShared(data)) {
      if (s.data?.length !== n) s.data = new Float32Array(new SharedArrayBuffer(4 * n));
      s.data.set(data);
      data = s.data;
    }
    let hard: Uint8Array;
    if (hardOut && isShared(hardOut)) hard = hardOut;
    else if (hardOut) hard = s.hard?.length === n ? s.hard : (s.hard = new Uint8Array(new SharedArrayBuffer(n)));
    else hard = new Uint8Array(new SharedArrayBuffer(n)); // returned to the caller: must not be reused
    let soft: Float32Array;
    if (softOut && isShared(softOut)) soft = softOut;
    else if (softOut) soft = s.soft?.length === n ? s.soft : (s.soft = new Float32Array(new SharedArrayBuffer(4 * n)));
    else soft = new Float32Array(new SharedArrayBuffer(4 * n));
    return { data, O: w.O, I: w.I, Kh: w.Kh, Kw: w.Kw, hard, soft, name: opts.names?.[i] };
  }

  /**
   * Posts the jobs to every worker, takes layers on this thread too, and waits for the workers to finish.
   * `finish(i)` runs on this thread once per finished layer: after each of its own layers for every layer done
   * so far, then for the rest once the workers are done; not after a failure.
   */
  private async run(jobs: LayerJob[], pattern: NmPattern, method: MaskMethod, denseFraction: number, finish: (i: number) => void): Promise<void> {
    // Largest layers first, so that the last layers taken are small and the threads finish together.
    const order = Int32Array.from(jobs.map((_, i) => i).sort((a, b) => jobs[b].data.length - jobs[a].data.length || a - b));
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const done = new Int32Array(new SharedArrayBuffer(4 * jobs.length));
    const finished = new Uint8Array(jobs.length);
    const drain = (): void => {
      for (let i = 0; i < jobs.length; i++) {
        if (!finished[i] && Atomics.load(done, i) === 1) {
          finished[i] = 1;
          finish(i);
        }
      }
    };
    const id = this.nextId++;
    const workersDone = new Promise<Error | undefined>((resolve) => {
      this.pending.set(id, { left: this.workers.length, settle: resolve });
    });
    const msg: ToMaskWorker = { type: 'run', id, n: pattern.n, m: pattern.m, method, denseFraction, jobs, order, counter, done };
    for (const w of this.workers) w.postMessage(msg);
    const mine = runLayerJobs(msg, this.workspace, drain);
    const theirs = await workersDone;
    const failure = mine ? failureToError(mine) : theirs;
    if (failure) throw failure;
    drain();
  }

  /** Every worker answers each run once, after its last layer; the first failure is kept. */
  private onMessage(m: FromMaskWorker): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.failure && !p.failure) p.failure = failureToError(m.failure);
    if (--p.left === 0) {
      this.pending.delete(m.id);
      p.settle(p.failure);
    }
  }

  /** A worker died or the pool closed: pending calls reject, later ones too. */
  private failAll(e: Error): void {
    this.broken ??= e;
    for (const p of this.pending.values()) p.settle(e);
    this.pending.clear();
  }
}

/**
 * Host side of a core worker thread: typed request/response calls, errors rebuilt as MaxqError, and a fresh
 * thread on the next call if the previous one died (a crash in one request never disables the feature).
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { MaxqError } from '../../core/errors';
import { CoreOp, CoreOps, FromCoreWorker, ToCoreWorker, WorkerError } from './coreWorkerProtocol';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

function fromWorkerError(e: WorkerError): Error {
  // MaxqError's constructor prefixes the file; the message already has it, so build without one.
  const err = e.kind ? new MaxqError(e.kind, e.message, undefined, e.details) : new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

export class CoreWorkerClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;

  /** `label` names the thread in error messages ("inspector of model.onnx"). */
  constructor(private readonly label: string) {}

  call<K extends CoreOp>(op: K, req: CoreOps[K]['req']): Promise<CoreOps[K]['res']> {
    if (this.disposed) return Promise.reject(new Error(`the MaxQ worker for ${this.label} was closed`));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<CoreOps[K]['res']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, op, req } as ToCoreWorker);
    });
  }

  dispose(): void {
    this.disposed = true;
    this.stop(new Error(`the MaxQ worker for ${this.label} was closed`));
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(path.join(__dirname, 'coreWorkerMain.js'));
    worker.on('message', (m: FromCoreWorker) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(fromWorkerError(m.error));
    });
    worker.on('error', (e) => this.stop(new Error(`the MaxQ worker for ${this.label} failed: ${e.message}`), worker));
    worker.on('exit', (code) => this.stop(new Error(`the MaxQ worker for ${this.label} stopped (exit code ${code})`), worker));
    // An idle worker must not keep the extension host alive at shutdown.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private stop(reason: Error, which: Worker | undefined = this.worker): void {
    if (!which || which !== this.worker) return;
    this.worker = undefined;
    void which.terminate();
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }
}

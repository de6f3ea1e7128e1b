/**
 * Entry point of the extension's core worker thread. Loading a big model, validating it and computing a layer's
 * masks can each take from a fraction of a second to several seconds: here they never block the extension host.
 * Requests run concurrently; each reply carries its request's id.
 */
import { parentPort } from 'worker_threads';
import { isMaxqError } from '../../core/errors';
import { summarizeModel } from '../../core/inspect';
import { exportRecipe } from '../../core/recipe/exportRecipe';
import { validateLoadedModel, validateModel } from '../../core/validate/validateModel';
import { answerCell, answerTiles } from './heatmapRequests';
import { CoreOps, FromCoreWorker, ToCoreWorker, WorkerError } from './coreWorkerProtocol';
import { LayerStore } from './layerStore';

const store = new LayerStore();

async function handle(msg: ToCoreWorker): Promise<CoreOps[typeof msg.op]['res']> {
  switch (msg.op) {
    case 'inspect': {
      const { path, ...opts } = msg.req;
      return summarizeModel(await store.model(path), opts);
    }
    case 'validate': {
      const { path, ...opts } = msg.req;
      // Pattern-only checks reuse the cached model; a numeric check or BN re-estimation goes through the full API.
      if (opts.reference || opts.bnRecalibrate) return validateModel(path, opts);
      return validateLoadedModel(await store.model(path), opts);
    }
    case 'tiles': {
      const { path, ...req } = msg.req;
      return answerTiles(store, path, req);
    }
    case 'cell': {
      const { path, ...req } = msg.req;
      return answerCell(store, path, req);
    }
    case 'exportRecipe':
      return exportRecipe(msg.req.options, msg.req.file, { overwrite: msg.req.overwrite });
    case 'forget':
      store.forget(msg.req.path);
      return null;
  }
}

function toWorkerError(e: unknown): WorkerError {
  if (isMaxqError(e)) return { name: e.name, message: e.message, kind: e.kind, stack: e.stack, details: e.details };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/** Typed arrays in a result are moved, not copied, to the host. */
function transferables(result: unknown): ArrayBuffer[] {
  if (result && typeof result === 'object' && 'values' in result && (result as { values: unknown }).values instanceof Float32Array) {
    return [((result as { values: Float32Array }).values.buffer as ArrayBuffer)];
  }
  return [];
}

const port = parentPort;
if (!port) throw new Error('coreWorkerMain must run in a worker thread');
port.on('message', (msg: ToCoreWorker) => {
  handle(msg).then(
    (result) => port.postMessage({ id: msg.id, ok: true, result } satisfies FromCoreWorker, transferables(result)),
    (e) => port.postMessage({ id: msg.id, ok: false, error: toWorkerError(e) } satisfies FromCoreWorker),
  );
});

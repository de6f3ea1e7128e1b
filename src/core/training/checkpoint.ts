/**
 * Checkpoints of a fine-tune, written atomically at the end of every epoch into the run directory, so a
 * cancelled or crashed run resumes from its last finished epoch with `--resume DIR`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { inputError } from '../errors';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { writeFileAtomic } from '../io/atomicWrite';
import { loadOptimizerState, OptimizerState, saveOptimizerState } from './optim';

export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  globalStep: number;
  /** Identifies the run the checkpoint belongs to (model, pattern, method, batch, epochs). */
  fingerprint: string;
  history: unknown[];
  /** Sub-folder holding this checkpoint's tensors (`epoch-<n>`). */
  files?: string;
}

const FILES = { tensors: 'weights.safetensors', optimizer: 'optimizer.safetensors', state: 'state.json' };

/**
 * Each epoch's tensors go to their own `epoch-<n>` folder and state.json is written last, naming it: a run
 * killed mid-save resumes from the previous complete checkpoint, never from new weights with an old epoch.
 */
export async function saveCheckpoint(dir: string, state: CheckpointState, tensors: Map<string, Float32Array>, optimizer: OptimizerState): Promise<void> {
  const files = `epoch-${state.epoch}`;
  const folder = path.join(dir, files);
  await fs.promises.mkdir(folder, { recursive: true });
  writeSafetensors(path.join(folder, FILES.tensors), [...tensors].map(([name, data]) => ({ name, dtype: 'F32' as const, shape: [data.length], data })));
  saveOptimizerState(path.join(folder, FILES.optimizer), optimizer);
  await writeFileAtomic(path.join(dir, FILES.state), Buffer.from(JSON.stringify({ ...state, files })));
  for (const old of await fs.promises.readdir(dir)) {
    if (old.startsWith('epoch-') && old !== files) await fs.promises.rm(path.join(dir, old), { recursive: true, force: true });
  }
}

/**
 * The folder holding a checkpoint's state.json: `dir` itself, or `dir/checkpoint` when `dir` is the run
 * directory the checkpoints were written under (`--run-dir`), which is what users pass to `--resume`.
 */
export function resolveCheckpointDir(dir: string): string {
  if (fs.existsSync(path.join(dir, FILES.state))) return dir;
  const inRunDir = path.join(dir, 'checkpoint');
  if (fs.existsSync(path.join(inRunDir, FILES.state))) return inRunDir;
  throw inputError(dir, `no checkpoint to resume from (neither ${FILES.state} nor checkpoint/${FILES.state} found)`);
}

export interface LoadedCheckpoint {
  state: CheckpointState;
  tensors: Map<string, Float32Array>;
  optimizer: OptimizerState;
  /** The weights file, for errors about its tensors. */
  tensorsFile: string;
}

export function loadCheckpoint(dir: string, fingerprint: string): LoadedCheckpoint {
  const statePath = path.join(resolveCheckpointDir(dir), FILES.state);
  const state = readState(statePath);
  if (state.fingerprint !== fingerprint) {
    throw inputError(statePath, `the checkpoint belongs to a different run (${state.fingerprint}); resume with the same model, pattern, method, batch size and epochs`);
  }
  const folder = path.join(path.dirname(statePath), state.files ?? '');
  const tensorsFile = path.join(folder, FILES.tensors);
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of readSafetensors(tensorsFile).tensors) tensors.set(name, t.data as Float32Array);
  return { state, tensors, optimizer: loadOptimizerState(path.join(folder, FILES.optimizer)), tensorsFile };
}

function readState(statePath: string): CheckpointState {
  let state: CheckpointState;
  try {
    state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as CheckpointState;
  } catch (e) {
    throw inputError(statePath, `not a readable checkpoint state (${(e as Error).message}); the run directory is damaged: start the run again without --resume`);
  }
  const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (!state || typeof state !== 'object' || !count(state.epoch) || !count(state.globalStep) || typeof state.fingerprint !== 'string' || (state.files !== undefined && (typeof state.files !== 'string' || !/^epoch-\d+$/.test(state.files)))) {
    throw inputError(statePath, 'not a checkpoint state (expected epoch, globalStep, fingerprint and files); the run directory is damaged: start the run again without --resume');
  }
  return state;
}

/**
 * Copies the checkpoint's tensor `key` into `into`, refusing a missing tensor, another length or a non-finite
 * value (a damaged file), naming the weights file: resuming from part of a checkpoint would silently mix runs.
 */
export function restoreTensor(cp: LoadedCheckpoint, key: string, into: Float32Array): void {
  const t = cp.tensors.get(key);
  if (!t) throw inputError(cp.tensorsFile, `the checkpoint has no tensor '${key}'; it does not belong to this run`);
  if (t.length !== into.length) throw inputError(cp.tensorsFile, `tensor '${key}' has ${t.length} values, the run needs ${into.length}`);
  for (let i = 0; i < t.length; i++) {
    if (!Number.isFinite(t[i])) throw inputError(cp.tensorsFile, `tensor '${key}' holds ${t[i]} at index ${i}; the checkpoint is damaged`);
  }
  into.set(t);
}

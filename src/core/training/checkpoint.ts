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

export function loadCheckpoint(dir: string, fingerprint: string): { state: CheckpointState; tensors: Map<string, Float32Array>; optimizer: OptimizerState } {
  const statePath = path.join(dir, FILES.state);
  if (!fs.existsSync(statePath)) throw inputError(dir, 'no checkpoint to resume from (state.json not found)');
  const state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as CheckpointState;
  if (state.fingerprint !== fingerprint) {
    throw inputError(dir, `the checkpoint belongs to a different run (${state.fingerprint}); resume with the same model, pattern, method, batch size and epochs`);
  }
  const folder = path.join(dir, state.files ?? '');
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of readSafetensors(path.join(folder, FILES.tensors)).tensors) tensors.set(name, t.data as Float32Array);
  return { state, tensors, optimizer: loadOptimizerState(path.join(folder, FILES.optimizer)) };
}

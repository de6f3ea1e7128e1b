/**
 * Optimizer state for checkpoints. Each optimizer exports its per-parameter buffers (momentum, Adam moments)
 * as named fp32 tensors plus a little JSON (kind, hyper-parameters, per-parameter step counts), which maps
 * directly onto a safetensors file: resuming from it continues bit-identically.
 */
import { inputError } from '../../errors';
import { readSafetensors, writeSafetensors } from '../../io/safetensors';
import { OptimParam } from './param';

export type OptimizerKind = 'sgd' | 'adamw';

export interface OptimizerState {
  kind: OptimizerKind;
  /** Hyper-parameters the state was produced with (informational; the live optimizer keeps its own). */
  hyper: Record<string, number | boolean>;
  /** Completed update count per parameter name. */
  steps: Record<string, number>;
  /** Buffers keyed `<buffer>/<parameter name>`, e.g. `momentum/conv1.weight`. */
  tensors: Record<string, Float32Array>;
}

export interface Optimizer {
  readonly kind: OptimizerKind;
  /** Applies one update with learning rate `lr` to every parameter, in place. */
  step(params: readonly OptimParam[], lr: number): void;
  /** The state; its arrays are the optimizer's live buffers — serialise them before the next step(). */
  state(): OptimizerState;
  /** Restores a state() (copies the buffers). */
  loadState(state: OptimizerState): void;
}

const META_KEY = 'maxq.optimizer';

/** Writes a state as safetensors: one F32 tensor per buffer, the rest as JSON metadata. */
export function saveOptimizerState(file: string, state: OptimizerState): void {
  const entries = Object.entries(state.tensors).map(([name, data]) => ({ name, dtype: 'F32' as const, shape: [data.length], data }));
  writeSafetensors(file, entries, { [META_KEY]: JSON.stringify({ kind: state.kind, hyper: state.hyper, steps: state.steps }) });
}

export function loadOptimizerState(file: string): OptimizerState {
  const { metadata, tensors } = readSafetensors(file);
  const meta = metadata[META_KEY];
  if (meta === undefined) throw inputError(file, 'not an optimizer state file (no maxq.optimizer metadata)');
  let parsed: { kind?: unknown; hyper?: unknown; steps?: unknown };
  try {
    parsed = JSON.parse(meta);
  } catch (e) {
    throw inputError(file, `optimizer metadata is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed.kind !== 'sgd' && parsed.kind !== 'adamw') throw inputError(file, `unknown optimizer kind ${JSON.stringify(parsed.kind)}`);
  const out: OptimizerState = {
    kind: parsed.kind,
    hyper: (parsed.hyper ?? {}) as Record<string, number | boolean>,
    steps: (parsed.steps ?? {}) as Record<string, number>,
    tensors: {},
  };
  for (const [name, t] of tensors) {
    if (t.dtype !== 'F32') throw inputError(file, `optimizer buffer '${name}' is ${t.dtype}, expected F32`);
    out.tensors[name] = t.data as Float32Array;
  }
  return out;
}

/** Checks a loaded state belongs to this kind of optimizer; a mismatch means the wrong checkpoint. */
export function checkStateKind(state: OptimizerState, kind: OptimizerKind): void {
  if (state.kind !== kind) throw inputError(undefined, `the checkpoint holds ${state.kind} optimizer state, but this run uses ${kind}`);
}

/** A buffer restored from a checkpoint must fit its parameter; otherwise the checkpoint is for another model. */
export function checkBufferSize(buffer: Float32Array, name: string, size: number): void {
  if (buffer.length !== size) {
    throw inputError(undefined, `optimizer state for '${name}' has ${buffer.length} elements but the parameter has ${size}; the checkpoint is for a different model`);
  }
}

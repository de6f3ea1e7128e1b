/**
 * The preprocessing a model carries in its metadata (`maxq.preprocessing`, written by every sparsify run that had
 * data), applied to npy/image data given without one: re-running, re-estimating or comparing on a model a run
 * wrote needs no `--normalize`. An explicit normalisation wins; when it differs from the recorded one, a warning
 * says so. The MNIST demo has its own fixed preprocessing and is left as it is.
 */
import { OnnxModel } from '../onnx/onnxModel';
import { describeNormalize, parseNormalization, resolveNormalize, sameNormalization } from '../data/normalize';
import { DataSpec } from './options';

export const PREPROCESSING_METADATA_KEY = 'maxq.preprocessing';

/** The model's metadata_props as a record (later entries of a repeated key win). */
export function modelMetadata(model: OnnxModel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of model.model.metadataProps ?? []) if (p.key) out[p.key] = p.value ?? '';
  return out;
}

export interface PreprocessingNote {
  level: 'info' | 'warn';
  message: string;
}

export interface ResolvedPreprocessing {
  /** The data spec to open: `normalize` filled in from the metadata when it was absent. */
  data: DataSpec | undefined;
  /** Where the data's preprocessing came from; absent when the data takes none (no data, the MNIST demo). */
  from?: 'option' | 'model metadata';
  /** What to tell the user (an info line when the metadata was used, a warning when the option overrides it). */
  notes: PreprocessingNote[];
}

/** "1/255,0.1307,0.3081 (MNIST mean/std)", or the string alone when it is no preset. */
export function describeSpec(spec: string): string {
  const label = describeNormalize(spec);
  return label === spec ? spec : `${spec} (${label})`;
}

function parsed(spec: string): ReturnType<typeof parseNormalization> | undefined {
  try {
    return parseNormalization(spec);
  } catch {
    return undefined;
  }
}

/**
 * Reconciles `data.normalize` with the model's `maxq.preprocessing` metadata (see the module comment). Pure: the
 * caller emits the notes where its user sees them.
 */
export function resolvePreprocessing(data: DataSpec | undefined, metadata: Record<string, string>): ResolvedPreprocessing {
  if (!data || (data.kind !== 'npy' && data.kind !== 'images')) return { data, notes: [] };
  const recorded = metadata[PREPROCESSING_METADATA_KEY]?.trim();
  const notes: PreprocessingNote[] = [];
  const recordedNorm = recorded ? parsed(recorded) : undefined;
  if (recorded && !recordedNorm) {
    notes.push({ level: 'warn', message: `the model's ${PREPROCESSING_METADATA_KEY} metadata '${recorded}' is not a valid preprocessing; ignored` });
  }
  if (data.normalize !== undefined && data.normalize.trim() !== '') {
    const given = parsed(data.normalize);
    if (recordedNorm && given && !sameNormalization(given, recordedNorm)) {
      notes.push({
        level: 'warn',
        message: `preprocessing ${describeSpec(resolveNormalize(data.normalize))} as given, but the model's metadata records ${describeSpec(recorded!)} (${PREPROCESSING_METADATA_KEY}); using the one given`,
      });
    }
    return { data, from: 'option', notes };
  }
  if (!recordedNorm) return { data, notes };
  notes.push({ level: 'info', message: `preprocessing from the model's metadata: ${describeSpec(recorded!)}` });
  return { data: { ...data, normalize: recorded }, from: 'model metadata', notes };
}

/** resolvePreprocessing on a loaded model. */
export function resolveModelPreprocessing(model: OnnxModel, data: DataSpec | undefined): ResolvedPreprocessing {
  return resolvePreprocessing(data, modelMetadata(model));
}

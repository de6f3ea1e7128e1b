/**
 * Where a sparse model came from: its run record (`<model>.run.json`) names the dense source and the data it was
 * trained on, which are the natural reference and inputs for the numeric check.
 */
import * as fs from 'fs';
import { runRecordPath } from '../../core/sparsify/runRecord';
import { readRunRecord } from '../dashboard/runRecordFile';

export interface NumericSources {
  reference: string | null;
  inputs: string | null;
}

export async function numericSourcesFor(modelPath: string): Promise<NumericSources> {
  const recordPath = runRecordPath(modelPath);
  if (!fs.existsSync(recordPath)) return { reference: null, inputs: null };
  try {
    const record = await readRunRecord(recordPath);
    const reference = record.model && fs.existsSync(record.model) ? record.model : null;
    const data = record.options.data as { kind?: string; inputs?: unknown } | undefined;
    const inputs = data?.kind === 'npy' && typeof data.inputs === 'string' && fs.existsSync(data.inputs) ? data.inputs : null;
    return { reference, inputs };
  } catch {
    return { reference: null, inputs: null }; // an unreadable record just means no automatic reference
  }
}

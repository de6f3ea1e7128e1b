/** The run record written beside a sparse model (`<out>.run.json`), so any finished run can be shown again. */
import * as fs from 'fs';
import { writeFileAtomic } from '../io/atomicWrite';
import { RunEvent, RunRecord, RunSummary } from '../types';
import { DataSpec } from './options';

export function runRecordPath(out: string): string {
  return `${out}.run.json`;
}

export class RunRecorder {
  readonly record: RunRecord;

  constructor(runId: string, model: string, output: string, options: Record<string, unknown>) {
    this.record = { version: 1, runId, createdAt: new Date().toISOString(), model, output, options, events: [] };
  }

  /** Keeps what the dashboard plots; per-step events are thinned so long runs stay small. */
  add(e: RunEvent): void {
    if (e.type === 'step' && e.step % 10 !== 0) return;
    this.record.events.push(e);
  }

  async save(summary?: RunSummary): Promise<string> {
    if (summary) this.record.summary = summary;
    const path = runRecordPath(this.record.output);
    await writeFileAtomic(path, Buffer.from(JSON.stringify(this.record, null, 1)));
    return path;
  }
}

/** The data a model was sparsified with, from its run record; undefined when there is none or it named none. */
export function dataOfRun(modelPath: string): DataSpec | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(runRecordPath(modelPath), 'utf8')) as RunRecord;
    const data = record.options?.data as DataSpec | undefined;
    return data && data.kind !== 'none' ? data : undefined;
  } catch {
    return undefined;
  }
}

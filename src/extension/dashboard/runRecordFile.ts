/** Reads a `*.run.json` run record and checks it is one before the dashboard trusts it. */
import * as fs from 'fs';
import { inputError } from '../../core/errors';
import type { RunRecord } from '../../core/types';

export function isRunRecordPath(p: string): boolean {
  return p.toLowerCase().endsWith('.run.json');
}

export function parseRunRecord(text: string, file: string): RunRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw inputError(file, `not a MaxQ run record: invalid JSON (${(e as Error).message})`);
  }
  const r = doc as Partial<RunRecord> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw inputError(file, 'not a MaxQ run record: the JSON is not an object');
  if (r.version !== 1) throw inputError(file, `not a MaxQ run record of a known version (version ${String(r.version)})`);
  if (!Array.isArray(r.events)) throw inputError(file, 'not a MaxQ run record: it has no events list');
  const events = r.events.filter((e) => e && typeof e === 'object' && typeof (e as { type?: unknown }).type === 'string');
  return {
    version: 1,
    runId: String(r.runId ?? ''),
    createdAt: String(r.createdAt ?? ''),
    model: String(r.model ?? ''),
    output: String(r.output ?? ''),
    options: r.options && typeof r.options === 'object' ? r.options : {},
    events,
    ...(r.summary ? { summary: r.summary } : {}),
  };
}

export async function readRunRecord(file: string): Promise<RunRecord> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw inputError(file, code === 'ENOENT' ? 'run record not found' : `cannot read the run record: ${(e as Error).message}`);
  }
  return parseRunRecord(text, file);
}

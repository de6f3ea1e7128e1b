/**
 * Writes a run's events as JSON lines (`maxq sparsify --events run.jsonl`), the same stream maxq_torch writes
 * under torchrun, so either engine's run can be followed live in the dashboard. Each line is written whole with
 * one append, so a reader never sees half an event except the line being written.
 */
import * as fs from 'fs';
import { inputError } from '../errors';
import type { RunEvent } from '../types';

export class RunLogWriter {
  private fd: number | null;

  constructor(readonly file: string) {
    try {
      // A new log each run (a follower sees the file shrink and starts over), appended to: every line lands at the
      // end even when something else appends too.
      const { O_WRONLY, O_CREAT, O_TRUNC, O_APPEND } = fs.constants;
      this.fd = fs.openSync(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
    } catch (e) {
      throw inputError(file, `cannot write the run log: ${(e as Error).message}`);
    }
  }

  write(e: RunEvent): void {
    if (this.fd === null) return;
    fs.writeSync(this.fd, JSON.stringify(e) + '\n');
  }

  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Incremental reader of a run log (JSON lines): bytes go in as they are appended to the file, whole events come
 * out. A line still being written (no newline yet) waits for the next chunk; a bad line is counted and reported
 * once by line number, never thrown. UTF-8 split across chunks is handled by the streaming decoder.
 */
import * as fs from 'fs';
import { inputError } from '../errors';
import type { RunEvent } from '../types';
import { parseRunEventLine } from './runEventLine';

export interface BadLine {
  line: number;
  problem: string;
}

export class RunLogParser {
  private readonly decoder = new TextDecoder('utf-8');
  private partial = '';
  private lineNo = 0;
  readonly badLines: BadLine[] = [];

  /** Events completed by this chunk. */
  push(chunk: Uint8Array): RunEvent[] {
    const text = this.partial + this.decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    this.partial = lines.pop() as string;
    return this.parseLines(lines);
  }

  /** The last line, when the file ends without a newline (a finished log written by a tool that omits it). */
  end(): RunEvent[] {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    return rest.trim() ? this.parseLines([rest]) : [];
  }

  /** Lines read so far (complete ones). */
  get lines(): number {
    return this.lineNo;
  }

  private parseLines(lines: string[]): RunEvent[] {
    const out: RunEvent[] = [];
    for (const raw of lines) {
      this.lineNo++;
      const line = raw.trim();
      if (!line) continue;
      const r = parseRunEventLine(line);
      if (r.ok) out.push(r.event);
      else this.badLines.push({ line: this.lineNo, problem: r.problem });
    }
    return out;
  }
}

/** Every event of a finished (or growing) log file, read once. A file with no event at all is not a run log. */
export function readRunLog(file: string): { events: RunEvent[]; badLines: BadLine[] } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw inputError(file, code === 'ENOENT' ? 'run log not found' : `cannot read the run log: ${(e as Error).message}`);
  }
  const parser = new RunLogParser();
  const events = [...parser.push(bytes), ...parser.end()];
  if (events.length === 0 && parser.badLines.length > 0) {
    const first = parser.badLines[0];
    throw inputError(file, `not a MaxQ run log (JSON lines of run events): line ${first.line}: ${first.problem}`);
  }
  return { events, badLines: parser.badLines };
}

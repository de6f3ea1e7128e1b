/**
 * Follows a run log while another process appends to it (`tail -f` for run events): reads only the bytes added
 * since the last read, on a poll interval and whenever fs.watch says the file changed (fs.watch alone misses
 * changes on some file systems; polling alone is slower to react). A file that shrinks or is replaced starts
 * over (the trainer restarted); a file that does not exist yet is waited for. Stops by itself after the run's
 * last event (done / error / cancelled). No vscode import: the dashboard and the tests both use it.
 */
import * as fs from 'fs';
import type { RunEvent } from '../types';
import { isTerminalEvent } from './runEventLine';
import { BadLine, RunLogParser } from './runLogParser';

export interface RunLogListener {
  /** New events, in file order. */
  events(events: RunEvent[]): void;
  /** The file was truncated or replaced: everything said so far no longer holds; `events` follows. */
  reset(): void;
  /** A line that is not a run event (reported once per line), or the file went missing. */
  problem(message: string): void;
}

export interface FollowOptions {
  /** Poll period (ms); default 500. */
  intervalMs?: number;
}

const READ_CHUNK = 1 << 20;

export class RunLogFollower {
  private parser = new RunLogParser();
  private offset = 0;
  private ino: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private reading: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private missingSaid = false;
  private reportedBad = 0;
  private finished = false;

  constructor(readonly file: string, private readonly listener: RunLogListener, private readonly options: FollowOptions = {}) {}

  /** Reads what is there now, then keeps following. Resolves after the first read. */
  async start(): Promise<void> {
    await this.poll();
    if (this.stopped || this.finished) return;
    this.timer = setInterval(() => void this.poll(), this.options.intervalMs ?? 500);
    this.timer.unref?.();
    try {
      this.watcher = fs.watch(this.file, { persistent: false }, () => void this.poll());
      this.watcher.on('error', () => this.closeWatcher());
    } catch {
      // No watch on this file system (or no file yet): polling does the job.
    }
  }

  /** The run's last event has been read: nothing more will come. */
  get ended(): boolean {
    return this.finished;
  }

  get badLines(): readonly BadLine[] {
    return this.parser.badLines;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closeWatcher();
  }

  /** One read of whatever was appended; concurrent calls coalesce into one more read after the current one. */
  poll(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          await this.readNew();
        } while (this.again && !this.stopped);
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private async readNew(): Promise<void> {
    if (this.stopped) return;
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.file, 'r');
    } catch (e) {
      if (!this.missingSaid) {
        this.missingSaid = true;
        const code = (e as NodeJS.ErrnoException).code;
        this.listener.problem(code === 'ENOENT' ? `${this.file}: no such file yet; waiting for the run to create it` : `${this.file}: cannot read: ${(e as Error).message}`);
      }
      return;
    }
    try {
      this.missingSaid = false;
      const st = await fh.stat();
      if ((this.ino !== null && st.ino !== this.ino) || st.size < this.offset) this.restart();
      this.ino = st.ino;
      const out: RunEvent[] = [];
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      while (this.offset < st.size && !this.stopped) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(READ_CHUNK, st.size - this.offset), this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        out.push(...this.parser.push(buf.subarray(0, bytesRead)));
      }
      this.reportBadLines();
      if (this.stopped) return;
      const end = out.findIndex(isTerminalEvent);
      const events = end >= 0 ? out.slice(0, end + 1) : out;
      if (events.length > 0) this.listener.events(events);
      if (end >= 0) {
        this.finished = true;
        this.stop();
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  private restart(): void {
    this.parser = new RunLogParser();
    this.offset = 0;
    this.reportedBad = 0;
    this.listener.reset();
  }

  private reportBadLines(): void {
    const bad = this.parser.badLines;
    for (; this.reportedBad < bad.length; this.reportedBad++) {
      const b = bad[this.reportedBad];
      this.listener.problem(`${this.file}: line ${b.line} skipped: ${b.problem}`);
    }
  }
}

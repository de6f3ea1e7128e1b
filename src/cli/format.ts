/** Plain-text tables and progress for the terminal. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => '  ' + cells.map((s, c) => (c === cells.length - 1 ? s : s.padEnd(widths[c]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** What ProgressLine writes to: process.stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

/**
 * A one-line progress bar, redrawn in place on a TTY; silent elsewhere (logs stay clean in CI). Anything else
 * written to the terminal while a bar is drawn must call `done()` (or `ProgressLine.clearActive()`) first, so it
 * starts on a clean line instead of after the bar.
 */
export class ProgressLine {
  /** The bar now drawn on the terminal, if any. */
  private static active: ProgressLine | null = null;
  private readonly tty: boolean;
  private last = '';

  constructor(private readonly stream: ProgressStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Clears whichever bar is drawn (the error path: the message must not land on the bar's line). */
  static clearActive(): void {
    ProgressLine.active?.done();
  }

  update(fraction: number, text: string): void {
    if (!this.tty) return;
    const width = 24;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${text}`;
    if (line === this.last) return;
    this.last = line;
    ProgressLine.active = this;
    this.stream.write(`\r${line.slice(0, (this.stream.columns || 100) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.tty && this.last) this.stream.write('\r\x1b[K');
    this.last = '';
    if (ProgressLine.active === this) ProgressLine.active = null;
  }
}

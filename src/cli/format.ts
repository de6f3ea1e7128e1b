/** Plain-text tables and progress for the terminal. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => '  ' + cells.map((s, c) => (c === cells.length - 1 ? s : s.padEnd(widths[c]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A one-line progress bar, redrawn in place on a TTY; silent elsewhere (logs stay clean in CI). */
export class ProgressLine {
  private readonly tty = Boolean(process.stderr.isTTY);
  private last = '';

  update(fraction: number, text: string): void {
    if (!this.tty) return;
    const width = 24;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${text}`;
    if (line === this.last) return;
    this.last = line;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.tty && this.last) process.stderr.write('\r\x1b[K');
    this.last = '';
  }
}

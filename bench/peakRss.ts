/**
 * The peak resident set of this process, in KiB.
 *
 * On Linux `getrusage`'s ru_maxrss (Node's `process.resourceUsage().maxRSS`) survives fork + exec: a child
 * started by a large bench process reports the parent's peak until it outgrows it (a 40 MB child of a 600 MB
 * parent reads 618 MB). /proc/self/status's VmHWM belongs to this process's own address space, so it is read
 * where it exists; elsewhere maxRSS is the best there is.
 */
import * as fs from 'fs';

export function peakRssKb(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // no procfs (macOS, Windows)
  }
  return process.resourceUsage().maxRSS;
}

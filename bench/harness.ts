/**
 * Shared pieces of the bench suite: the module/result types the runner (`index.ts`) understands and a timer that
 * reports the median of several runs (robust to one-off GC pauses and to other processes on a shared machine).
 */
import * as fs from 'fs';

export interface BenchResult {
  /** Case name, unique within its module. */
  name: string;
  medianMs: number;
  minMs: number;
  /** Median CPU time (user + system) of this process per run: on a shared machine, closer to the unloaded time. */
  cpuMs?: number;
  runs: number;
  /** Median time divided by the named baseline case's median (same module), when the case has one. */
  ratio?: number;
  /** The same for the median CPU times: steadier on a shared machine, but for a multi-threaded case it sums the threads. */
  cpuRatio?: number;
  baseline?: string;
  /** Free text: sizes, targets, reference figures. */
  note?: string;
}

export interface BenchModule {
  name: string;
  run(): Promise<BenchResult[]>;
}

export interface Timing {
  medianMs: number;
  minMs: number;
  /** Median CPU time per run, when measured (see BenchResult.cpuMs). */
  cpuMs?: number;
  /**
   * Median CPU time of the busiest thread of this process per run (Linux only). For multi-threaded work on a
   * shared machine it is what the wall time would be if every thread had a core of its own.
   */
  busiestThreadCpuMs?: number;
  samplesMs: number[];
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` `warmup` times untimed (JIT), then `runs` times timed. */
export function timeIt(fn: () => void, runs = 7, warmup = 2): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  return { medianMs: median(samples), minMs: Math.min(...samples), cpuMs: median(cpu), samplesMs: samples };
}

/**
 * `timeIt` for work that completes asynchronously (worker threads). CPU time is the whole process, all threads;
 * where /proc is available the busiest thread's CPU time is measured too.
 */
export async function timeItAsync(fn: () => Promise<unknown>, runs = 7, warmup = 2): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  const cpu: number[] = [];
  const busiest: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = threadCpuNs();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
    const after = threadCpuNs();
    if (before && after) busiest.push(Math.max(...[...after].map(([tid, ns]) => ns - (before.get(tid) ?? 0))) / 1e6);
  }
  const busiestThreadCpuMs = busiest.length ? median(busiest) : undefined;
  return { medianMs: median(samples), minMs: Math.min(...samples), cpuMs: median(cpu), busiestThreadCpuMs, samplesMs: samples };
}

/** CPU nanoseconds of every thread of this process (Linux /proc/self/task/<tid>/schedstat), or undefined. */
function threadCpuNs(): Map<string, number> | undefined {
  try {
    const out = new Map<string, number>();
    for (const tid of fs.readdirSync('/proc/self/task')) {
      try {
        out.set(tid, Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // the thread ended between the listing and the read
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

export function result(name: string, t: Timing, extra: Partial<BenchResult> = {}): BenchResult {
  return { name, medianMs: t.medianMs, minMs: t.minMs, cpuMs: t.cpuMs, runs: t.samplesMs.length, ...extra };
}

/** Fills `ratio` (and `cpuRatio`, when both have CPU times) of every result that names a baseline in the list. */
export function withRatios(results: BenchResult[]): BenchResult[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  return results.map((r) => {
    const base = r.baseline ? byName.get(r.baseline) : undefined;
    if (!base || base === r) return r;
    const cpuRatio = r.cpuMs !== undefined && base.cpuMs ? r.cpuMs / base.cpuMs : undefined;
    return { ...r, ratio: r.medianMs / base.medianMs, cpuRatio };
  });
}

/**
 * Shared pieces of the bench suite: the module/result types the runner (`index.ts`) understands and a timer that
 * reports the median of several runs (robust to one-off GC pauses and to other processes on a shared machine).
 */

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

export function result(name: string, t: Timing, extra: Partial<BenchResult> = {}): BenchResult {
  return { name, medianMs: t.medianMs, minMs: t.minMs, cpuMs: t.cpuMs, runs: t.samplesMs.length, ...extra };
}

/** Fills `baseline`/`ratio` of every result that names a baseline present in the list. */
export function withRatios(results: BenchResult[]): BenchResult[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  return results.map((r) => {
    const base = r.baseline ? byName.get(r.baseline) : undefined;
    return base && base !== r ? { ...r, ratio: r.medianMs / base.medianMs } : r;
  });
}

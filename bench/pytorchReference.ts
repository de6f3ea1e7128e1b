/**
 * The PyTorch side of the train-step bench: finds a Python that can `import torch` (optional: Debian's
 * python3-torch, never installed by setup), and drives long-lived step processes over a line protocol so the
 * ORT step and the PyTorch step can be timed in alternating rounds on the same (possibly shared) machine.
 */
import { spawn, spawnSync, ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** PyTorch CPU train step of the same model on the doc's 2-core machine (doc §4): used when torch is absent. */
export const PYTORCH_DOC_REFERENCE_MS = 590;
/** The goal of issue 3: the ORT step at most this fraction of PyTorch's. */
export const TARGET_RATIO = 0.8;

/** bench/pytorchStep.py, from the sources or from the compiled out/bench. */
export function pytorchScript(): string | null {
  for (const p of [path.join(__dirname, 'pytorchStep.py'), path.resolve(__dirname, '..', '..', 'bench', 'pytorchStep.py')]) {
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/**
 * The first interpreter that imports torch: $MAXQ_BENCH_PYTHON, `python3` on PATH, then Debian's
 * /usr/bin/python3 (python3-torch installs there; a pyenv `python3` earlier on PATH would not see it).
 */
export function findTorchPython(): { python: string; version: string } | null {
  const candidates = [process.env.MAXQ_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0 && r.stdout.trim()) return { python, version: r.stdout.trim() };
  }
  return null;
}

/** A child process that answers each request line with one JSON line on stdout. */
export class LineChild {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buf = '';
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly lines: string[] = [];
  private stderr = '';
  private exited: string | null = null;

  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line.startsWith('{')) continue; // anything that is not a protocol line (a stray print)
        const w = this.waiting.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = `${cmd} exited (${signal ?? code}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      for (const w of this.waiting.splice(0)) w('');
    });
  }

  /** The next JSON line (the first one is the child's ready message). */
  next<T>(): Promise<T> {
    const parse = (line: string): T => {
      if (!line) throw new Error(this.exited ?? 'child closed its output');
      return JSON.parse(line) as T;
    };
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(parse(queued));
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise<string>((resolve) => this.waiting.push(resolve)).then(parse);
  }

  request<T>(line: string): Promise<T> {
    this.proc.stdin.write(`${line}\n`);
    return this.next<T>();
  }

  kill(): void {
    if (this.exited === null) this.proc.kill();
  }
}

export interface StepSamples {
  wallMs: number[];
  cpuMs: number[];
}

/** Starts bench/pytorchStep.py in serve mode; resolves after its warm-up. */
export async function startPytorchStep(python: string, o: { threads: number; batch: number; warmup: number }): Promise<{ child: LineChild; ready: { torch: string; threads: number; params: number } }> {
  const script = pytorchScript();
  if (!script) throw new Error('bench/pytorchStep.py not found');
  const child = new LineChild(python, [script, '--serve', '--threads', String(o.threads), '--batch', String(o.batch), '--warmup', String(o.warmup)]);
  const ready = await child.next<{ ready: boolean; torch: string; threads: number; params: number }>();
  return { child, ready };
}

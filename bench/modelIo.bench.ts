/**
 * Model I/O end to end (issue 11), each case a fresh `maxq` process against a reference measured in the same run,
 * in alternating rounds so both see the same machine load:
 * - `maxq masks` (MaxQ 2:4 of ResNet-50 written to safetensors) against the PyTorch mask computation alone
 *   (bench/pytorchMasks.py: the same masks with torch ops, weights already in memory, no I/O). Target ≤ 0.25×.
 * - `maxq validate --pattern 2:4` of a 2:4 ResNet-50 against onnx + numpy doing the same checks
 *   (bench/validateReference.py, a fresh python3 process). Targets ≤ 0.5× and < 600 ms.
 * - `maxq inspect` against a node process that reads the whole file once (fs.readFileSync). Target ≤ 1×.
 * - The peak RSS of `maxq validate` against the model file's size. Target ≤ 1.5×.
 * - The default numeric check (`validate --reference --inputs`, a bounded sample) on the bundled demo CNN with
 *   the demo's 8,000 training inputs. Target < 3 s.
 *
 * The ResNet-50 is torchvision's (random-init weights, no network) exported by scripts/zoo/export_torchvision.py
 * into a cache folder, or $MAXQ_BENCH_RESNET50, or /tmp/zoo/resnet50.onnx when that exists; its 2:4 copy is made
 * once with `maxq sparsify --pattern 2:4` (one-shot). Cases that need Python (torch, onnx, numpy: Debian's
 * python3-torch / python3-onnx at /usr/bin/python3) are skipped with a note when it is absent.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchModule, BenchResult, withRatios } from './harness';
import { writeMnistDemoNpy } from '../src/core/data/mnist-demo';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI_MAIN = path.join(ROOT, 'out', 'src', 'cli', 'main.js');
const CACHE = path.join(os.tmpdir(), 'maxq-bench-model-io');
const MARK = '__maxq_bench__';

/** Runs `maxq` in a fresh node process; it reports its own peak RSS (peakRss.ts) and CPU time on stderr at exit. */
const CLI_WRAPPER = `
const { main } = require(${JSON.stringify(CLI_MAIN)});
const { peakRssKb } = require(${JSON.stringify(path.join(__dirname, 'peakRss.js'))});
main(process.argv.slice(2)).then((code) => {
  const u = process.resourceUsage();
  process.stderr.write('\\n${MARK} ' + JSON.stringify({ maxRssKb: peakRssKb(), cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }) + '\\n');
  process.exit(code);
}, (e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(2); });
`;

interface ProcRun {
  wallMs: number;
  cpuMs?: number;
  maxRssKb?: number;
  stdout: string;
  stderr: string;
  status: number | null;
}

function runProcess(cmd: string, args: string[], timeoutMs = 600_000): ProcRun {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: timeoutMs, cwd: ROOT });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const out: ProcRun = { wallMs, stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status };
  const line = out.stderr.split('\n').find((l) => l.startsWith(MARK));
  if (line) Object.assign(out, JSON.parse(line.slice(MARK.length + 1)));
  return out;
}

/** The wrapper as a file (not `node -e`: commands that start workers or child processes need a real script path). */
function wrapperFile(): string {
  const file = path.join(CACHE, 'maxq-bench-cli.js');
  fs.mkdirSync(CACHE, { recursive: true });
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== CLI_WRAPPER) fs.writeFileSync(file, CLI_WRAPPER);
  return file;
}

function maxq(args: string[], okCodes = [0]): ProcRun {
  const r = runProcess(process.execPath, [wrapperFile(), ...args]);
  if (r.status === null || !okCodes.includes(r.status)) throw new Error(`maxq ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summarize(name: string, runs: ProcRun[], extra: Partial<BenchResult> = {}): BenchResult {
  const cpu = runs.map((r) => r.cpuMs).filter((c): c is number => c !== undefined);
  return {
    name, medianMs: median(runs.map((r) => r.wallMs)), minMs: Math.min(...runs.map((r) => r.wallMs)),
    cpuMs: cpu.length === runs.length ? median(cpu) : undefined, runs: runs.length, ...extra,
  };
}

/** The first python3 that imports all of `modules` (MAXQ_BENCH_PYTHON, python3 on PATH, Debian's /usr/bin/python3). */
function findPython(modules: string[]): string | null {
  const candidates = [process.env.MAXQ_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return python;
  }
  return null;
}

function benchScript(name: string): string {
  for (const p of [path.join(__dirname, name), path.join(ROOT, 'bench', name)]) if (fs.existsSync(p)) return p;
  throw new Error(`bench/${name} not found`);
}

/** A ResNet-50 ONNX: $MAXQ_BENCH_RESNET50, /tmp/zoo/resnet50.onnx, the cache, or exported now (needs torch). */
function resnet50(torchPython: string | null): { file?: string; note?: string } {
  for (const f of [process.env.MAXQ_BENCH_RESNET50, path.join(CACHE, 'resnet50.onnx'), '/tmp/zoo/resnet50.onnx']) {
    if (f && fs.existsSync(f)) return { file: f };
  }
  if (!torchPython) return { note: 'no ResNet-50: torch/torchvision are not installed (apt-get install python3-torch python3-torchvision) and MAXQ_BENCH_RESNET50 is not set' };
  fs.mkdirSync(CACHE, { recursive: true });
  process.stderr.write(`  exporting torchvision resnet50 (random-init weights) to ${CACHE} ...\n`);
  const r = runProcess(torchPython, [path.join(ROOT, 'scripts', 'zoo', 'export_torchvision.py'), CACHE, 'resnet50']);
  const file = path.join(CACHE, 'resnet50.onnx');
  if (r.status !== 0 || !fs.existsSync(file)) return { note: `exporting resnet50 failed: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}` };
  return { file };
}

/** Its 2:4 copy (one-shot `maxq sparsify`), made once per source file. */
function sparse24(dense: string): string {
  const st = fs.statSync(dense);
  const out = path.join(CACHE, `resnet50.2of4.${st.size}.${Math.round(st.mtimeMs)}.onnx`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(CACHE, { recursive: true });
    process.stderr.write(`  making a 2:4 copy with maxq sparsify ...\n`);
    maxq(['sparsify', dense, '--pattern', '2:4', '--out', out, '--force']);
  }
  return out;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const meets = (ok: boolean) => (ok ? 'meets' : 'MISSES');

async function masksCases(dense: string, torchPython: string | null, rounds: number): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-bench-masks-'));
  try {
    const out = path.join(dir, 'm.safetensors');
    const packed = path.join(dir, 'p.safetensors');
    const args = ['masks', dense, '--pattern', '2:4', '--method', 'maxq', '--out', out];
    maxq(args); // warm the page cache
    const e2e: ProcRun[] = [];
    const e2ePacked: ProcRun[] = [];
    const ref: { ms: number; cpuMs: number; threads: number; torch: string }[] = [];
    for (let r = 0; r < rounds; r++) {
      e2e.push(maxq(args));
      e2ePacked.push(maxq(['masks', dense, '--pattern', '2:4', '--method', 'maxq', '--pack-hard', '--out', packed]));
      if (torchPython) {
        // One reference process per round (3 timed passes over the layers after a warm-up; its median counts).
        const p = runProcess(torchPython, [benchScript('pytorchMasks.py'), dense, '--pattern', '2:4', '--runs', '3']);
        if (p.status !== 0) throw new Error(`pytorchMasks.py failed: ${p.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        const j = JSON.parse(p.stdout.trim().split('\n').pop() as string);
        ref.push({ ms: j.median_ms, cpuMs: j.cpu_ms, threads: j.threads, torch: j.torch });
      }
    }
    const size = fs.statSync(out).size;
    const sizePacked = fs.statSync(packed).size;
    const base = 'PyTorch MaxQ mask compute (no I/O)';
    const results: BenchResult[] = [];
    if (ref.length) {
      const refMs = median(ref.map((r) => r.ms));
      results.push({ name: base, medianMs: refMs, minMs: Math.min(...ref.map((r) => r.ms)), cpuMs: median(ref.map((r) => r.cpuMs)), runs: ref.length, note: `torch ${ref[0].torch}, ${ref[0].threads} thread(s) (torch's default here), median of 3 passes per process` });
      const ratio = median(e2e.map((r) => r.wallMs)) / refMs;
      results.push(summarize('maxq masks 2:4 → safetensors (end to end)', e2e, { baseline: base, note: `${meets(ratio <= 0.25)} ≤ 0.25×; ResNet-50 52 convs, writes ${mb(size)}; peak RSS ${mb(median(e2e.map((r) => (r.maxRssKb ?? 0) * 1024)))}` }));
      results.push(summarize('maxq masks 2:4 --pack-hard', e2ePacked, { baseline: base, note: `writes ${mb(sizePacked)} (hard masks as bits)` }));
    } else {
      results.push(summarize('maxq masks 2:4 → safetensors (end to end)', e2e, { note: `writes ${mb(size)}; PyTorch reference not measured: torch is not installed (apt-get install python3-torch)` }));
      results.push(summarize('maxq masks 2:4 --pack-hard', e2ePacked, { note: `writes ${mb(sizePacked)}` }));
    }
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function validateCases(sparse: string, onnxPython: string | null, rounds: number): BenchResult[] {
  const args = ['validate', sparse, '--pattern', '2:4'];
  maxq(args);
  const mine: ProcRun[] = [];
  const ref: ProcRun[] = [];
  for (let r = 0; r < rounds; r++) {
    mine.push(maxq(args));
    if (onnxPython) {
      const p = runProcess(onnxPython, [benchScript('validateReference.py'), sparse, '--pattern', '2:4']);
      if (p.status !== 0) throw new Error(`validateReference.py failed: ${p.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      const j = JSON.parse(p.stdout.trim().split('\n').pop() as string);
      ref.push({ ...p, cpuMs: j.cpu_ms, maxRssKb: j.max_rss_kb });
    }
  }
  const fileSize = fs.statSync(sparse).size;
  const peak = Math.max(...mine.map((r) => (r.maxRssKb ?? 0) * 1024));
  const wall = median(mine.map((r) => r.wallMs));
  const base = 'python3 onnx + numpy 2:4 check';
  const out: BenchResult[] = [];
  if (ref.length) out.push(summarize(base, ref, { note: `bench/validateReference.py (onnx.load + numpy), a fresh process; peak RSS ${mb(median(ref.map((r) => (r.maxRssKb ?? 0) * 1024)))}` }));
  const ratio = ref.length ? wall / median(ref.map((r) => r.wallMs)) : undefined;
  out.push(summarize('maxq validate --pattern 2:4 (2:4 ResNet-50)', mine, {
    baseline: ref.length ? base : undefined,
    note: `${ratio !== undefined ? `${meets(ratio <= 0.5)} ≤ 0.5×, ` : 'Python reference skipped: python3-onnx/numpy not installed; '}${meets(wall < 600)} < 600 ms`,
  }));
  out.push({
    name: 'maxq validate peak RSS (MB)', medianMs: peak / 1e6, minMs: Math.min(...mine.map((r) => (r.maxRssKb ?? 0) * 1024)) / 1e6, runs: mine.length,
    note: `${(peak / fileSize).toFixed(2)}× the ${mb(fileSize)} model file: ${meets(peak <= 1.5 * fileSize)} ≤ 1.5× (the "ms" columns hold MB here)`,
  });
  return out;
}

function inspectCases(dense: string, rounds: number): BenchResult[] {
  const readAll = ['-e', `require('fs').readFileSync(${JSON.stringify(dense)}); const u = process.resourceUsage(); process.stderr.write('${MARK} ' + JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }) + '\\n');`];
  const args = ['inspect', dense];
  maxq(args);
  const mine: ProcRun[] = [];
  const ref: ProcRun[] = [];
  for (let r = 0; r < rounds; r++) {
    mine.push(maxq(args));
    ref.push(runProcess(process.execPath, readAll));
  }
  const base = 'node: readFileSync of the model';
  const ratio = median(mine.map((r) => r.wallMs)) / median(ref.map((r) => r.wallMs));
  return [
    summarize(base, ref, { note: `a process that reads the ${mb(fs.statSync(dense).size)} file once` }),
    summarize('maxq inspect (ResNet-50)', mine, { baseline: base, note: `${meets(ratio <= 1)} ≤ 1×: shapes without reading tensor bytes` }),
  ];
}

/** The default numeric check of the validation view and `validate --reference --inputs` on the bundled demo. */
function numericCases(rounds: number): BenchResult[] {
  const dense = path.join(ROOT, 'media', 'demo', 'mnist-cnn.onnx');
  const sparse = path.join(ROOT, 'demo-output', 'mnist-cnn.maxq-2of4.onnx');
  if (!fs.existsSync(dense) || !fs.existsSync(sparse)) return [{ name: 'numeric check (demo)', medianMs: 0, minMs: 0, runs: 0, note: 'skipped: the bundled demo models are missing' }];
  const files = writeMnistDemoNpy(path.join(CACHE, 'mnist-demo'));
  const args = ['validate', sparse, '--pattern', '2:4', '--reference', dense, '--inputs', files.inputs, '--normalize', files.normalize];
  maxq(args, [0, 1]);
  const runs: ProcRun[] = [];
  for (let r = 0; r < rounds; r++) runs.push(maxq(args, [0, 1]));
  const wall = median(runs.map((r) => r.wallMs));
  const sampled = /the first (\d+) of (\d+) samples/.exec(runs[0].stdout);
  return [summarize('validate --reference --inputs (demo CNN, default sample)', runs, {
    note: `${meets(wall < 3000)} < 3 s; ${sampled ? `runs the first ${sampled[1]} of ${sampled[2]} inputs` : 'runs every input'} (--samples all runs every one)`,
  })];
}

export const modelIoBench: BenchModule = {
  name: 'model-io',
  async run(): Promise<BenchResult[]> {
    const rounds = Number(process.env.MAXQ_BENCH_ROUNDS ?? 5);
    const torchPython = findPython(['torch', 'onnx', 'numpy']);
    const onnxPython = findPython(['onnx', 'numpy']);
    const results: BenchResult[] = [];
    /** One group of cases; a failure becomes a row saying so instead of ending the whole bench. */
    const group = async (name: string, cases: () => BenchResult[] | Promise<BenchResult[]>) => {
      try {
        results.push(...(await cases()));
      } catch (e) {
        results.push({ name, medianMs: 0, minMs: 0, runs: 0, note: `failed: ${(e as Error).message.split('\n')[0]}` });
      }
    };
    const model = resnet50(findPython(['torch', 'torchvision']));
    if (!model.file) {
      results.push({ name: 'ResNet-50 cases', medianMs: 0, minMs: 0, runs: 0, note: `skipped: ${model.note}` });
    } else {
      const dense = model.file;
      await group('maxq masks', () => masksCases(dense, torchPython, Math.max(3, Math.ceil(rounds / 2))));
      await group('maxq validate', () => validateCases(sparse24(dense), onnxPython, rounds));
      await group('maxq inspect', () => inspectCases(dense, rounds + 2));
    }
    await group('numeric check (demo)', () => numericCases(3));
    return withRatios(results);
  },
};

export default modelIoBench;

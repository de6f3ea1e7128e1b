/**
 * maxq masks: per selected layer, the hard and soft mask in the weight's storage layout, as JSON (small
 * models) or safetensors (big ones).
 *
 * The model is opened for reading (its weights stay in the file and are read layer by layer with positioned
 * reads); each layer's masks are computed in canonical order and written in the storage layout (no copy when
 * the two agree), straight to their place in the safetensors file while the next layer is computed. Memory
 * stays near one layer, not the model. `--pack-hard` stores hard masks as bits (see core/masks/packedMask.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../../core/onnx/onnxModel';
import { usageError } from '../../core/errors';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { SafetensorsSpec, SafetensorsStream } from '../../core/io/safetensors';
import { HARD_PACKING_BITS } from '../../core/io/maskFile';
import { DenseFractionSchedule } from '../../core/masks/denseFractionSchedule';
import { computeLayerMask, LayerMask, layerMaskSummary } from '../../core/masks/layerMask';
import { LayerMaskWorkers } from '../../core/masks/layerMaskWorkers';
import { defaultThreadCount } from '../../core/masks/parallelMasks';
import { NmPattern } from '../../core/masks/nmPattern';
import { packBits, packedLength } from '../../core/masks/packedMask';
import { CanonicalWeight } from '../../core/masks/canonicalWeight';
import { loadLayerWeight, maskInSourceLayout } from '../../core/layers/layerWeights';
import { selectedLayers } from '../../core/sparsify/layerMasks';
import { LayerInfo, MaskMethod, ScheduleKind } from '../../core/types';
import { list, num, onePositional, parse, requireStr, str } from '../args';
import { ProgressLine } from '../format';

export const usage =
  'maxq masks <model.onnx> --pattern N:M [--method maxq|magnitude|srste] [--schedule linear|cubic|cos|exp --decay-start S --decay-end E --epoch e] [--include NAMES] [--exclude NAMES] [--pack-hard] [--threads T] --out <masks.json|masks.safetensors>';

/** JSON holds every value as text; past this many weights safetensors is the sane format. */
const JSON_MAX_WEIGHTS = 4_000_000;
/** Progress is drawn (on a terminal) for models at least this large. */
const PROGRESS_MIN_WEIGHTS = 1_000_000;

export function denseFractionFromArgs(schedule: string | undefined, start: number | undefined, end: number | undefined, epoch: number | undefined): number {
  if (schedule === undefined && start === undefined && end === undefined && epoch === undefined) return 0;
  const s = start ?? 0, t = end ?? 0, e = epoch ?? 0;
  const sched = new DenseFractionSchedule({ kind: (schedule ?? 'linear') as ScheduleKind, decayStart: s, decayEnd: t, totalEpochs: Math.max(t, e) + 1 });
  return sched.at(e);
}

interface JsonLayer {
  name: string;
  shape: number[];
  N: number;
  M: number;
  numBlocks: number;
  numDenseBlocks: number;
  hard: number[];
  soft: number[];
}

export async function masksCommand(argv: string[]): Promise<number> {
  const p = parse(argv, {
    pattern: { type: 'string' }, method: { type: 'string' }, schedule: { type: 'string' }, 'decay-start': { type: 'string' },
    'decay-end': { type: 'string' }, epoch: { type: 'string' }, include: { type: 'string' }, exclude: { type: 'string' }, out: { type: 'string' },
    'pack-hard': { type: 'boolean' }, threads: { type: 'string' },
  }, usage);
  const file = onePositional(p, 'model file', usage);
  const pattern = NmPattern.parse(requireStr(p, 'pattern', usage));
  const method = (str(p, 'method') ?? 'maxq') as MaskMethod;
  if (!['maxq', 'magnitude', 'srste'].includes(method)) throw usageError(`unknown method '${method}' (use maxq, magnitude or srste)`);
  const out = requireStr(p, 'out', usage);
  const format = out.endsWith('.safetensors') ? 'safetensors' : out.endsWith('.json') ? 'json' : null;
  if (!format) throw usageError(`--out must end in .json or .safetensors, got ${out}`);
  const packHard = Boolean(p.values['pack-hard']);
  if (packHard && format !== 'safetensors') throw usageError('--pack-hard is for .safetensors output (JSON lists every value)');
  const outDir = path.dirname(path.resolve(out));
  if (!fs.statSync(outDir, { throwIfNoEntry: false })?.isDirectory()) throw usageError(`output folder ${outDir} does not exist`);
  const threadsArg = num(p, 'threads', { integer: true, min: 0 });
  const denseFraction = denseFractionFromArgs(str(p, 'schedule'), num(p, 'decay-start', { integer: true, min: 0 }), num(p, 'decay-end', { integer: true, min: 0 }), num(p, 'epoch', { integer: true, min: 0 }));

  const model = await OnnxModel.open(file);
  const layers = selectedLayers(model, { pattern, include: list(p, 'include'), exclude: list(p, 'exclude') });
  const counts = layers.map((l) => l.storageShape.reduce((a, b) => a * b, 1));
  const total = counts.reduce((a, b) => a + b, 0);
  if (format === 'json' && total > JSON_MAX_WEIGHTS) {
    throw usageError(`the masks hold over ${JSON_MAX_WEIGHTS.toLocaleString('en-US')} values; write them as .safetensors instead of JSON`);
  }
  const meta = { pattern: pattern.toString(), method, denseFraction, model: file };
  let stream: SafetensorsStream | undefined;
  if (format === 'safetensors') {
    const specs: SafetensorsSpec[] = layers.flatMap((l, i) => [
      { name: `${l.name}.hard`, dtype: 'U8' as const, shape: packHard ? [packedLength(counts[i])] : l.storageShape },
      { name: `${l.name}.soft`, dtype: 'F32' as const, shape: l.storageShape },
    ]);
    const metadata: Record<string, string> = {
      ...Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, String(v)])),
      layers: JSON.stringify(layers.map((l) => ({ name: l.name, shape: l.storageShape, N: pattern.n, M: pattern.m }))),
    };
    if (packHard) metadata.hard_packing = HARD_PACKING_BITS;
    stream = await SafetensorsStream.create(out, specs, metadata);
  }
  const progress = total >= PROGRESS_MIN_WEIGHTS ? new ProgressLine() : undefined;
  // One thread computes by default while reads and writes run beside it. With --threads T (0 = every core) T
  // workers compute, a layer each; on ResNet-50 on 2 cores that was slower (1.0 against 0.8 s): each worker
  // starts its own V8, warms up its own compiled code and touches its own memory, which costs more than the
  // arithmetic it takes over (175 ms for the whole model once warm). It pays where cores are plentiful.
  const threads = Math.min(threadsArg === undefined ? 1 : threadsArg || defaultThreadCount(), layers.length);
  const jsonLayers: JsonLayer[] = [];
  let done = 0;
  // Masks arrive here in layer order, canonical; they are written before the next one is computed into the same buffers.
  const emit = async (i: number, mask: MaskArrays): Promise<void> => {
    const layer = layers[i];
    const hard = maskInSourceLayout(model, layer, mask.hard);
    const soft = maskInSourceLayout(model, layer, mask.soft);
    if (stream) {
      await stream.write(packHard ? packBits(hard) : hard);
      await stream.write(soft);
    } else {
      jsonLayers.push({ name: layer.name, shape: layer.storageShape, N: pattern.n, M: pattern.m, numBlocks: mask.numBlocks, numDenseBlocks: mask.numDenseBlocks, hard: Array.from(hard), soft: Array.from(soft) });
    }
    done += counts[i];
    progress?.update(done / total, `masks: ${layer.name}`);
  };
  const run: MaskRun = { model, layers, counts, pattern, method, denseFraction, stream, emit };
  try {
    if (threads > 1 && stream) await computeOnWorkers(run, threads, stream);
    else await computeOnThisThread(run);
    progress?.update(1, 'masks: writing');
    if (stream) await stream.commit();
    else await writeFileAtomic(out, Buffer.from(JSON.stringify({ ...meta, layers: jsonLayers })));
  } catch (e) {
    await stream?.abort();
    throw e;
  } finally {
    progress?.done();
  }
  process.stderr.write(`wrote masks of ${layers.length} layers (${pattern} ${method}, dense fraction ${denseFraction}${packHard ? ', hard masks bit-packed' : ''}) to ${out}\n`);
  return 0;
}

type MaskArrays = Pick<LayerMask, 'hard' | 'soft' | 'numBlocks' | 'numDenseBlocks'>;

interface MaskRun {
  model: OnnxModel;
  layers: LayerInfo[];
  counts: number[];
  pattern: NmPattern;
  method: MaskMethod;
  denseFraction: number;
  stream?: SafetensorsStream;
  /** Takes layer i's canonical masks (in layer order); when it resolves their buffers may be written again once the stream has drained them. */
  emit: (i: number, mask: MaskArrays) => Promise<void>;
}

/**
 * Masks computed on this thread, one layer after another, while the next layer's weights are read. Buffers are
 * reused from layer to layer instead of allocated fresh: two for the weights (this layer's and the next, being
 * read), and with a stream one pair of mask buffers, reused once the previous layer's masks have been written.
 * A write only waits for the kernel to copy the bytes (flushes to disk run beside it, not in the write queue),
 * so one pair is enough; every buffer more is fresh memory, and first touches are what a fresh process pays most
 * for: on ResNet-50 on a 2-core VM, a ring of 8 pairs → 2 took the run from 1.05 to 0.80 s (31k → 21k page
 * faults), 2 → 1 from a median 0.80 to 0.75 s in 8 interleaved runs.
 */
async function computeOnThisThread(run: MaskRun): Promise<void> {
  const { model, layers, counts, pattern, method, denseFraction, stream } = run;
  const maxCount = Math.max(...counts);
  const weightScratch = [new ArrayBuffer(4 * maxCount), new ArrayBuffer(4 * maxCount)];
  const maskBuffers = stream ? { hard: new ArrayBuffer(maxCount), soft: new ArrayBuffer(4 * maxCount) } : undefined;
  const load = (i: number): Promise<CanonicalWeight> | undefined => {
    if (i >= layers.length) return undefined;
    const w = loadLayerWeight(model, layers[i], { readOnly: true, scratch: weightScratch[i % 2] });
    w.catch(() => undefined); // awaited in turn below
    return w;
  };
  let next = load(0);
  for (let i = 0; i < layers.length; i++) {
    const weight = await (next as Promise<CanonicalWeight>);
    next = load(i + 1);
    let outs: { hardOut?: Uint8Array; softOut?: Float32Array } = {};
    if (maskBuffers && stream) {
      await stream.drain(0); // the previous layer's masks are written: the buffers are free
      outs = { hardOut: new Uint8Array(maskBuffers.hard, 0, counts[i]), softOut: new Float32Array(maskBuffers.soft, 0, counts[i]) };
    }
    await run.emit(i, computeLayerMask(weight, pattern, method, denseFraction, layers[i].name, outs));
  }
}

/**
 * Masks computed on `threads` worker threads, a layer per worker at a time, in shared buffers: this thread only
 * reads weights (up to SLOTS − 1 layers ahead) and writes finished masks in layer order, so reads, arithmetic and
 * writes overlap. A slot (weight, hard and soft buffers) is reused once its layer's masks are written; one slot
 * per worker plus one being read or written (more slots were slower: fresh memory).
 */
async function computeOnWorkers(run: MaskRun, threads: number, stream: SafetensorsStream): Promise<void> {
  const { model, layers, counts, pattern, method, denseFraction } = run;
  const SLOTS = threads + 1;
  const maxCount = Math.max(...counts);
  const slots = Array.from({ length: Math.min(SLOTS, layers.length) }, () => ({
    weight: new SharedArrayBuffer(4 * maxCount), hard: new SharedArrayBuffer(maxCount), soft: new SharedArrayBuffer(4 * maxCount),
  }));
  const workers = new LayerMaskWorkers(threads, pattern, method, denseFraction);
  const computed: Promise<MaskArrays>[] = [];
  const start = (i: number): void => {
    const slot = slots[i % slots.length];
    const n = counts[i];
    const layer = layers[i];
    const p = (async () => {
      const w = await loadLayerWeight(model, layer, { readOnly: true, scratch: slot.weight });
      let data = w.data;
      if (!(data.buffer instanceof SharedArrayBuffer)) {
        // Converted on the way (another dtype, [in, out] storage): the workers need it in shared memory.
        data = new Float32Array(slot.weight, 0, n);
        data.set(w.data);
      }
      const job = { data, O: w.O, I: w.I, Kh: w.Kh, Kw: w.Kw, hard: new Uint8Array(slot.hard, 0, n), soft: new Float32Array(slot.soft, 0, n), name: layer.name };
      await workers.compute(job);
      return { hard: job.hard, soft: job.soft, ...layerMaskSummary(w, pattern, denseFraction) };
    })();
    p.catch(() => undefined); // awaited in turn below
    computed[i] = p;
  };
  try {
    const ahead = slots.length - 1;
    for (let i = 0; i < Math.min(ahead, layers.length); i++) start(i);
    for (let i = 0; i < layers.length; i++) {
      await run.emit(i, await computed[i]);
      // Only this layer's two writes may still be queued: the previous layer's slot is free for layer i + ahead.
      await stream.drain(2);
      if (i + ahead < layers.length) start(i + ahead);
    }
  } finally {
    await workers.close();
  }
}

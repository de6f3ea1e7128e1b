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
import { computeLayerMask, LayerMask } from '../../core/masks/layerMask';
import { defaultThreadCount, MaskPool } from '../../core/masks/parallelMasks';
import { NmPattern } from '../../core/masks/nmPattern';
import { packBits, packedLength } from '../../core/masks/packedMask';
import { CanonicalWeight } from '../../core/masks/canonicalWeight';
import { loadLayerWeight, maskInSourceLayout } from '../../core/layers/layerWeights';
import { selectedLayers } from '../../core/sparsify/layerMasks';
import { MaskMethod, ScheduleKind } from '../../core/types';
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
  // The next layers' weights are read while these are computed, and each mask is written while later ones are
  // computed, so one thread computing keeps a second core busy with the reads and writes: the default. With
  // --threads T (0 = every core) layers are computed in batches of about a quarter of the weights on T threads,
  // this one included; that only pays on a machine with cores to spare.
  const threads = Math.min(threadsArg === undefined ? 1 : threadsArg || defaultThreadCount(), layers.length);
  const pool = threads > 1 ? new MaskPool(threads) : undefined;
  const batches: number[][] = [];
  const budget = pool ? total / 4 : 0;
  for (let i = 0, sum = 0; i < layers.length; i++) {
    if (batches.length === 0 || sum >= budget) {
      batches.push([]);
      sum = 0;
    }
    batches[batches.length - 1].push(i);
    sum += counts[i];
  }
  // On one thread, buffers are reused from layer to layer instead of allocated fresh (a ResNet-50 would touch
  // 210 MB of new memory otherwise): two for the weights (this layer's and the next, being read), and a ring of
  // RING mask buffers, each reused once its masks have been written.
  // Eight slots let the writes (and their periodic flushes to disk) fall behind by several layers without
  // stalling the computation: on ResNet-50 median 632 → 536 ms against four, peak RSS 129 → 152 MB.
  const RING = 8;
  const maxCount = Math.max(...counts);
  const weightScratch = pool ? undefined : [new ArrayBuffer(4 * maxCount), new ArrayBuffer(4 * maxCount)];
  const ring = pool || !stream ? undefined : Array.from({ length: RING }, () => ({ hard: new ArrayBuffer(maxCount), soft: new ArrayBuffer(4 * maxCount) }));
  const jsonLayers: JsonLayer[] = [];
  try {
    const load = (b: number): Promise<CanonicalWeight[]> | undefined => {
      if (b >= batches.length) return undefined;
      const scratch = weightScratch?.[b % 2];
      const w = Promise.all(batches[b].map((i) => loadLayerWeight(model, layers[i], { readOnly: true, scratch })));
      w.catch(() => undefined); // awaited in turn below
      return w;
    };
    let next = load(0);
    let done = 0;
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b];
      const weights = await (next as Promise<CanonicalWeight[]>);
      next = load(b + 1);
      progress?.update(done / total, `masks: ${layers[batch[0]].name}${batch.length > 1 ? ` … ${layers[batch[batch.length - 1]].name}` : ''}`);
      const names = batch.map((i) => layers[i].name);
      let masks: LayerMask[];
      if (pool) masks = await pool.compute(weights, pattern, method, denseFraction, { names });
      else {
        let outs: { hardOut?: Uint8Array; softOut?: Float32Array } = {};
        if (ring && stream) {
          await stream.drain(2 * (RING - 1)); // the masks of the layer RING back are written: its buffers are free
          const slot = ring[b % RING];
          const n = counts[batch[0]];
          outs = { hardOut: new Uint8Array(slot.hard, 0, n), softOut: new Float32Array(slot.soft, 0, n) };
        }
        masks = weights.map((w, k) => computeLayerMask(w, pattern, method, denseFraction, names[k], outs));
      }
      for (let k = 0; k < batch.length; k++) {
        const layer = layers[batch[k]];
        const mask = masks[k];
        const hard = maskInSourceLayout(model, layer, mask.hard);
        const soft = maskInSourceLayout(model, layer, mask.soft);
        if (stream) {
          await stream.write(packHard ? packBits(hard) : hard);
          await stream.write(soft);
        } else {
          jsonLayers.push({ name: layer.name, shape: layer.storageShape, N: pattern.n, M: pattern.m, numBlocks: mask.numBlocks, numDenseBlocks: mask.numDenseBlocks, hard: Array.from(hard), soft: Array.from(soft) });
        }
        done += counts[batch[k]];
      }
    }
    progress?.update(1, 'masks: writing');
    if (stream) await stream.commit();
    else await writeFileAtomic(out, Buffer.from(JSON.stringify({ ...meta, layers: jsonLayers })));
  } catch (e) {
    await stream?.abort();
    throw e;
  } finally {
    progress?.done();
    await pool?.close();
  }
  process.stderr.write(`wrote masks of ${layers.length} layers (${pattern} ${method}, dense fraction ${denseFraction}${packHard ? ', hard masks bit-packed' : ''}) to ${out}\n`);
  return 0;
}

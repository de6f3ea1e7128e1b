/**
 * maxq masks: per selected layer, the hard and soft mask in the weight's storage layout, as JSON (small
 * models) or safetensors (big ones).
 */
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../../core/onnx/onnxModel';
import { usageError } from '../../core/errors';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { writeSafetensors } from '../../core/io/safetensors';
import { DenseFractionSchedule } from '../../core/masks/denseFractionSchedule';
import { NmPattern } from '../../core/masks/nmPattern';
import { computeModelMasks, maskToStorage } from '../../core/sparsify/layerMasks';
import { MaskMethod, ScheduleKind } from '../../core/types';
import { list, num, onePositional, parse, requireStr, str } from '../args';

export const usage =
  'maxq masks <model.onnx> --pattern N:M [--method maxq|magnitude|srste] [--schedule linear|cubic|cos|exp --decay-start S --decay-end E --epoch e] [--include NAMES] [--exclude NAMES] --out <masks.json|masks.safetensors>';

/** JSON holds every value as text; past this many weights safetensors is the sane format. */
const JSON_MAX_WEIGHTS = 4_000_000;

export function denseFractionFromArgs(schedule: string | undefined, start: number | undefined, end: number | undefined, epoch: number | undefined): number {
  if (schedule === undefined && start === undefined && end === undefined && epoch === undefined) return 0;
  const s = start ?? 0, t = end ?? 0, e = epoch ?? 0;
  const sched = new DenseFractionSchedule({ kind: (schedule ?? 'linear') as ScheduleKind, decayStart: s, decayEnd: t, totalEpochs: Math.max(t, e) + 1 });
  return sched.at(e);
}

export async function masksCommand(argv: string[]): Promise<number> {
  const p = parse(argv, {
    pattern: { type: 'string' }, method: { type: 'string' }, schedule: { type: 'string' }, 'decay-start': { type: 'string' },
    'decay-end': { type: 'string' }, epoch: { type: 'string' }, include: { type: 'string' }, exclude: { type: 'string' }, out: { type: 'string' },
  }, usage);
  const file = onePositional(p, 'model file', usage);
  const pattern = NmPattern.parse(requireStr(p, 'pattern', usage));
  const method = (str(p, 'method') ?? 'maxq') as MaskMethod;
  if (!['maxq', 'magnitude', 'srste'].includes(method)) throw usageError(`unknown method '${method}' (use maxq, magnitude or srste)`);
  const out = requireStr(p, 'out', usage);
  const format = out.endsWith('.safetensors') ? 'safetensors' : out.endsWith('.json') ? 'json' : null;
  if (!format) throw usageError(`--out must end in .json or .safetensors, got ${out}`);
  const outDir = path.dirname(path.resolve(out));
  if (!fs.statSync(outDir, { throwIfNoEntry: false })?.isDirectory()) throw usageError(`output folder ${outDir} does not exist`);
  const denseFraction = denseFractionFromArgs(str(p, 'schedule'), num(p, 'decay-start', { integer: true, min: 0 }), num(p, 'decay-end', { integer: true, min: 0 }), num(p, 'epoch', { integer: true, min: 0 }));

  const model = await OnnxModel.load(file);
  const layers: { name: string; shape: number[]; N: number; M: number; numBlocks: number; numDenseBlocks: number; hard: Uint8Array; soft: Float32Array }[] = [];
  let total = 0;
  for await (const { layer, mask } of computeModelMasks(model, { pattern, method, denseFraction, include: list(p, 'include'), exclude: list(p, 'exclude') })) {
    const hard = Uint8Array.from(maskToStorage(model, layer, mask.hard));
    const soft = maskToStorage(model, layer, mask.soft);
    total += soft.length;
    if (format === 'json' && total > JSON_MAX_WEIGHTS) {
      throw usageError(`the masks hold over ${JSON_MAX_WEIGHTS.toLocaleString('en-US')} values; write them as .safetensors instead of JSON`);
    }
    layers.push({ name: layer.name, shape: layer.storageShape, N: pattern.n, M: pattern.m, numBlocks: mask.numBlocks, numDenseBlocks: mask.numDenseBlocks, hard, soft });
  }
  const meta = { pattern: pattern.toString(), method, denseFraction, model: file };
  if (format === 'json') {
    const doc = { ...meta, layers: layers.map((l) => ({ ...l, hard: Array.from(l.hard), soft: Array.from(l.soft) })) };
    await writeFileAtomic(out, Buffer.from(JSON.stringify(doc)));
  } else {
    const entries = layers.flatMap((l) => [
      { name: `${l.name}.hard`, dtype: 'U8' as const, shape: l.shape, data: l.hard },
      { name: `${l.name}.soft`, dtype: 'F32' as const, shape: l.shape, data: l.soft },
    ]);
    writeSafetensors(out, entries, { ...Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, String(v)])), layers: JSON.stringify(layers.map((l) => ({ name: l.name, shape: l.shape, N: l.N, M: l.M }))) });
  }
  process.stderr.write(`wrote masks of ${layers.length} layers (${pattern} ${method}, dense fraction ${denseFraction}) to ${out}\n`);
  return 0;
}

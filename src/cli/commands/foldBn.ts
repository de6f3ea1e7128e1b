/** maxq fold-bn <model.onnx> --out <folded.onnx>: fold Conv/Gemm → BatchNormalization pairs, as an eval-mode export does. */
import * as fs from 'fs';
import * as path from 'path';
import { usageError } from '../../core/errors';
import { foldBatchNorm } from '../../core/onnx/foldBatchNorm';
import { OnnxModel } from '../../core/onnx/onnxModel';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { onePositional, parse, requireStr } from '../args';

export const usage = 'maxq fold-bn <model.onnx> --out <folded.onnx> [--force] [--json]';

export async function foldBnCommand(argv: string[]): Promise<number> {
  const p = parse(argv, { out: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } }, usage);
  const file = onePositional(p, 'model file', usage);
  const out = requireStr(p, 'out', usage);
  if (path.resolve(out) === path.resolve(file)) throw usageError(`the output ${out} is the input model; the original is never overwritten`);
  if (!p.values.force && fs.existsSync(out)) throw usageError(`${out} already exists (pass --force to overwrite it)`);
  const model = await OnnxModel.load(file);
  if (model.hasExternalData) throw usageError(`${file} keeps tensors in external data; fold-bn writes single-file models only`);
  const r = await foldBatchNorm(model);
  await writeFileAtomic(out, r.bytes);
  if (p.values.json) process.stdout.write(JSON.stringify({ out, folded: r.folded, kept: r.kept }, null, 2) + '\n');
  else {
    process.stdout.write(`wrote ${out}: folded ${r.folded.length} BatchNormalization node${r.folded.length === 1 ? '' : 's'} into their layers\n`);
    for (const k of r.kept) process.stdout.write(`  kept ${k.node}: ${k.reason}\n`);
  }
  return 0;
}

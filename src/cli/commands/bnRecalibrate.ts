/** maxq bn-recalibrate <model.onnx> <data> --out <fixed.onnx>: re-estimate BN statistics of a (sparse) model. */
import { reestimateModelFile } from '../../core/bn/reestimateModelFile';
import { num, onePositional, parse, requireStr, str } from '../args';
import { dataFromArgs } from './sparsify';

export const usage = 'maxq bn-recalibrate <model.onnx> (--inputs x.npy | --images DIR | --mnist-demo) [--normalize S,M,SD] [--batches B] [--batch N] [--reference dense.onnx] --out <model.bn.onnx> [--force] [--json]';

export async function bnRecalibrateCommand(argv: string[]): Promise<number> {
  const p = parse(argv, {
    inputs: { type: 'string' }, labels: { type: 'string' }, images: { type: 'string' }, 'mnist-demo': { type: 'boolean' }, normalize: { type: 'string' },
    batches: { type: 'string' }, batch: { type: 'string' }, reference: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' },
    json: { type: 'boolean' }, threads: { type: 'string' }, seed: { type: 'string' },
  }, usage);
  const model = onePositional(p, 'model file', usage);
  const result = await reestimateModelFile(model, {
    data: dataFromArgs(p), out: requireStr(p, 'out', usage), batches: num(p, 'batches', { integer: true, min: 1 }),
    batchSize: num(p, 'batch', { integer: true, min: 1 }), reference: str(p, 'reference'), overwrite: Boolean(p.values.force),
    threads: num(p, 'threads', { integer: true, min: 0 }), seed: num(p, 'seed', { integer: true, min: 0 }),
    onNote: (n) => process.stderr.write(`${n.level === 'warn' ? 'warning: ' : ''}${n.message}\n`),
  });
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
  process.stdout.write(p.values.json ? JSON.stringify(result, null, 2) + '\n'
    : `wrote ${result.out}: re-estimated ${result.layers} BN layers on ${result.samples} samples; accuracy ${pct(result.accuracyBefore)} → ${pct(result.accuracyAfter)}\n`);
  return 0;
}

/** maxq inspect <model.onnx> [--json] [--pattern N:M] [--include] [--exclude] */
import { inspectModel } from '../../core/inspect';
import { list, onePositional, parse, str } from '../args';
import { formatTable } from '../format';

export const usage = 'maxq inspect <model.onnx> [--pattern N:M] [--include NAMES] [--exclude NAMES] [--json]';

export async function inspectCommand(argv: string[]): Promise<number> {
  const p = parse(argv, { json: { type: 'boolean' }, pattern: { type: 'string' }, include: { type: 'string' }, exclude: { type: 'string' } }, usage);
  const file = onePositional(p, 'model file', usage);
  const summary = await inspectModel(file, { pattern: str(p, 'pattern') ?? '2:4', include: list(p, 'include'), exclude: list(p, 'exclude') });
  if (p.values.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return 0;
  }
  const out: string[] = [];
  out.push(`${summary.file}`);
  out.push(`  IR ${summary.irVersion}, opset ${summary.opset}${summary.producer ? `, from ${summary.producer}` : ''}; ${summary.nodeCount} nodes, ${summary.paramCount.toLocaleString('en-US')} parameters${summary.hasExternalData ? ', external data' : ''}`);
  for (const i of summary.inputs) out.push(`  input  ${i.name} ${i.dtype} [${i.shape.join(', ')}]`);
  for (const o of summary.outputs) out.push(`  output ${o.name} ${o.dtype} [${o.shape.join(', ')}]`);
  out.push('');
  const selected = summary.layers.filter((l) => l.selected).length;
  out.push(`Layers (${summary.layers.length}; ${selected} selected for ${str(p, 'pattern') ?? '2:4'}):`);
  out.push(formatTable(
    ['layer', 'op', 'shape', 'params', 'dtype', 'BN after', 'N:M'],
    summary.layers.map((l) => [l.name, l.op, `[${l.storageShape.join('x')}]`, l.params.toLocaleString('en-US'), l.dtype, l.bnAfter ? 'yes' : 'no', l.selected ? 'sparsify' : `dense: ${l.reason}`]),
  ));
  if (summary.selectionNote) out.push('', summary.selectionNote);
  if (summary.batchNorm.message) out.push('', summary.batchNorm.message);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

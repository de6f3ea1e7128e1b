/** maxq recipe: writes a fine-tune's settings as a PyTorch recipe for `torchrun -m maxq_torch.train --recipe`. */
import * as path from 'path';
import { usageError } from '../../core/errors';
import { exportRecipe } from '../../core/recipe/exportRecipe';
import { num, onePositional, parse, str } from '../args';
import { optionsFromArgs, SPARSIFY_OPTIONS } from './sparsify';

export const usage = [
  'maxq recipe <model.onnx> --pattern N:M --epochs K [--method …] [the fine-tune and data options of maxq sparsify]',
  '    [--recipe-out maxq-recipe.json] [--torch-output <sparse.onnx>] [--nproc P] [--force]',
  '    (the bundled demo data, --mnist-demo, is written beside the recipe as .npy so both engines train on the same samples)',
].join('\n');

const OPTIONS = { ...SPARSIFY_OPTIONS, 'recipe-out': { type: 'string' }, 'torch-output': { type: 'string' }, nproc: { type: 'string' } } as const;

export async function recipeCommand(argv: string[]): Promise<number> {
  const p = parse(argv, OPTIONS, usage);
  for (const k of ['recipe', 'events', 'out', 'run-dir', 'resume', 'json']) {
    if (p.values[k] !== undefined) throw usageError(`--${k} is an option of a run, not of a recipe${k === 'out' ? ' (the PyTorch output is --torch-output)' : ''}`);
  }
  const model = onePositional(p, 'model file', usage);
  const opts = optionsFromArgs(p, model);
  const file = path.resolve(str(p, 'recipe-out') ?? path.join(path.dirname(model), 'maxq-recipe.json'));
  const torchOutput = str(p, 'torch-output');
  const { recipe, dataFiles } = await exportRecipe(opts, file, {
    output: torchOutput && path.resolve(torchOutput),
    nproc: num(p, 'nproc', { integer: true, min: 1 }),
    overwrite: Boolean(p.values.force),
  });
  process.stdout.write(`wrote ${file}\n`);
  for (const f of dataFiles) process.stdout.write(`wrote ${f}\n`);
  process.stdout.write(`run it from ${path.dirname(file)} (with maxq_torch installed: pip install <this checkout>/python):\n  ${recipe.torchrun!.oneNode}\n`);
  process.stdout.write(`on several nodes (run on each, HOST = the first node):\n  ${recipe.torchrun!.multiNode}\n`);
  process.stdout.write(`or on this engine: maxq sparsify --recipe ${file}\n`);
  return 0;
}

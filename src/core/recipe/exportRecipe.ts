/**
 * Writes a PyTorch recipe for a fine-tune (the CLI's `maxq recipe` and the form's *Export PyTorch recipe*): the
 * bundled demo data, which only this engine can read, is written beside the recipe as .npy first, so both engines
 * train on the very same samples.
 */
import * as fs from 'fs';
import * as path from 'path';
import { inputError } from '../errors';
import { writeMnistDemoNpy } from '../data/mnist-demo';
import { formatShape } from '../data/validate';
import { writeFileAtomic } from '../io/atomicWrite';
import { OnnxModel } from '../onnx/onnxModel';
import { SparsifyOptions } from '../sparsify/options';
import { modelIo } from '../sparsify/runData';
import { checkRecipeRun, recipeFromOptions, TorchRecipe } from './torchRecipe';

export interface ExportedRecipe {
  recipe: TorchRecipe;
  file: string;
  /** Data files written for the recipe (the demo's .npy split), absolute. */
  dataFiles: string[];
}

export async function exportRecipe(opts: SparsifyOptions, recipeFile: string, extra: { output?: string; nproc?: number; overwrite?: boolean } = {}): Promise<ExportedRecipe> {
  const file = path.resolve(recipeFile);
  if (!extra.overwrite && fs.existsSync(file)) throw inputError(file, 'exists already (use --force to replace it)');
  const dataFiles: string[] = [];
  let run = opts;
  // Fail on the settings before writing any data file.
  checkRecipeRun(opts, 'allowed');
  if (opts.data?.kind === 'mnist-demo') {
    // The exported digits are 1×28×28; this engine resizes the demo for other inputs, another engine would not.
    // Only the model's structure is needed: no weight bytes are read.
    const shape = modelIo(await OnnxModel.open(opts.model)).inputShape;
    const chw = shape.length === 4 ? shape.slice(1) : shape;
    if (chw.join('×') !== '1×28×28') throw inputError(opts.model, `the demo data exported for a recipe is 1×28×28 digits; this model's input is ${formatShape(shape)}: give your own data`);
    const files = writeMnistDemoNpy(path.join(path.dirname(file), 'mnist-demo'));
    dataFiles.push(files.inputs, files.labels, files.valInputs, files.valLabels);
    run = { ...opts, data: { kind: 'npy', inputs: files.inputs, labels: files.labels, valInputs: files.valInputs, valLabels: files.valLabels, normalize: files.normalize } };
  }
  const recipe = recipeFromOptions(run, file, extra);
  await writeFileAtomic(file, JSON.stringify(recipe, null, 2) + '\n');
  return { recipe, file, dataFiles };
}

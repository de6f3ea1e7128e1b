/**
 * A PyTorch recipe (`maxq-recipe.json`): one sparsify fine-tune written down so `maxq_torch.train --recipe`
 * runs it under torchrun (DDP) and `maxq sparsify --recipe` runs it here, with the same settings. Every value
 * is resolved (defaults filled in, the dense-fraction schedule fixed), so the two engines cannot read a missing
 * field differently. Paths are relative to the recipe's folder, so the folder can be copied to a cluster.
 */
import * as fs from 'fs';
import * as path from 'path';
import { inputError, usageError } from '../errors';
import { resolveNormalize } from '../data/normalize';
import { DenseFractionSchedule } from '../masks/denseFractionSchedule';
import { bnBatchCount, RUN_DEFAULTS } from '../sparsify/defaults';
import { DataSpec, defaultOutputPath, SparsifyOptions } from '../sparsify/options';
import { MaskMethod, ScheduleGranularity, ScheduleKind } from '../types';

export const RECIPE_FORMAT = 'maxq-recipe';
export const RECIPE_VERSION = 1;

export type RecipeData =
  | { kind: 'npy'; inputs: string; labels?: string; valInputs?: string; valLabels?: string; normalize?: string; valFraction: number }
  | { kind: 'images'; dir: string; valDir?: string; normalize?: string; valFraction: number };

export interface TorchRecipe {
  format: typeof RECIPE_FORMAT;
  version: typeof RECIPE_VERSION;
  /** The dense model: an ONNX file (relative to the recipe), a torchvision name, or `file.py:build_fn`. */
  model: string;
  /** Where maxq_torch writes the folded sparse model (relative to the recipe). */
  output: string;
  pattern: string;
  method: MaskMethod;
  epochs: number;
  batchSize: number;
  seed: number;
  optimizer: { name: 'sgd' | 'adamw'; lr: number; momentum: number; nesterov: boolean; weightDecay: number };
  lrSchedule: 'cosine' | 'step' | 'constant';
  labelSmoothing: number;
  schedule: { kind: ScheduleKind; decayStart: number; decayEnd: number; granularity: ScheduleGranularity };
  policy: { include: string[]; exclude: string[] };
  data: RecipeData;
  /**
   * BatchNorm handling: the statistics measured again after training over `reestimateBatches` batches (0: the
   * running statistics are written), and the run normalisation of sparsified layers no BatchNorm follows.
   * Optional when read (recipes written before it run with the defaults).
   */
  batchNorm: { reestimateBatches: number; runNormalisation: boolean };
  /** The torchrun command lines (one node; several nodes), for the person reading the file. */
  torchrun?: { oneNode: string; multiNode: string };
}

/** The schedule a fine-tune of `opts` uses (DenseFractionSchedule.forRun, as sparsify resolves it). */
export function resolvedSchedule(opts: Pick<SparsifyOptions, 'epochs' | 'schedule' | 'decayStart' | 'decayEnd'>): { kind: ScheduleKind; decayStart: number; decayEnd: number } {
  const s = DenseFractionSchedule.forRun({ epochs: opts.epochs, kind: opts.schedule, decayStart: opts.decayStart, decayEnd: opts.decayEnd });
  return { kind: s.kind, decayStart: s.decayStart, decayEnd: s.decayEnd };
}

/** A path as the recipe writes it: relative to the recipe's folder, with forward slashes. */
function rel(recipeDir: string, p: string): string {
  return path.relative(recipeDir, path.resolve(p)).split(path.sep).join('/') || '.';
}

function abs(recipeDir: string, p: string): string {
  return path.resolve(recipeDir, p);
}

/** `<name>.maxq-2of4.torch.onnx` beside the model: the PyTorch engine's output, apart from this engine's. */
export function defaultTorchOutput(model: string, pattern: string): string {
  const [n, m] = pattern.split(':');
  return path.join(path.dirname(model), `${path.basename(model).replace(/\.onnx$/i, '')}.maxq-${n}of${m}.torch.onnx`);
}

/** The run-event log maxq_torch writes for a recipe's output (what *MaxQ: Follow Run Log…* opens). */
export function eventsPathFor(output: string): string {
  return output.replace(/\.onnx$/i, '') + '.events.jsonl';
}

export function torchrunCommands(recipeFile: string, output: string, nproc = 1): { oneNode: string; multiNode: string } {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const tail = `-m maxq_torch.train --recipe ${q(recipeFile)} --events ${q(eventsPathFor(output))}`;
  return {
    oneNode: `torchrun --standalone --nproc_per_node=${nproc} ${tail}`,
    multiNode: `torchrun --nnodes=2 --nproc_per_node=${nproc} --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 ${tail}`,
  };
}

/**
 * What a recipe needs of a run, checked before anything is written: a fine-tune (epochs ≥ 1) on training data,
 * with a schedule the run accepts. The bundled demo passes only where the caller exports it as .npy first
 * (`demo: 'allowed'`, exportRecipe).
 */
export function checkRecipeRun(opts: SparsifyOptions, demo: 'allowed' | 'refused' = 'refused'): void {
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw usageError(`a PyTorch recipe is a fine-tune: epochs must be ≥ 1, got ${opts.epochs}`);
  const data = opts.data;
  if (!data || data.kind === 'none') throw usageError('a PyTorch recipe needs training data (.npy inputs or an image folder)');
  if (data.kind === 'mnist-demo' && demo === 'refused') throw usageError('the bundled demo data lives inside this extension: export it as .npy first (the recipe export does this for you)');
  resolvedSchedule(opts);
}

/**
 * The recipe of a fine-tune. `data` must be files another process can read (npy or an image folder): the
 * bundled demo is exported to .npy first (writeMnistDemoNpy). `recipeFile` decides what paths are relative to.
 */
export function recipeFromOptions(opts: SparsifyOptions, recipeFile: string, extra: { output?: string; nproc?: number } = {}): TorchRecipe {
  checkRecipeRun(opts);
  const dir = path.dirname(path.resolve(recipeFile));
  const data = opts.data as Exclude<DataSpec, { kind: 'none' | 'mnist-demo' }>;
  const valFraction = opts.valFraction ?? RUN_DEFAULTS.valFraction;
  let recipeData: RecipeData;
  if (data.kind === 'npy') {
    recipeData = {
      kind: 'npy', inputs: rel(dir, data.inputs), valFraction,
      ...(data.labels ? { labels: rel(dir, data.labels) } : {}),
      ...(data.valInputs ? { valInputs: rel(dir, data.valInputs) } : {}),
      ...(data.valLabels ? { valLabels: rel(dir, data.valLabels) } : {}),
      ...(data.normalize ? { normalize: resolveNormalize(data.normalize) } : {}),
    };
  } else {
    recipeData = {
      kind: 'images', dir: rel(dir, data.dir), valFraction,
      ...(data.valDir ? { valDir: rel(dir, data.valDir) } : {}),
      ...(data.normalize ? { normalize: resolveNormalize(data.normalize) } : {}),
    };
  }
  const optimizer = opts.optimizer ?? 'sgd';
  const output = extra.output ?? defaultTorchOutput(opts.model, opts.pattern);
  const recipe: TorchRecipe = {
    format: RECIPE_FORMAT,
    version: RECIPE_VERSION,
    model: rel(dir, opts.model),
    output: rel(dir, output),
    pattern: opts.pattern,
    method: opts.method,
    epochs: opts.epochs,
    batchSize: opts.batchSize ?? RUN_DEFAULTS.batchSize,
    seed: opts.seed ?? RUN_DEFAULTS.seed,
    optimizer: {
      name: optimizer,
      lr: opts.lr ?? (optimizer === 'adamw' ? RUN_DEFAULTS.adamwLr : RUN_DEFAULTS.sgdLr),
      momentum: opts.momentum ?? RUN_DEFAULTS.momentum,
      nesterov: opts.nesterov ?? false,
      weightDecay: opts.weightDecay ?? RUN_DEFAULTS.weightDecay,
    },
    lrSchedule: opts.lrSchedule ?? 'cosine',
    labelSmoothing: opts.labelSmoothing ?? 0,
    schedule: { ...resolvedSchedule(opts), granularity: opts.scheduleGranularity ?? 'step' },
    policy: { include: opts.include ?? [], exclude: opts.exclude ?? [] },
    data: recipeData,
    batchNorm: {
      reestimateBatches: bnBatchCount(opts.bnRecalibrate),
      runNormalisation: opts.normalise !== false,
    },
  };
  // Run from the recipe's folder, so every path in the command is relative to it.
  recipe.torchrun = torchrunCommands(path.basename(recipeFile), recipe.output, extra.nproc ?? 1);
  return recipe;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);

/** Checks a parsed recipe, naming the file and the key at fault. */
export function checkRecipe(doc: unknown, file: string): TorchRecipe {
  const bad = (key: string, want: string, got?: unknown) => inputError(file, `recipe key "${key}" must be ${want}${got === undefined ? ' (missing)' : `, got ${JSON.stringify(got)}`}`);
  if (!isObj(doc)) throw inputError(file, 'not a MaxQ recipe: the JSON is not an object');
  if (doc.format !== RECIPE_FORMAT) throw inputError(file, `not a MaxQ recipe (expected "format": "${RECIPE_FORMAT}")`);
  if (doc.version !== RECIPE_VERSION) throw inputError(file, `recipe version ${JSON.stringify(doc.version)} is not supported (this MaxQ reads version ${RECIPE_VERSION})`);
  const str = (o: Obj, key: string, prefix = '') => {
    if (typeof o[key] !== 'string' || !(o[key] as string).trim()) throw bad(prefix + key, 'a non-empty string', o[key]);
    return o[key] as string;
  };
  const num = (o: Obj, key: string, prefix = '', integer = false, min = 0) => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) throw bad(prefix + key, `${integer ? 'an integer' : 'a number'} ≥ ${min}`, v);
    return v;
  };
  const oneOf = <T extends string>(o: Obj, key: string, values: readonly T[], prefix = ''): T => {
    if (!values.includes(o[key] as T)) throw bad(prefix + key, `one of ${values.join(', ')}`, o[key]);
    return o[key] as T;
  };
  const obj = (o: Obj, key: string) => {
    if (!isObj(o[key])) throw bad(key, 'an object', o[key]);
    return o[key] as Obj;
  };
  const strList = (o: Obj, key: string, prefix: string) => {
    const v = o[key] ?? [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(prefix + key, 'a list of layer names', v);
    return v as string[];
  };
  const optStr = (o: Obj, key: string, prefix: string) => (o[key] === undefined ? {} : { [key]: str(o, key, prefix) });
  const epochs = num(doc, 'epochs', '', true, 1);
  const opt = obj(doc, 'optimizer');
  const sch = obj(doc, 'schedule');
  const policy = doc.policy === undefined ? {} : obj(doc, 'policy');
  const bn = doc.batchNorm === undefined ? {} : obj(doc, 'batchNorm');
  if (bn.runNormalisation !== undefined && typeof bn.runNormalisation !== 'boolean') throw bad('batchNorm.runNormalisation', 'true or false', bn.runNormalisation);
  const data = obj(doc, 'data');
  const kind = oneOf(data, 'kind', ['npy', 'images'] as const, 'data.');
  const valFraction = data.valFraction === undefined ? RUN_DEFAULTS.valFraction : num(data, 'valFraction', 'data.');
  if (valFraction >= 1) throw bad('data.valFraction', 'a fraction in [0, 1)', valFraction);
  const normalize = data.normalize === undefined ? {} : { normalize: resolveRecipeNormalize(str(data, 'normalize', 'data.'), file) };
  const recipeData: RecipeData = kind === 'npy'
    ? { kind, inputs: str(data, 'inputs', 'data.'), ...optStr(data, 'labels', 'data.'), ...optStr(data, 'valInputs', 'data.'), ...optStr(data, 'valLabels', 'data.'), ...normalize, valFraction }
    : { kind, dir: str(data, 'dir', 'data.'), ...optStr(data, 'valDir', 'data.'), ...normalize, valFraction };
  const decayStart = num(sch, 'decayStart', 'schedule.', true);
  const decayEnd = num(sch, 'decayEnd', 'schedule.', true);
  if (decayEnd < decayStart || (decayEnd > 0 && decayEnd >= epochs)) throw bad('schedule.decayEnd', `an epoch in [decayStart, epochs) = [${decayStart}, ${epochs})`, decayEnd);
  const pattern = str(doc, 'pattern');
  const m = /^(\d+):(\d+)$/.exec(pattern);
  if (!m || Number(m[1]) < 1 || Number(m[1]) >= Number(m[2])) throw bad('pattern', 'N:M with 1 ≤ N < M', pattern);
  return {
    format: RECIPE_FORMAT,
    version: RECIPE_VERSION,
    model: str(doc, 'model'),
    output: str(doc, 'output'),
    pattern,
    method: oneOf(doc, 'method', ['maxq', 'magnitude', 'srste'] as const),
    epochs,
    batchSize: num(doc, 'batchSize', '', true, 1),
    seed: num(doc, 'seed', '', true),
    optimizer: {
      name: oneOf(opt, 'name', ['sgd', 'adamw'] as const, 'optimizer.'),
      lr: num(opt, 'lr', 'optimizer.'),
      momentum: num(opt, 'momentum', 'optimizer.'),
      nesterov: opt.nesterov === true,
      weightDecay: num(opt, 'weightDecay', 'optimizer.'),
    },
    lrSchedule: oneOf(doc, 'lrSchedule', ['cosine', 'step', 'constant'] as const),
    labelSmoothing: num(doc, 'labelSmoothing'),
    schedule: { kind: oneOf(sch, 'kind', ['linear', 'cubic', 'cos', 'exp'] as const, 'schedule.'), decayStart, decayEnd, granularity: oneOf(sch, 'granularity', ['step', 'epoch'] as const, 'schedule.') },
    policy: { include: strList(policy, 'include', 'policy.'), exclude: strList(policy, 'exclude', 'policy.') },
    data: recipeData,
    batchNorm: {
      reestimateBatches: bn.reestimateBatches === undefined ? RUN_DEFAULTS.bnBatches : num(bn, 'reestimateBatches', 'batchNorm.', true),
      runNormalisation: bn.runNormalisation !== false,
    },
    ...(isObj(doc.torchrun) ? { torchrun: doc.torchrun as TorchRecipe['torchrun'] } : {}),
  };
}

function resolveRecipeNormalize(spec: string, file: string): string {
  try {
    return resolveNormalize(spec);
  } catch (e) {
    throw inputError(file, `recipe key "data.normalize": ${(e as Error).message}`);
  }
}

export function readRecipe(file: string): TorchRecipe {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw inputError(file, code === 'ENOENT' ? 'recipe not found' : `cannot read the recipe: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw inputError(file, `not a MaxQ recipe: invalid JSON (${(e as Error).message})`);
  }
  return checkRecipe(doc, file);
}

/**
 * The sparsify options of a recipe, for this engine (`maxq sparsify --recipe`). The model must be an ONNX file.
 * The output is this engine's default name beside the model (the recipe's `output` is the PyTorch engine's).
 */
export function optionsFromRecipe(recipe: TorchRecipe, recipeFile: string): SparsifyOptions {
  const dir = path.dirname(path.resolve(recipeFile));
  if (!/\.onnx$/i.test(recipe.model)) throw inputError(recipeFile, `this engine runs ONNX models; the recipe's model is "${recipe.model}" (a PyTorch model: run it with maxq_torch.train)`);
  const d = recipe.data;
  const data: DataSpec = d.kind === 'npy'
    ? { kind: 'npy', inputs: abs(dir, d.inputs), labels: d.labels && abs(dir, d.labels), valInputs: d.valInputs && abs(dir, d.valInputs), valLabels: d.valLabels && abs(dir, d.valLabels), normalize: d.normalize }
    : { kind: 'images', dir: abs(dir, d.dir), valDir: d.valDir && abs(dir, d.valDir), normalize: d.normalize };
  const model = abs(dir, recipe.model);
  return {
    model,
    out: defaultOutputPath(model, recipe.pattern),
    pattern: recipe.pattern,
    method: recipe.method,
    epochs: recipe.epochs,
    batchSize: recipe.batchSize,
    seed: recipe.seed,
    optimizer: recipe.optimizer.name,
    lr: recipe.optimizer.lr,
    momentum: recipe.optimizer.momentum,
    nesterov: recipe.optimizer.nesterov,
    weightDecay: recipe.optimizer.weightDecay,
    lrSchedule: recipe.lrSchedule,
    labelSmoothing: recipe.labelSmoothing,
    schedule: recipe.schedule.kind,
    decayStart: recipe.schedule.decayStart,
    decayEnd: recipe.schedule.decayEnd,
    scheduleGranularity: recipe.schedule.granularity,
    include: recipe.policy.include.length ? recipe.policy.include : undefined,
    exclude: recipe.policy.exclude.length ? recipe.policy.exclude : undefined,
    data,
    valFraction: d.valFraction,
    bnRecalibrate: recipe.batchNorm.reestimateBatches === 0 ? false : recipe.batchNorm.reestimateBatches,
    ...(recipe.batchNorm.runNormalisation ? {} : { normalise: false }),
  };
}

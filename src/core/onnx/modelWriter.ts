/**
 * Writes a copy of a model with some constant tensors replaced. Only the edited tensors' bytes change (see
 * modelRewrite); edited tensors that were stored externally go to a new data file next to the output, and
 * when the output lands in another folder the data files the untouched tensors still point at are copied
 * along, so the result loads on its own. All files are staged and renamed into place together; the input
 * model and its data files are never written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { inputError, usageError } from '../errors';
import { abortAll, commitAll, StagedFile } from '../io/atomicWrite';
import type { OnnxModel } from './onnxModel';
import { typedFieldPayload, nativeToRaw } from './tensorCodec';
import { encodeEdit, EncodeOptions } from './editEncoding';
import { resolveLocation } from './externalData';
import { ConstantChange, rewriteModel, RewritePlan } from './modelRewrite';
import { TensorChange } from './tensorRewrite';
import { forEachTensor, isExternal } from './tensorWalk';
import { onnx } from './proto';
import { shown } from './shown';

export interface WriteOptions extends EncodeOptions {
  /** Replace an existing output file (and data files of the same names). Off by default: never clobber. */
  overwrite?: boolean;
  /** ModelProto.metadata_props entries to add, or to replace when the model has the key already. */
  metadata?: Record<string, string>;
}

export interface WriteResult {
  path: string;
  /** The new external data file holding edited external tensors, if any were edited. */
  dataFile?: string;
  /** Original data files copied next to the output because it is in another folder. */
  copiedDataFiles: string[];
  /** Names of the tensors rewritten. */
  changed: string[];
}

/** Offsets in the new data file are page-aligned, so runtimes can memory-map each tensor. */
const DATA_ALIGNMENT = 4096;

async function sameFile(a: string, b: string): Promise<boolean> {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const [sa, sb] = await Promise.all([fs.promises.stat(a), fs.promises.stat(b)]);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

async function checkOutputPath(model: OnnxModel, outPath: string, overwrite: boolean): Promise<void> {
  if (await sameFile(outPath, model.path)) {
    throw usageError(`refusing to overwrite the input model ${model.path}; write the result to a different file`);
  }
  const st = await fs.promises.stat(outPath).catch(() => undefined);
  if (st?.isDirectory()) throw usageError(`output ${outPath} is a directory; give a file name`);
  if (st && !overwrite) throw usageError(`output ${outPath} already exists; allow overwriting to replace it`);
  const dir = await fs.promises.stat(path.dirname(path.resolve(outPath))).catch(() => undefined);
  if (!dir?.isDirectory()) throw usageError(`output folder ${path.dirname(path.resolve(outPath))} does not exist`);
}

/** External locations still referenced by the output: those of every external tensor that isn't edited. */
function keptLocations(model: OnnxModel, edited: Set<onnx.ITensorProto>): Set<string> {
  const out = new Set<string>();
  forEachTensor(model.model, (t) => {
    if (!isExternal(t) || edited.has(t)) return;
    const loc = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
    if (loc) out.add(loc);
  });
  return out;
}

/**
 * `<outName>.data`, or `<outName>.N.data` when that name is taken by a data file the input or output uses (or,
 * without overwrite, by any existing file).
 */
function dataFileName(model: OnnxModel, outPath: string, kept: Set<string>, overwrite: boolean): string {
  const outDir = path.dirname(path.resolve(outPath));
  const taken = new Set<string>([path.resolve(model.path), path.resolve(outPath)]);
  forEachTensor(model.model, (t) => {
    const loc = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
    if (isExternal(t) && loc) taken.add(resolveLocation(model.path, loc));
  });
  for (const loc of kept) taken.add(resolveLocation(outPath, loc));
  const base = path.basename(outPath);
  for (let n = 0; ; n++) {
    const name = n === 0 ? `${base}.data` : `${base}.${n}.data`;
    const full = path.join(outDir, name);
    if (!taken.has(full) && (overwrite || !fs.existsSync(full))) return name;
  }
}

function changeFor(storage: string, dataType: number, data: Parameters<typeof nativeToRaw>[0]): TensorChange {
  if (storage === 'raw') return { kind: 'raw', bytes: nativeToRaw(data) };
  const { field, payload } = typedFieldPayload(dataType, data);
  return { kind: 'typed', field, payload };
}

/** Folders created for copies, so a failed write can remove them again: [first created, deepest]. */
type MadeDirs = [string, string][];

async function removeMadeDirs(made: MadeDirs): Promise<void> {
  for (const [top, deepest] of made) {
    // Only empty folders go; rmdir refuses anything that holds files.
    for (let d = deepest; d.startsWith(top); d = path.dirname(d)) {
      if (!(await fs.promises.rmdir(d).then(() => true, () => false))) break;
    }
  }
}

/** Stages copies of the kept data files next to an output in another folder. */
async function stageCopies(model: OnnxModel, outPath: string, kept: Set<string>, overwrite: boolean, staged: StagedFile[], made: MadeDirs): Promise<string[]> {
  const copied: string[] = [];
  for (const loc of kept) {
    const src = resolveLocation(model.path, loc);
    const dst = resolveLocation(outPath, loc);
    if (await sameFile(src, dst)) continue;
    const st = await fs.promises.stat(src).catch(() => undefined);
    if (!st?.isFile()) throw inputError(model.path, `external data file '${shown(loc)}' not found (looked in ${path.dirname(src)})`);
    if (!overwrite && fs.existsSync(dst)) throw usageError(`copying external data next to the output would replace ${dst}; allow overwriting or choose another folder`);
    const top = await fs.promises.mkdir(path.dirname(dst), { recursive: true });
    if (top) made.push([top, path.dirname(dst)]);
    staged.push(await StagedFile.copyOf(src, dst));
    copied.push(dst);
  }
  return copied;
}

/**
 * Writes `model` with `edits` (source tensor name → float32 values in that tensor's layout) to `outPath`.
 * Unedited bytes, including fields this schema doesn't know, are copied unchanged.
 */
export async function writeModel(model: OnnxModel, edits: Map<string, Float32Array>, outPath: string, opts: WriteOptions = {}): Promise<WriteResult> {
  const overwrite = opts.overwrite ?? false;
  await checkOutputPath(model, outPath, overwrite);
  const plan: RewritePlan = { initializers: new Map(), constants: new Map(), metadata: opts.metadata };
  const externalEdits: { name: string; bytes: Uint8Array; setChange: (c: TensorChange) => void }[] = [];
  const editedProtos = new Set<onnx.ITensorProto>();
  for (const [name, values] of edits) {
    const e = model.entry(name);
    if (!e) throw usageError(`cannot write tensor '${shown(name)}': ${model.path} has no initializer or Constant of that name`);
    const data = await encodeEdit(model, e, values, opts);
    if (e.info.storage === 'empty') continue;
    if (e.stored) editedProtos.add(e.stored);
    const put = (change: TensorChange) => {
      if (e.info.source === 'initializer') plan.initializers.set(name, change);
      else plan.constants.set(name, { form: 'value', change });
    };
    const storage = e.info.storage;
    if (storage === 'external') externalEdits.push({ name, bytes: nativeToRaw(data), setChange: put });
    else if (storage === 'raw' || storage === 'typed') put(changeFor(storage, e.info.dataType, data));
    else plan.constants.set(name, { form: storage, values: data } as ConstantChange);
  }

  const kept = keptLocations(model, editedProtos);
  const outDirDiffers = !(await sameFile(path.dirname(path.resolve(outPath)), path.dirname(path.resolve(model.path))));
  const staged: StagedFile[] = [];
  const made: MadeDirs = [];
  const result: WriteResult = { path: outPath, copiedDataFiles: [], changed: [] };
  try {
    if (externalEdits.length > 0) {
      const name = dataFileName(model, outPath, kept, overwrite);
      const data = await StagedFile.create(path.join(path.dirname(path.resolve(outPath)), name));
      staged.push(data);
      for (const x of externalEdits) {
        const pad = (DATA_ALIGNMENT - (data.position % DATA_ALIGNMENT)) % DATA_ALIGNMENT;
        if (pad > 0) await data.write(new Uint8Array(pad));
        x.setChange({ kind: 'external', location: name, offset: data.position, length: x.bytes.length });
        await data.write(x.bytes);
      }
      result.dataFile = data.target;
    }
    if (outDirDiffers) result.copiedDataFiles = await stageCopies(model, outPath, kept, overwrite, staged, made);

    const { pieces, applied } = rewriteModel(model.bytes, plan);
    const planned = [...plan.initializers.keys(), ...plan.constants.keys()];
    const missed = planned.filter((n) => !applied.has(n));
    if (missed.length > 0) throw new Error(`internal error: tensors ${missed.join(', ')} were not found in the model bytes`);
    const out = await StagedFile.create(outPath);
    staged.push(out);
    for (const p of pieces.parts) await out.write(p);
    await commitAll(staged);
    result.changed = planned;
    return result;
  } catch (e) {
    await abortAll(staged);
    await removeMadeDirs(made);
    throw e;
  }
}

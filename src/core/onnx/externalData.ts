/**
 * Tensors stored outside the model file (data_location = EXTERNAL). The location is a path relative to the
 * model's directory; we refuse anything that could point elsewhere (absolute paths, `..` escapes), and read
 * only the bytes a tensor needs, at a 64-bit file position, so multi-GB data files cost nothing to open.
 */
import * as fs from 'fs';
import * as path from 'path';
import { inputError } from '../errors';
import { onnx } from './proto';
import { shown } from './shown';

export interface ExternalRef {
  location: string;
  offset: number;
  /** Bytes the tensor occupies (the declared `length`, or the size its dims imply when none is declared). */
  length: number;
  /** Whether the model declared `length` itself. */
  declaredLength: boolean;
}

function parseSize(modelPath: string, tensor: string, key: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw inputError(modelPath, `tensor '${shown(tensor)}': external data ${key} '${shown(value)}' is not a non-negative integer`);
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n)) throw inputError(modelPath, `tensor '${shown(tensor)}': external data ${key} ${value} is too large`);
  return n;
}

/** A location that stays inside the model's directory, or a clear error. */
export function checkLocation(modelPath: string, tensor: string, location: string): void {
  if (location.length === 0) throw inputError(modelPath, `tensor '${shown(tensor)}': external data has no location`);
  if (location.includes('\0')) throw inputError(modelPath, `tensor '${shown(tensor)}': external data location contains a NUL byte`);
  if (path.posix.isAbsolute(location) || path.win32.isAbsolute(location)) {
    throw inputError(modelPath, `tensor '${shown(tensor)}': external data location '${shown(location)}' is an absolute path; it must be relative to the model's folder`);
  }
  const parts = location.split(/[\\/]+/);
  let depth = 0;
  for (const p of parts) {
    if (p === '..') depth--;
    else if (p !== '.' && p !== '') depth++;
    if (depth < 0) throw inputError(modelPath, `tensor '${shown(tensor)}': external data location '${shown(location)}' points outside the model's folder`);
  }
}

/** Reads and checks the external_data entries of a tensor whose data is `expectedBytes` long. */
export function parseExternalRef(modelPath: string, t: onnx.ITensorProto, expectedBytes: number | undefined): ExternalRef {
  const name = t.name ?? '';
  const entries = new Map<string, string>();
  for (const e of t.externalData ?? []) entries.set(e.key ?? '', e.value ?? '');
  const location = entries.get('location');
  if (location === undefined) throw inputError(modelPath, `tensor '${shown(name)}': stored externally but has no 'location' entry`);
  checkLocation(modelPath, name, location);
  const offset = entries.has('offset') ? parseSize(modelPath, name, 'offset', entries.get('offset') as string) : 0;
  const declaredLength = entries.has('length');
  const length = declaredLength ? parseSize(modelPath, name, 'length', entries.get('length') as string) : expectedBytes ?? 0;
  return { location, offset, length, declaredLength };
}

export function resolveLocation(modelPath: string, location: string): string {
  return path.resolve(path.dirname(path.resolve(modelPath)), ...location.split(/[\\/]+/));
}

/** Exactly `length` bytes at `offset` of the tensor's data file. */
export async function readExternalBytes(modelPath: string, tensor: string, ref: ExternalRef, length: number): Promise<Uint8Array> {
  const file = resolveLocation(modelPath, ref.location);
  const dir = path.dirname(file);
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw inputError(modelPath, `external data file '${shown(ref.location)}' for tensor '${shown(tensor)}' not found (looked in ${dir})`);
    if (code === 'EISDIR') throw inputError(modelPath, `external data file '${shown(ref.location)}' for tensor '${shown(tensor)}' is a directory`);
    throw inputError(modelPath, `external data file '${shown(ref.location)}' for tensor '${shown(tensor)}' cannot be opened: ${(e as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw inputError(modelPath, `external data file '${shown(ref.location)}' for tensor '${shown(tensor)}' is a directory`);
    if (ref.offset + length > st.size) {
      throw inputError(modelPath, `external data file '${shown(ref.location)}' for tensor '${shown(tensor)}' is too short: the tensor needs bytes ${ref.offset}..${ref.offset + length} but the file has ${st.size} bytes`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(out, done, length - done, ref.offset + done);
      if (bytesRead === 0) throw inputError(modelPath, `external data file '${shown(ref.location)}' for tensor '${shown(tensor)}' ended early at byte ${ref.offset + done}`);
      done += bytesRead;
    }
    return out;
  } finally {
    await fh.close();
  }
}

/**
 * Writes that never leave a half-written file behind: data goes to a temp file in the target's directory
 * (same filesystem, so the rename is atomic), is fsynced, then renamed over the target. On any error the
 * temp file is removed and the target is untouched. StagedFile lets a caller stage several files (a model and
 * its external data) and only rename them into place once all of them were written.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export type FileContent = Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Largest single write call; fs.write can't take more than ~2 GiB at once. */
const MAX_WRITE = 1 << 30;

export function tempPathFor(target: string): string {
  const rand = crypto.randomBytes(6).toString('hex');
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${rand}.tmp`);
}

async function removeQuietly(p: string): Promise<void> {
  await fs.promises.rm(p, { force: true }).catch(() => undefined);
}

/** fsync the directory so the rename itself is durable; not possible everywhere (Windows), so best effort. */
async function syncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch {
    // directories can't be opened or synced on some platforms
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

export class StagedFile {
  private fh: fs.promises.FileHandle | undefined;
  private done = false;

  private constructor(readonly target: string, readonly tempPath: string, fh: fs.promises.FileHandle | undefined) {
    this.fh = fh;
  }

  /** Opens a new temp file next to `target`. */
  static async create(target: string): Promise<StagedFile> {
    const temp = tempPathFor(target);
    const fh = await fs.promises.open(temp, 'wx');
    return new StagedFile(target, temp, fh);
  }

  /** Stages a copy of `source` (copied by the OS, never through memory; fine for multi-GB files). */
  static async copyOf(source: string, target: string): Promise<StagedFile> {
    const temp = tempPathFor(target);
    try {
      await fs.promises.copyFile(source, temp, fs.constants.COPYFILE_EXCL);
      const fh = await fs.promises.open(temp, 'r+');
      return new StagedFile(target, temp, fh);
    } catch (e) {
      await removeQuietly(temp);
      throw e;
    }
  }

  /** Bytes written so far (the position of the next write). */
  position = 0;

  async write(chunk: Uint8Array | string): Promise<void> {
    if (!this.fh) throw new Error(`staged file for ${this.target} is closed`);
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let off = 0;
    while (off < bytes.length) {
      const n = Math.min(MAX_WRITE, bytes.length - off);
      const { bytesWritten } = await this.fh.write(bytes, off, n);
      off += bytesWritten;
    }
    this.position += bytes.length;
  }

  /**
   * Writes `bytes` at `position` (one positioned write, split only past 1 GiB); does not move `position`, so
   * several writes at known offsets may be in flight at once. The bytes must not change until it resolves.
   */
  async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    if (!this.fh) throw new Error(`staged file for ${this.target} is closed`);
    let off = 0;
    while (off < bytes.length) {
      const n = Math.min(MAX_WRITE, bytes.length - off);
      const { bytesWritten } = await this.fh.write(bytes, off, n, position + off);
      off += bytesWritten;
    }
  }

  /**
   * Flushes what was written so far to disk while the writer goes on (on libuv's pool), so the fsync in `finish`
   * has only the tail left: a large file's flush overlaps the work that produces it instead of following it.
   */
  async flushSoFar(): Promise<void> {
    if (this.fh) await this.fh.datasync();
  }

  /** fsync and close; the file is complete but not yet in place. */
  async finish(): Promise<void> {
    if (!this.fh) return;
    const fh = this.fh;
    this.fh = undefined;
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Renames into place (finishing first if needed). */
  async commit(): Promise<void> {
    await this.finish();
    await fs.promises.rename(this.tempPath, this.target);
    this.done = true;
    await syncDir(path.dirname(this.target));
  }

  /** Closes and deletes the temp file; safe to call at any point, and again. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
    await removeQuietly(this.tempPath);
  }
}

/** Write `content` to `target` atomically. */
export async function writeFileAtomic(target: string, content: FileContent): Promise<void> {
  const staged = await StagedFile.create(target);
  try {
    if (typeof content === 'string' || content instanceof Uint8Array) {
      await staged.write(content);
    } else {
      for await (const chunk of content as AsyncIterable<Uint8Array>) await staged.write(chunk);
    }
    await staged.commit();
  } catch (e) {
    await staged.abort();
    throw e;
  }
}

/** Renames every staged file into place, or, if finishing any of them fails, deletes them all. */
export async function commitAll(files: readonly StagedFile[]): Promise<void> {
  try {
    for (const f of files) await f.finish();
  } catch (e) {
    await abortAll(files);
    throw e;
  }
  for (let i = 0; i < files.length; i++) {
    try {
      await files[i].commit();
    } catch (e) {
      await abortAll(files.slice(i));
      throw e;
    }
  }
}

export async function abortAll(files: readonly StagedFile[]): Promise<void> {
  for (const f of files) await f.abort();
}

/** Writes all of `bytes` at the current position of a file opened for writing (in ≤ 1 GiB pieces). */
export function writeFullySync(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, Math.min(bytes.length - done, MAX_WRITE));
}

/**
 * The synchronous form for small writers (npy, safetensors): `write` fills a temp file through its descriptor;
 * it is fsynced and renamed over `target`, or removed if anything throws (the error is rethrown as it is).
 */
export function writeFileAtomicSync(target: string, write: (fd: number) => void): void {
  const tmp = tempPathFor(path.resolve(target));
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx');
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

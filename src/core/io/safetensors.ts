/**
 * safetensors files (https://github.com/huggingface/safetensors): 8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, then the raw
 * little-endian tensor bytes. We write masks and checkpoints in it because PyTorch, JAX and NumPy users can
 * load it with one call and it cannot execute code on load.
 *
 * Writing streams tensor by tensor: only the header is built up front (it needs every shape and dtype), and
 * each tensor's data may be a callback, so a caller can compute one layer's mask, let it be written, and drop
 * it before computing the next — memory stays at one tensor, not the whole model.
 */
import * as fs from 'fs';
import { inputError, usageError } from '../errors';
import { StagedFile, writeFileAtomicSync, writeFullySync } from './atomicWrite';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/**
 * Data for each dtype. F16 and BF16 are carried as their raw 16-bit patterns in a Uint16Array (JS has no
 * half-precision array in Node 20); BOOL is one byte per element (0 or 1).
 */
export type SafetensorsData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | Int16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int8Array
  | Uint8Array;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** The tensor's elements in C order, or a function producing them when it is this tensor's turn. */
  data: SafetensorsData | (() => SafetensorsData);
}

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsContents {
  metadata: Record<string, string>;
  /** In file order. */
  tensors: Map<string, SafetensorsTensor>;
}

interface DtypeSpec {
  size: number;
  accepts: (d: SafetensorsData) => boolean;
  make: (buffer: ArrayBuffer, count: number) => SafetensorsData;
}

const DTYPES: Record<SafetensorsDtype, DtypeSpec> = {
  F64: { size: 8, accepts: (d) => d instanceof Float64Array, make: (b, n) => new Float64Array(b, 0, n) },
  F32: { size: 4, accepts: (d) => d instanceof Float32Array, make: (b, n) => new Float32Array(b, 0, n) },
  F16: { size: 2, accepts: (d) => d instanceof Uint16Array, make: (b, n) => new Uint16Array(b, 0, n) },
  BF16: { size: 2, accepts: (d) => d instanceof Uint16Array, make: (b, n) => new Uint16Array(b, 0, n) },
  I64: { size: 8, accepts: (d) => d instanceof BigInt64Array, make: (b, n) => new BigInt64Array(b, 0, n) },
  U64: { size: 8, accepts: (d) => d instanceof BigUint64Array, make: (b, n) => new BigUint64Array(b, 0, n) },
  I32: { size: 4, accepts: (d) => d instanceof Int32Array, make: (b, n) => new Int32Array(b, 0, n) },
  U32: { size: 4, accepts: (d) => d instanceof Uint32Array, make: (b, n) => new Uint32Array(b, 0, n) },
  I16: { size: 2, accepts: (d) => d instanceof Int16Array, make: (b, n) => new Int16Array(b, 0, n) },
  U16: { size: 2, accepts: (d) => d instanceof Uint16Array, make: (b, n) => new Uint16Array(b, 0, n) },
  I8: { size: 1, accepts: (d) => d instanceof Int8Array, make: (b, n) => new Int8Array(b, 0, n) },
  U8: { size: 1, accepts: (d) => d instanceof Uint8Array, make: (b, n) => new Uint8Array(b, 0, n) },
  BOOL: { size: 1, accepts: (d) => d instanceof Uint8Array, make: (b, n) => new Uint8Array(b, 0, n) },
};

/** The Rust reference refuses headers above 100 MB; so do we, so a corrupt length cannot exhaust memory. */
const MAX_HEADER = 100_000_000;

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function bytesOf(data: SafetensorsData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A tensor's name, dtype and shape: what the header needs before any data exists. */
export type SafetensorsSpec = Pick<SafetensorsEntry, 'name' | 'dtype' | 'shape'>;

/** The header bytes (length prefix included) for entries laid out back to back in the given order. */
function headerFor(entries: readonly SafetensorsSpec[], metadata: Record<string, string> | undefined): Uint8Array {
  // Null prototype: tensor names like 'constructor' or '__proto__' must be plain keys.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw usageError(`safetensors metadata '${k}' must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const e of entries) {
    const spec = DTYPES[e.dtype];
    if (!spec) throw usageError(`unknown safetensors dtype '${e.dtype}' for '${e.name}'`);
    if (e.name === '__metadata__' || Object.hasOwn(header, e.name)) throw usageError(`duplicate or reserved safetensors tensor name '${e.name}'`);
    if (e.shape.some((d) => !Number.isInteger(d) || d < 0)) throw usageError(`bad shape [${e.shape.join(', ')}] for '${e.name}'`);
    const size = product(e.shape) * spec.size;
    header[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  // Pad the JSON with spaces to a multiple of 8 so the data (and every 8-byte tensor in it) starts aligned,
  // as the reference implementation does.
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

/**
 * Writes tensors in the given order, atomically (temp file in the same directory, renamed at the end). Each
 * callback-valued `data` is called once, just before its bytes are written.
 */
export function writeSafetensors(file: string, entries: readonly SafetensorsEntry[], metadata?: Record<string, string>): void {
  const header = headerFor(entries, metadata);
  writeAtomically(file, (fd) => {
    writeFullySync(fd, header);
    for (const e of entries) {
      const data = typeof e.data === 'function' ? e.data() : e.data;
      const spec = DTYPES[e.dtype];
      if (!spec.accepts(data)) throw usageError(`safetensors '${e.name}' is ${e.dtype} but its data is a ${data.constructor.name}`);
      if (data.length !== product(e.shape)) {
        throw usageError(`safetensors '${e.name}' has shape [${e.shape.join(', ')}] but ${data.length} elements`);
      }
      writeFullySync(fd, bytesOf(data));
    }
  });
}


function checkData(e: SafetensorsSpec, data: SafetensorsData): void {
  const spec = DTYPES[e.dtype];
  if (!spec.accepts(data)) throw usageError(`safetensors '${e.name}' is ${e.dtype} but its data is a ${data.constructor.name}`);
  if (data.length !== product(e.shape)) throw usageError(`safetensors '${e.name}' has shape [${e.shape.join(', ')}] but ${data.length} elements`);
}

/** Bytes of queued writes a SafetensorsStream lets run before `write` waits for the oldest. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** Written bytes between two flushes to disk while streaming (see StagedFile.flushSoFar). */
const FLUSH_EVERY_BYTES = 24 * 1024 * 1024;

/**
 * A safetensors file written tensor by tensor as the data becomes available (e.g. one layer's mask at a time):
 * the header is written first from the specs, then each tensor with one positioned write at its own offset.
 * Writes run one after the other on libuv's pool while the caller computes the next tensor; `write` waits only
 * when more than 64 MB are still queued. Atomic like `writeSafetensors`: a temp file beside the target, fsynced and renamed by
 * `commit()`; `abort()` removes it.
 */
export class SafetensorsStream {
  private next = 0;
  private readonly pending: { done: Promise<void>; bytes: number }[] = [];
  private pendingBytes = 0;
  private unflushed = 0;
  /** The latest flush to disk; flushes run beside the writes (never in their queue) and one after the other. */
  private flushing: Promise<void> = Promise.resolve();
  private failed: unknown;

  private constructor(
    readonly file: string,
    private readonly staged: StagedFile,
    private readonly specs: readonly SafetensorsSpec[],
    private readonly offsets: number[],
    private readonly flushEveryBytes: number,
  ) {}

  /**
   * Starts the file (the header is written at once); tensors must then be written in the order of `specs`.
   * `flushEveryBytes`: how much is written between two flushes to disk (default 24 MB).
   */
  static async create(file: string, specs: readonly SafetensorsSpec[], metadata?: Record<string, string>, opts: { flushEveryBytes?: number } = {}): Promise<SafetensorsStream> {
    const header = headerFor(specs, metadata);
    const offsets: number[] = [];
    let at = header.length;
    for (const e of specs) {
      offsets.push(at);
      at += product(e.shape) * DTYPES[e.dtype].size;
    }
    let staged: StagedFile;
    try {
      staged = await StagedFile.create(file);
    } catch (e) {
      throw inputError(file, `cannot write safetensors file: ${(e as Error).message}`);
    }
    const stream = new SafetensorsStream(file, staged, specs, offsets, opts.flushEveryBytes ?? FLUSH_EVERY_BYTES);
    stream.launch(header, 0);
    return stream;
  }

  /** Starts writing the next tensor's bytes, which must stay unchanged until `commit` (or until it resolves and 64 MB more were written). */
  async write(data: SafetensorsData): Promise<void> {
    const e = this.specs[this.next];
    if (!e) throw usageError(`safetensors ${this.file}: more tensors written than the ${this.specs.length} declared`);
    checkData(e, data);
    this.throwIfFailed();
    this.launch(bytesOf(data), this.offsets[this.next++]);
    while (this.pendingBytes > MAX_PENDING_BYTES && this.pending.length > 1) await this.settleOldest();
    this.throwIfFailed();
  }

  /** Waits until at most `tensors` writes are still queued (so the buffers of earlier ones may be reused). */
  async drain(tensors: number): Promise<void> {
    while (this.pending.length > tensors) await this.settleOldest();
    this.throwIfFailed();
  }

  /** Waits for the writes, fsyncs and renames the file into place. Every declared tensor must have been written. */
  async commit(): Promise<void> {
    if (this.next !== this.specs.length) throw usageError(`safetensors ${this.file}: ${this.next} of ${this.specs.length} declared tensors written`);
    while (this.pending.length) await this.settleOldest();
    await this.flushing;
    this.throwIfFailed();
    try {
      await this.staged.commit();
    } catch (e) {
      await this.staged.abort();
      throw inputError(this.file, `cannot write safetensors file: ${(e as Error).message}`);
    }
  }

  /** Removes the temp file (after any write in flight). Safe to call more than once. */
  async abort(): Promise<void> {
    while (this.pending.length) await this.settleOldest();
    await this.flushing;
    await this.staged.abort();
  }

  /** Chained after the previous write: one write at a time (concurrent writes to one file only contend). */
  private launch(bytes: Uint8Array, position: number): void {
    const previous = this.pending.length ? this.pending[this.pending.length - 1].done : Promise.resolve();
    this.unflushed += bytes.length;
    const flush = this.unflushed >= this.flushEveryBytes;
    if (flush) this.unflushed = 0;
    const done = previous.then(async () => {
      if (this.failed !== undefined) return;
      await this.staged.writeAt(bytes, position);
    }).catch((e) => {
      this.failed ??= e;
    });
    // Flushing what is written so far spreads the disk writes over the run, so that commit's fsync has little
    // left to wait for. The flush does not hold up the writes queued after it: their buffers (a caller's ring of
    // a few layers) are free as soon as the kernel has copied them, not when the disk has them.
    if (flush) {
      const previousFlush = this.flushing;
      this.flushing = Promise.all([done, previousFlush]).then(async () => {
        if (this.failed === undefined) await this.staged.flushSoFar();
      }).catch((e) => {
        this.failed ??= e;
      });
    }
    this.pending.push({ done, bytes: bytes.length });
    this.pendingBytes += bytes.length;
  }

  private async settleOldest(): Promise<void> {
    const oldest = this.pending.shift() as { done: Promise<void>; bytes: number };
    await oldest.done;
    this.pendingBytes -= oldest.bytes;
  }

  private throwIfFailed(): void {
    if (this.failed !== undefined) throw inputError(this.file, `cannot write safetensors file: ${(this.failed as Error).message}`);
  }
}

/** Atomic write (temp file + fsync + rename); file-system failures are reported against the file. */
function writeAtomically(file: string, write: (fd: number) => void): void {
  try {
    writeFileAtomicSync(file, write);
  } catch (e) {
    // Our own usage errors (bad entries) pass through.
    if (e instanceof Error && e.name === 'MaxqError') throw e;
    throw inputError(file, `cannot write safetensors file: ${(e as Error).message}`);
  }
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses and checks the header: known dtypes, sizes matching shapes, contiguous in-bounds offsets. */
function parseHeader(json: string, dataLength: number, file: string): { metadata: Record<string, string>; entries: HeaderEntry[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw inputError(file, `safetensors header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw inputError(file, 'safetensors header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') throw inputError(file, `safetensors metadata '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = v?.dtype as SafetensorsDtype;
    if (typeof dtype !== 'string' || !DTYPES[dtype]) throw inputError(file, `tensor '${name}' has unsupported dtype ${JSON.stringify(v?.dtype)}`);
    const shape = v.shape;
    const offsets = v.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw inputError(file, `tensor '${name}' has a bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isInteger(d) && d >= 0)) {
      throw inputError(file, `tensor '${name}' has bad data_offsets`);
    }
    const [begin, end] = offsets as number[];
    if (end - begin !== product(shape) * DTYPES[dtype].size) {
      throw inputError(file, `tensor '${name}' data_offsets [${begin}, ${end}] do not match shape [${shape.join(', ')}] ${dtype}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // Tensors must tile the data region exactly, as the reference implementation requires: no gaps, overlaps
  // or bytes past the end, so a truncated file is caught here.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    if (e.begin !== expected) throw inputError(file, `tensor '${e.name}' starts at byte ${e.begin}, expected ${expected} (overlapping or gapped data)`);
    expected = e.end;
  }
  if (expected !== dataLength) {
    throw inputError(
      file,
      expected > dataLength ? `truncated safetensors file: tensors need ${expected} data bytes, the file has ${dataLength}` : `safetensors file has ${dataLength - expected} bytes after its last tensor`,
    );
  }
  return { metadata, entries };
}

/**
 * Reads a whole safetensors file (each tensor copied into its own aligned array). Meant for checkpoints,
 * masks and tests: the file is read in one piece, so it must fit in memory (and under Node's 2 GiB file read).
 */
export function readSafetensors(file: string): SafetensorsContents {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw inputError(file, `cannot read safetensors file: ${(e as Error).message}`);
  }
  if (bytes.length < 8) throw inputError(file, 'truncated safetensors file (no header length)');
  const headerLen = bytes.readBigUInt64LE(0);
  if (headerLen > BigInt(MAX_HEADER)) throw inputError(file, `safetensors header length ${headerLen} is implausible; not a safetensors file?`);
  const start = 8 + Number(headerLen);
  if (start > bytes.length) throw inputError(file, 'truncated safetensors file (incomplete header)');
  const json = bytes.subarray(8, start).toString('utf8');
  if (!json.trimStart().startsWith('{')) throw inputError(file, 'not a safetensors file (header is not a JSON object)');
  const { metadata, entries } = parseHeader(json, bytes.length - start, file);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    const buffer = new ArrayBuffer(e.end - e.begin);
    new Uint8Array(buffer).set(bytes.subarray(start + e.begin, start + e.end));
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: DTYPES[e.dtype].make(buffer, product(e.shape)) });
  }
  return { metadata, tensors };
}

/**
 * An ONNX file's structure without its weight bytes. The file is scanned with positioned reads: every field of
 * the ModelProto, of its main graph and of the graph's initializers is kept, except the raw_data payloads of
 * initializers (at least `lazyMin` bytes each), which stay in the file and are recorded as byte ranges. The kept
 * bytes form a smaller ModelProto ("skeleton") whose length prefixes are rewritten to match, so it decodes with
 * the same schema and the same checks as the whole file; a tensor's bytes are read later, only when it is used.
 *
 * For ResNet-50 (94 MB) the skeleton is under 100 KB, so `maxq inspect` never touches the weights and
 * `maxq validate` holds one layer's weights at a time instead of the whole file.
 *
 * The scan is deliberately strict: anything unusual (a group wire type, a length running past its message, a
 * repeated graph or raw_data field whose protobuf merge rules would matter) returns undefined, and the caller
 * reads the whole file instead, so corrupt files get exactly the errors the full decoder gives.
 */
import * as fs from 'fs';

export interface FileRange {
  /** Byte offset of the payload in the model file. */
  offset: number;
  length: number;
}

export interface ModelSkeleton {
  /** A ModelProto: the file's bytes with the lazy raw_data fields removed. */
  bytes: Uint8Array;
  /** Per initializer of the main graph, in order: where its raw_data payload is in the file, or undefined. */
  lazyRaw: (FileRange | undefined)[];
  /** Size of the file when it was scanned (tensor reads check that it has not shrunk). */
  fileSize: number;
  /** Modification time when it was scanned (ms). */
  mtimeMs: number;
}

/** raw_data payloads at least this long stay in the file by default (smaller ones cost less to keep). */
export const DEFAULT_LAZY_MIN = 4096;

const WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_BYTES = 2, WIRE_FIXED32 = 5;
const MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_RAW_DATA = 9;
const WINDOW = 64 * 1024;
const MIN_WINDOW = 4 * 1024;

/** Not a usable scan: the caller falls back to decoding the whole file. */
class Unusual extends Error {}

/**
 * Reads the file through a window that follows the scan: most fields are tiny and consecutive, so a window
 * grows (4 KB doubling to 64 KB) while reads stay sequential, and starts small again after a jump over a
 * tensor's bytes, so the bytes jumped over are not read.
 */
class FileWindow {
  private buf: Buffer;
  private start = 0;
  private end = 0;
  private want = MIN_WINDOW;

  constructor(private readonly fd: number, readonly size: number) {
    this.buf = Buffer.allocUnsafe(WINDOW);
  }

  byteAt(pos: number): number {
    if (pos < this.start || pos >= this.end) this.fill(pos);
    return this.buf[pos - this.start];
  }

  private fill(pos: number): void {
    if (pos >= this.size) throw new Unusual('past the end');
    this.want = pos === this.end ? Math.min(WINDOW, this.want * 2) : MIN_WINDOW;
    const want = Math.min(this.want, this.size - pos);
    let got = 0;
    while (got < want) {
      const n = fs.readSync(this.fd, this.buf, got, want - got, pos + got);
      if (n === 0) throw new Unusual('the file ended early');
      got += n;
    }
    this.start = pos;
    this.end = pos + want;
  }
}

/** A varint at `pos` (values up to 2^53, enough for any length or tag), or Unusual. */
function varint(w: FileWindow, pos: number, end: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Unusual('varint past the end');
    const b = w.byteAt(pos++);
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (!Number.isSafeInteger(value)) throw new Unusual('varint too large');
      return { value, next: pos };
    }
    scale *= 128;
  }
  throw new Unusual('varint longer than 10 bytes');
}

interface FieldPos {
  no: number;
  wire: number;
  start: number;
  dataStart: number;
  end: number;
}

/** The fields of the message in [start, end), one at a time. */
function* fields(w: FileWindow, start: number, end: number): Generator<FieldPos> {
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const tag = varint(w, pos, end);
    const no = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (no === 0) throw new Unusual('field number 0');
    pos = tag.next;
    let dataStart = pos;
    if (wire === WIRE_VARINT) pos = varint(w, pos, end).next;
    else if (wire === WIRE_FIXED64) pos += 8;
    else if (wire === WIRE_FIXED32) pos += 4;
    else if (wire === WIRE_BYTES) {
      const len = varint(w, pos, end);
      dataStart = len.next;
      pos = len.next + len.value;
    } else throw new Unusual(`wire type ${wire}`);
    if (pos > end) throw new Unusual('field past the end of its message');
    yield { no, wire, start: fieldStart, dataStart, end: pos };
  }
}

/** Output as file ranges and literal bytes, so nothing is read until the layout is final. */
class Out {
  readonly parts: (Uint8Array | [number, number])[] = [];
  length = 0;

  range(a: number, b: number): void {
    if (b <= a) return;
    const last = this.parts[this.parts.length - 1];
    if (Array.isArray(last) && last[1] === a) last[1] = b;
    else this.parts.push([a, b]);
    this.length += b - a;
  }

  literal(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  append(o: Out): void {
    for (const p of o.parts) {
      if (Array.isArray(p)) this.range(p[0], p[1]);
      else this.literal(p);
    }
  }
}

function encodeVarint(value: number, into: number[]): void {
  while (value >= 0x80) {
    into.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  into.push(value);
}

/** The header of a length-delimited field: tag, then the (new) length. */
function header(no: number, length: number): Uint8Array {
  const b: number[] = [];
  encodeVarint(no * 8 + WIRE_BYTES, b);
  encodeVarint(length, b);
  return Uint8Array.from(b);
}

function tensorWithoutRaw(w: FileWindow, start: number, end: number, lazyMin: number): { out: Out; raw?: FileRange } {
  const out = new Out();
  let raw: FileRange | undefined;
  let rawFields = 0;
  for (const f of fields(w, start, end)) {
    if (f.no === TENSOR_RAW_DATA) {
      // A repeated raw_data field is merged by the decoder (last one wins): leave that to it.
      if (++rawFields > 1 || f.wire !== WIRE_BYTES) throw new Unusual('repeated raw_data');
      if (f.end - f.dataStart >= lazyMin) {
        raw = { offset: f.dataStart, length: f.end - f.dataStart };
        continue;
      }
    }
    out.range(f.start, f.end);
  }
  return { out, raw };
}

function graphWithoutRaw(w: FileWindow, start: number, end: number, lazyMin: number, lazy: (FileRange | undefined)[]): Out {
  const out = new Out();
  for (const f of fields(w, start, end)) {
    if (f.no === GRAPH_INITIALIZER && f.wire === WIRE_BYTES) {
      const t = tensorWithoutRaw(w, f.dataStart, f.end, lazyMin);
      lazy.push(t.raw);
      if (!t.raw) {
        out.range(f.start, f.end);
        continue;
      }
      out.literal(header(GRAPH_INITIALIZER, t.out.length));
      out.append(t.out);
    } else {
      out.range(f.start, f.end);
    }
  }
  return out;
}

/** Reads every kept range straight into the skeleton buffer. */
function materialize(fd: number, out: Out): Uint8Array {
  const bytes = new Uint8Array(out.length);
  let o = 0;
  for (const p of out.parts) {
    if (Array.isArray(p)) {
      const [a, b] = p;
      let got = 0;
      while (got < b - a) {
        const n = fs.readSync(fd, bytes, o + got, b - a - got, a + got);
        if (n === 0) throw new Unusual('the file ended early');
        got += n;
      }
      o += b - a;
    } else {
      bytes.set(p, o);
      o += p.length;
    }
  }
  return bytes;
}

/**
 * The skeleton of the ONNX file `file` (opened and read with positioned reads), or undefined when it is not a
 * plain, well-formed ModelProto whose structure can be split off (the caller then reads the whole file).
 * File-system errors (missing file, permissions) are thrown as they are.
 */
export function readSkeleton(file: string, lazyMin = DEFAULT_LAZY_MIN): ModelSkeleton | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    const w = new FileWindow(fd, st.size);
    const lazy: (FileRange | undefined)[] = [];
    const out = new Out();
    let graphs = 0;
    try {
      for (const f of fields(w, 0, st.size)) {
        if (f.no === MODEL_GRAPH && f.wire === WIRE_BYTES) {
          if (++graphs > 1) return undefined; // merged by the decoder
          const g = graphWithoutRaw(w, f.dataStart, f.end, lazyMin, lazy);
          out.literal(header(MODEL_GRAPH, g.length));
          out.append(g);
        } else {
          out.range(f.start, f.end);
        }
      }
      if (!lazy.some((r) => r)) return undefined; // nothing to leave out: the whole file is as cheap
      return { bytes: materialize(fd, out), lazyRaw: lazy, fileSize: st.size, mtimeMs: st.mtimeMs };
    } catch (e) {
      if (e instanceof Unusual) return undefined;
      throw e;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function readAt(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * Positioned reads of one file through one descriptor, opened on the first read and closed as soon as no read
 * is pending (checked on the next turn of the event loop, so reads issued back to back share it): one
 * thread-pool hop per read instead of open, read and close each time, and no descriptor left open while idle.
 */
export class RangeReader {
  private fd: number | undefined;
  private active = 0;
  private closing = false;

  constructor(readonly file: string) {}

  /**
   * Exactly `range.length` bytes at `range.offset`, into `into` (that many bytes long) or a fresh aligned
   * buffer. A file that ends early throws a RangeError saying where.
   */
  async read(range: FileRange, into?: Uint8Array): Promise<Uint8Array> {
    if (into && into.length !== range.length) throw new Error(`buffer of ${into.length} bytes for a range of ${range.length}`);
    if (this.fd === undefined) this.fd = fs.openSync(this.file, 'r');
    const fd = this.fd;
    this.active++;
    try {
      // Uninitialised (no zero-fill pass): every byte is read into it below, or the read fails.
      const out = into ?? new Uint8Array(Buffer.allocUnsafeSlow(range.length).buffer, 0, range.length);
      let done = 0;
      while (done < range.length) {
        const n = await readAt(fd, out, done, range.length - done, range.offset + done);
        if (n === 0) throw new RangeError(`the file ends at byte ${range.offset + done}`);
        done += n;
      }
      return out;
    } finally {
      this.active--;
      this.closeWhenIdle();
    }
  }

  private closeWhenIdle(): void {
    if (this.active > 0 || this.closing || this.fd === undefined) return;
    this.closing = true;
    setImmediate(() => {
      this.closing = false;
      if (this.active === 0 && this.fd !== undefined) {
        const fd = this.fd;
        this.fd = undefined;
        fs.close(fd, () => undefined);
      }
    });
  }
}

/** One range of `file` (see RangeReader.read). */
export async function readFileRange(file: string, range: FileRange, into?: Uint8Array): Promise<Uint8Array> {
  return new RangeReader(file).read(range, into);
}

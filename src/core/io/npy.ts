/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): the exchange format for data sets, sample inputs
 * and reference outputs, because `np.save` is what every Python user already has at hand.
 *
 * Supported: little-endian (or byte-order-free) float32, float64, uint8, int8, int32, int64 and bool arrays
 * in C order. Everything else (Fortran order, big-endian, object, structured, string, other widths) is
 * rejected with an input error that says how to re-save the file, rather than being converted silently.
 *
 * The reader works on a file descriptor so that large data sets can be read a range of rows at a time
 * (`openNpy`) instead of being loaded whole; `readNpy` is the load-everything convenience.
 */
import * as fs from 'fs';
import { inputError, usageError } from '../errors';
import { writeFileAtomicSync, writeFullySync } from './atomicWrite';

export type NpyDtype = 'float32' | 'float64' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool';

/** The typed array for each dtype; bool is stored one byte per element (0 or 1), like NumPy. */
export type NpyData = Float32Array | Float64Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;

export interface NpyArray {
  shape: number[];
  dtype: NpyDtype;
  data: NpyData;
}

/** A parsed header plus where the data starts: enough to read any range of the array. */
export interface NpyHeader {
  version: 1 | 2 | 3;
  shape: number[];
  dtype: NpyDtype;
  /** Byte offset of the first element in the file. */
  dataOffset: number;
  /** Number of elements (product of shape; 1 for a 0-d array). */
  count: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const PREAMBLE_V1 = 10; // magic(6) + version(2) + uint16 header length
const PREAMBLE_V2 = 12; // magic(6) + version(2) + uint32 header length
/** NumPy pads the header so that data starts on a 64-byte boundary (aligned typed-array views, mmap). */
const ALIGN = 64;
/** Node refuses single reads/writes of 2 GiB or more; big arrays go through in 1 GiB pieces. */
const IO_CHUNK = 1 << 30;

interface DtypeInfo {
  dtype: NpyDtype;
  size: number;
}

/** NumPy type codes (the `descr` without byte order) we accept. */
const CODES: Record<string, DtypeInfo> = {
  f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 },
  u1: { dtype: 'uint8', size: 1 },
  i1: { dtype: 'int8', size: 1 },
  i4: { dtype: 'int32', size: 4 },
  i8: { dtype: 'int64', size: 8 },
  b1: { dtype: 'bool', size: 1 },
};

const DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  uint8: '|u1',
  int8: '|i1',
  int32: '<i4',
  int64: '<i8',
  bool: '|b1',
};

export function dtypeSize(dtype: NpyDtype): number {
  return CODES[DESCR[dtype].slice(1)].size;
}

const SUPPORTED = 'float32, float64, uint8, int8, int32, int64 or bool';

/** Maps a `descr` string to a dtype, or explains why it is not supported. */
function parseDescr(descr: string, file: string): DtypeInfo {
  const order = descr[0];
  const code = descr.slice(1);
  if (!'<>|='.includes(order) || code.length === 0) {
    throw inputError(file, `unrecognised .npy dtype '${descr}'`);
  }
  if (code.startsWith('O')) {
    throw inputError(file, `.npy holds Python objects (dtype '${descr}'), which cannot be read; save a numeric array (${SUPPORTED})`);
  }
  const info = CODES[code];
  if (!info) {
    throw inputError(file, `unsupported .npy dtype '${descr}'; save the array as ${SUPPORTED} (e.g. arr.astype(np.float32))`);
  }
  // Byte order only matters for multi-byte types; '=' is native order, which for the machines NumPy runs on
  // in practice (x86, ARM) is little-endian.
  if (order === '>' && info.size > 1) {
    throw inputError(file, `.npy is big-endian ('${descr}'); re-save it little-endian, e.g. arr.astype('<${code}')`);
  }
  return info;
}

/**
 * Parses the Python-literal header dict, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
 * NumPy always writes these three keys in this style; we match each key on its own so key order and spacing
 * do not matter.
 */
function parseHeaderDict(text: string, file: string): { dtype: DtypeInfo; shape: number[] } {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) {
    throw inputError(file, `.npy header is not a dictionary: ${JSON.stringify(trimmed.slice(0, 80))}`);
  }
  const descrMatch = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(trimmed);
  if (!descrMatch) {
    if (/['"]descr['"]\s*:\s*\[/.test(trimmed)) {
      throw inputError(file, `.npy holds a structured (record) array, which is not supported; save a plain ${SUPPORTED} array`);
    }
    throw inputError(file, `.npy header has no 'descr' (dtype) entry`);
  }
  const fortranMatch = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(trimmed);
  if (!fortranMatch) throw inputError(file, `.npy header has no 'fortran_order' entry`);
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(trimmed);
  if (!shapeMatch) throw inputError(file, `.npy header has no 'shape' entry`);

  const dtype = parseDescr(descrMatch[2], file);
  if (fortranMatch[1] === 'True') {
    throw inputError(file, `.npy array is in Fortran (column-major) order; re-save it with np.save(path, np.ascontiguousarray(arr))`);
  }
  const shape: number[] = [];
  for (const part of shapeMatch[1].split(',')) {
    const p = part.trim().replace(/L$/, ''); // Python 2 wrote long ints as 3L
    if (p === '') continue;
    if (!/^\d+$/.test(p)) throw inputError(file, `.npy header has a bad shape (${shapeMatch[1]})`);
    shape.push(Number(p));
  }
  return { dtype, shape };
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Parses the header from the first bytes of a file; `fileSize` lets it check the data length. */
function parseHeader(head: Uint8Array, fileSize: number, file: string): NpyHeader {
  if (MAGIC.some((b, i) => i < head.length && head[i] !== b) || head.length === 0) {
    throw inputError(file, 'not a .npy file (missing the \\x93NUMPY magic)');
  }
  if (head.length < PREAMBLE_V1) throw inputError(file, 'truncated .npy file (incomplete header)');
  const major = head[6];
  if (major !== 1 && major !== 2 && major !== 3) {
    throw inputError(file, `unsupported .npy format version ${major}.${head[7]} (supported: 1.0, 2.0, 3.0)`);
  }
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let preamble: number;
  let headerLen: number;
  if (major === 1) {
    preamble = PREAMBLE_V1;
    headerLen = dv.getUint16(8, true);
  } else {
    if (head.length < PREAMBLE_V2) throw inputError(file, 'truncated .npy file (incomplete header)');
    preamble = PREAMBLE_V2;
    headerLen = dv.getUint32(8, true);
  }
  const dataOffset = preamble + headerLen;
  if (head.length < dataOffset) throw inputError(file, 'truncated .npy file (incomplete header)');
  const headerBytes = head.subarray(preamble, dataOffset);
  // Versions 1 and 2 store the header as latin-1, version 3 as UTF-8 (for non-ASCII structured field names).
  const text = Buffer.from(headerBytes).toString(major === 3 ? 'utf8' : 'latin1');
  const { dtype, shape } = parseHeaderDict(text, file);
  const count = product(shape);
  const expected = dataOffset + count * dtype.size;
  if (fileSize < expected) {
    throw inputError(file, `truncated .npy file: shape [${shape.join(', ')}] ${dtype.dtype} needs ${expected} bytes, the file has ${fileSize}`);
  }
  if (fileSize > expected) {
    throw inputError(file, `.npy file is ${fileSize - expected} bytes longer than its header's shape [${shape.join(', ')}] ${dtype.dtype} says; the file is corrupt`);
  }
  return { version: major as 1 | 2 | 3, shape, dtype: dtype.dtype, dataOffset, count };
}

/** Allocates the typed array for `count` elements of `dtype` over a fresh (hence aligned) buffer. */
function allocate(dtype: NpyDtype, count: number): NpyData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(count);
    case 'float64':
      return new Float64Array(count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(count);
    case 'int8':
      return new Int8Array(count);
    case 'int32':
      return new Int32Array(count);
    case 'int64':
      return new BigInt64Array(count);
  }
}

/** Reads exactly `length` bytes at `position`, looping because one read may return less. */
function readFully(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.length) {
    const n = fs.readSync(fd, target, done, Math.min(target.length - done, IO_CHUNK), position + done);
    if (n === 0) throw inputError(file, 'truncated .npy file (unexpected end of file)');
    done += n;
  }
}

function bytesOf(data: NpyData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** An open .npy file whose elements can be read by range; close it when done. */
export class NpyFile {
  readonly file: string;
  readonly header: NpyHeader;
  private fd: number | null;

  private constructor(file: string, fd: number, header: NpyHeader) {
    this.file = file;
    this.fd = fd;
    this.header = header;
  }

  /** Opens and validates the header and the data length (so a truncated file fails here, not mid-training). */
  static open(file: string): NpyFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw inputError(file, `cannot open .npy file: ${(e as Error).message}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      // The longest header NumPy writes for plain arrays is far below 64 KiB; read a generous prefix once.
      const prefix = new Uint8Array(Math.min(size, 65536 + PREAMBLE_V2));
      readFully(fd, prefix, 0, file);
      let head = prefix;
      if (prefix.length >= PREAMBLE_V2 && prefix[6] >= 2) {
        const len = new DataView(prefix.buffer).getUint32(8, true);
        if (PREAMBLE_V2 + len > prefix.length && PREAMBLE_V2 + len <= size) {
          head = new Uint8Array(PREAMBLE_V2 + len);
          readFully(fd, head, 0, file);
        }
      }
      return new NpyFile(file, fd, parseHeader(head, size, file));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Reads `length` elements starting at element `start` (flat C-order index) into a new typed array. */
  read(start: number, length: number): NpyData {
    if (this.fd === null) throw new Error(`NpyFile ${this.file} is closed`);
    if (start < 0 || length < 0 || start + length > this.header.count) {
      throw new RangeError(`element range [${start}, ${start + length}) outside 0..${this.header.count}`);
    }
    const size = dtypeSize(this.header.dtype);
    const out = allocate(this.header.dtype, length);
    readFully(this.fd, bytesOf(out), this.header.dataOffset + start * size, this.file);
    return out;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Reads a whole .npy file. */
export function readNpy(file: string): NpyArray {
  const f = NpyFile.open(file);
  try {
    return { shape: f.header.shape, dtype: f.header.dtype, data: f.read(0, f.header.count) };
  } finally {
    f.close();
  }
}

/** The dtype a typed array is written as (Uint8Array is uint8 unless `bool` is asked for). */
function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint8';
}

/** The header block (magic, version, length, padded dict) for an array, v1 when it fits, else v2. */
export function npyHeaderBytes(shape: readonly number[], dtype: NpyDtype): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const build = (preamble: number): Uint8Array | null => {
    // Pad with spaces and end with '\n' so that preamble + header is a multiple of 64.
    const unpadded = preamble + dict.length + 1;
    const total = Math.ceil(unpadded / ALIGN) * ALIGN;
    const headerLen = total - preamble;
    if (preamble === PREAMBLE_V1 && headerLen > 0xffff) return null;
    const out = new Uint8Array(total);
    out.set(MAGIC, 0);
    out[6] = preamble === PREAMBLE_V1 ? 1 : 2;
    out[7] = 0;
    const dv = new DataView(out.buffer);
    if (preamble === PREAMBLE_V1) dv.setUint16(8, headerLen, true);
    else dv.setUint32(8, headerLen, true);
    out.set(Buffer.from(dict + ' '.repeat(headerLen - dict.length - 1) + '\n', 'latin1'), preamble);
    return out;
  };
  return build(PREAMBLE_V1) ?? (build(PREAMBLE_V2) as Uint8Array);
}

/**
 * Writes an array as .npy. The dtype follows the typed array; pass `dtype: 'bool'` to write a Uint8Array of
 * 0/1 as bool. Atomic: the bytes go to a temporary file in the same directory, renamed over `file` at the end,
 * so a reader never sees a half-written file and a failed write leaves any previous file intact.
 */
export function writeNpy(file: string, shape: readonly number[], data: NpyData, dtype: NpyDtype = dtypeOf(data)): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw usageError(`bad .npy shape [${shape.join(', ')}]`);
  if (product(shape) !== data.length) {
    throw usageError(`.npy shape [${shape.join(', ')}] holds ${product(shape)} elements, the data has ${data.length}`);
  }
  if (dtypeSize(dtype) !== data.BYTES_PER_ELEMENT || (dtype !== dtypeOf(data) && !(dtype === 'bool' && data instanceof Uint8Array))) {
    throw usageError(`cannot write a ${data.constructor.name} as .npy ${dtype}`);
  }
  const header = npyHeaderBytes(shape, dtype);
  writeAtomically(file, (fd) => {
    writeFullySync(fd, header);
    writeFullySync(fd, bytesOf(data));
  });
}


/** Atomic write (temp file + fsync + rename); file-system failures are reported against the file. */
function writeAtomically(file: string, write: (fd: number) => void): void {
  try {
    writeFileAtomicSync(file, write);
  } catch (e) {
    throw inputError(file, `cannot write .npy file: ${(e as Error).message}`);
  }
}

/**
 * A loaded ONNX model: the decoded ModelProto, its original bytes (the writer rewrites them surgically), a
 * table of its constant tensors checked at load time, and producer/consumer lookups over the main graph.
 * Every problem with the file surfaces as an input error naming the file.
 */
import * as fs from 'fs';
import { inputError, MaxqError } from '../errors';
import { onnx } from './proto';
import { dataTypeName, isReadable, NativeArray, nativeCtor, storageBytes } from './dtypes';
import { readExternalBytes } from './externalData';
import { nativeFromOwnedBytes, nativeFromRaw, nativeFromTyped, nativeToFloat32, nativeViewOfRaw } from './tensorCodec';
import { DEFAULT_LAZY_MIN, FileRange, RangeReader, readSkeleton } from './skeleton';
import { constantEntry, makeEntry, TensorEntry, TensorInfo } from './tensorTable';
import { forEachTensor, isExternal } from './tensorWalk';
import { toNumber } from './int64';
import { shown } from './shown';

export type { TensorInfo } from './tensorTable';

export interface TensorData {
  dims: number[];
  dataType: number;
  /** Native values; float16/bfloat16 as uint16 bit patterns, int64 as bigint. */
  data: NativeArray;
}

/** ir_version values beyond this are not real ONNX files (current ONNX is at 11). */
const MAX_IR_VERSION = 1000;

function decodeModel(bytes: Uint8Array, file: string): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (/index out of range/.test(msg)) throw inputError(file, 'not a valid ONNX model: the file is truncated or corrupt (its protobuf data ends early)');
    throw inputError(file, `not a valid ONNX model: the file is not ONNX protobuf data (${msg})`);
  }
  const missing: string[] = [];
  const ir = toNumber(model.irVersion);
  if (!model.graph) missing.push('no graph');
  if (!(ir > 0 && ir <= MAX_IR_VERSION)) missing.push(`ir_version ${ir}`);
  if (!model.opsetImport || model.opsetImport.length === 0) missing.push('no opset_import');
  if (missing.length > 0) throw inputError(file, `not a valid ONNX model: it decodes as protobuf but is not a model (${missing.join(', ')})`);
  const graph = model.graph as onnx.GraphProto;
  if (!graph.node || graph.node.length === 0) throw inputError(file, 'not a valid ONNX model: its graph has no nodes');
  if (graph.node.some((n) => !n.opType)) throw inputError(file, 'not a valid ONNX model: a node has no op_type (the file is probably corrupt)');
  return model;
}

function isDefaultDomain(domain: string | null | undefined): boolean {
  return !domain || domain === 'ai.onnx';
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface ReadViewOptions {
  /**
   * For weights left in the file (`open`): read into this buffer when it is large enough, instead of a fresh
   * one; the values are then only valid until the caller reuses it.
   */
  scratch?: ArrayBufferLike;
}

export interface OpenOptions {
  /** raw_data payloads at least this long stay in the file until read (default 4096 bytes). */
  lazyMin?: number;
}

async function statModelFile(file: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw inputError(file, 'file not found');
    throw inputError(file, `cannot read the file: ${(e as Error).message}`);
  }
  if (st.isDirectory()) throw inputError(file, 'is a directory, not an ONNX model file');
  if (!st.isFile()) throw inputError(file, 'is not a regular file');
  if (st.size === 0) throw inputError(file, 'the file is empty');
}

export class OnnxModel {
  readonly model: onnx.ModelProto;
  readonly graph: onnx.GraphProto;
  private readonly tensors = new Map<string, TensorEntry>();
  private readonly producers = new Map<string, onnx.INodeProto>();
  private readonly consumers = new Map<string, onnx.INodeProto[]>();
  /** Where the weights left in the file are (models from `open`), keyed by entry. */
  private readonly lazy = new Map<TensorEntry, FileRange>();

  /**
   * `bytes` are the file as loaded (or, for `open`, its skeleton without the weight bytes); the writer copies
   * untouched parts from the whole file's bytes, so they must not be mutated.
   */
  private constructor(readonly path: string, private readonly fileBytes: Uint8Array, model: onnx.ModelProto, lazyRaw?: (FileRange | undefined)[]) {
    this.model = model;
    this.graph = model.graph as onnx.GraphProto;
    this.graph.initializer.forEach((t, i) => {
      const range = lazyRaw?.[i];
      const e = makeEntry(path, t, 'initializer', undefined, range?.length);
      if (range) this.lazy.set(e, range);
      this.tensors.set(t.name ?? '', e);
    });
    for (const n of this.graph.node) {
      for (const out of n.output ?? []) if (out) this.producers.set(out, n);
      for (const inp of n.input ?? []) {
        if (!inp) continue;
        const list = this.consumers.get(inp);
        if (list) {
          if (list[list.length - 1] !== n) list.push(n);
        } else this.consumers.set(inp, [n]);
      }
      if (n.opType === 'Constant' && isDefaultDomain(n.domain)) {
        const e = constantEntry(path, n);
        if (e && !this.tensors.has(e.info.name)) this.tensors.set(e.info.name, e);
      }
    }
  }

  /** The whole file in memory: what the writer and every rewrite need. */
  static async load(file: string): Promise<OnnxModel> {
    await statModelFile(file);
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(file);
    } catch (e) {
      throw inputError(file, `cannot read the file: ${(e as Error).message}`);
    }
    return OnnxModel.fromBytes(bytes, file);
  }

  /**
   * For reading only (inspect, validate, masks, the inspector): the structure is read without the weight bytes,
   * which stay in the file and are read with positioned reads when a tensor is used, each into its own aligned
   * buffer. Peak memory is the largest tensor in use, not the file. Same checks and errors as `load`; a model
   * opened this way cannot be rewritten (`bytes` throws): use `load` for that.
   */
  static async open(file: string, opts: OpenOptions = {}): Promise<OnnxModel> {
    await statModelFile(file);
    let skeleton: ReturnType<typeof readSkeleton>;
    try {
      skeleton = readSkeleton(file, opts.lazyMin ?? DEFAULT_LAZY_MIN);
    } catch (e) {
      throw inputError(file, `cannot read the file: ${(e as Error).message}`);
    }
    if (!skeleton) return OnnxModel.load(file);
    try {
      return new OnnxModel(file, skeleton.bytes, decodeModel(skeleton.bytes, file), skeleton.lazyRaw);
    } catch {
      // A problem the scan let through: decoding the whole file reports it exactly as `load` always has.
      return OnnxModel.load(file);
    }
  }

  /** Whether some weights were left in the file (`open`): such a model is for reading only. */
  get isLazy(): boolean {
    return this.lazy.size > 0;
  }

  /** The whole file's bytes (not for models from `open` that left weights in the file). */
  get bytes(): Uint8Array {
    if (this.isLazy) throw new Error(`${this.path} was opened for reading only (its weights stay in the file); load it with OnnxModel.load to rewrite it`);
    return this.fileBytes;
  }

  /** `file` names the model in messages and is the base for external data locations. */
  static fromBytes(bytes: Uint8Array, file: string): OnnxModel {
    if (bytes.length === 0) throw inputError(file, 'the file is empty');
    return new OnnxModel(file, bytes, decodeModel(bytes, file));
  }

  /** Opset version imported for `domain` ('' and 'ai.onnx' are the same); 0 when it is not imported. */
  opset(domain = ''): number {
    const d = isDefaultDomain(domain) ? '' : domain;
    const imp = this.model.opsetImport.find((o) => (isDefaultDomain(o.domain) ? '' : o.domain) === d);
    return imp ? toNumber(imp.version) : 0;
  }

  get nodes(): readonly onnx.INodeProto[] {
    return this.graph.node;
  }

  producerOf(tensorName: string): onnx.INodeProto | undefined {
    return this.producers.get(tensorName);
  }

  consumersOf(tensorName: string): readonly onnx.INodeProto[] {
    return this.consumers.get(tensorName) ?? [];
  }

  /** An initializer or Constant output; undefined for anything computed at run time. */
  tensorInfo(name: string): TensorInfo | undefined {
    return this.tensors.get(name)?.info;
  }

  /** All constant tensors (initializers first, then Constant outputs, in graph order). */
  get tensorInfos(): TensorInfo[] {
    return [...this.tensors.values()].map((e) => e.info);
  }

  /** Elements in all initializers and Constant outputs. */
  get paramCount(): number {
    let n = 0;
    for (const e of this.tensors.values()) n += e.info.elementCount;
    return n;
  }

  private externalCache: boolean | undefined;

  /** Whether any tensor anywhere in the model (subgraphs included) stores its data externally. */
  get hasExternalData(): boolean {
    if (this.externalCache === undefined) {
      let found = false;
      forEachTensor(this.model, (t) => {
        found = found || isExternal(t);
      });
      this.externalCache = found;
    }
    return this.externalCache;
  }

  /** For the writer: the tensor's entry with its proto and external reference. */
  entry(name: string): TensorEntry | undefined {
    return this.tensors.get(name);
  }

  /**
   * A tensor's values in a fresh array the caller may change. Models from `open` read the bytes from the file
   * (positioned read, no other copy); otherwise the bytes are copied out of the file buffer.
   */
  async readTensor(name: string): Promise<TensorData> {
    return this.read(name, false);
  }

  /**
   * Like `readTensor`, but for reading only: where the stored bytes can be used in place (little-endian host,
   * offset aligned to the element size) the array is a view on the model's file buffer and must not be changed.
   * Misaligned tensors are copied (that tensor only), and models from `open` read into a fresh buffer anyway.
   */
  async readTensorView(name: string, opts: ReadViewOptions = {}): Promise<TensorData> {
    return this.read(name, true, opts.scratch);
  }

  private async read(name: string, view: boolean, scratch?: ArrayBufferLike): Promise<TensorData> {
    const e = this.tensors.get(name);
    if (!e) throw inputError(this.path, `tensor '${shown(name)}' is not an initializer or Constant in this model`);
    const { dims, dataType, elementCount: count, storage } = e.info;
    if (!isReadable(dataType)) {
      const t = dataTypeName(dataType);
      const what = t.startsWith('data type') ? `an unknown ${t}` : `data type ${t}`;
      throw inputError(this.path, `tensor '${shown(name)}' has ${what}, which MaxQ cannot read`);
    }
    try {
      let data: NativeArray;
      if (storage === 'empty') data = new (nativeCtor(dataType) as NonNullable<ReturnType<typeof nativeCtor>>)(0);
      else if (storage === 'raw') {
        const range = this.lazy.get(e);
        if (range && scratch && scratch.byteLength >= range.length && HOST_LITTLE_ENDIAN) {
          // Into the caller's buffer (reused across layers): no fresh allocation, no page faults.
          await this.readRange(name, range, new Uint8Array(scratch, 0, range.length));
          data = nativeViewOfRaw(dataType, new Uint8Array(scratch, 0, range.length), count);
        } else if (range) data = nativeFromOwnedBytes(dataType, await this.readRange(name, range), count);
        else data = (view ? nativeViewOfRaw : nativeFromRaw)(dataType, e.proto.rawData as Uint8Array, count);
      }
      else if (storage === 'external') {
        const bytes = await readExternalBytes(this.path, name, e.externalRef!, storageBytes(dataType, count) as number);
        data = nativeFromOwnedBytes(dataType, bytes, count);
      } else data = nativeFromTyped(dataType, e.proto, count);
      return { dims: [...dims], dataType, data };
    } catch (err) {
      if (err instanceof MaxqError) throw err;
      if (err instanceof RangeError) throw inputError(this.path, `tensor '${shown(name)}' (${count} elements) is too large to load into memory`);
      throw err;
    }
  }

  /** Values as float32, whatever the stored numeric type (a fresh array). */
  async readFloat32(name: string): Promise<Float32Array> {
    const t = await this.readTensor(name);
    return nativeToFloat32(t.dataType, t.data);
  }

  /** Values as float32 for reading only: float32 tensors may be views on the file buffer (see readTensorView). */
  async readFloat32View(name: string, opts: ReadViewOptions = {}): Promise<Float32Array> {
    const t = await this.readTensorView(name, opts);
    return nativeToFloat32(t.dataType, t.data);
  }

  /** A weight left in the file by `open`: one positioned read. */
  private rangeReader: RangeReader | undefined;

  private async readRange(name: string, range: FileRange, into?: Uint8Array): Promise<Uint8Array> {
    try {
      return await (this.rangeReader ??= new RangeReader(this.path)).read(range, into);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw inputError(this.path, `tensor '${shown(name)}' cannot be read: the file was removed after it was opened`);
      if (err instanceof RangeError && /ends at byte/.test(err.message)) {
        throw inputError(this.path, `tensor '${shown(name)}' cannot be read: the file changed after it was opened (${err.message}, the tensor needs bytes ${range.offset}..${range.offset + range.length})`);
      }
      throw inputError(this.path, `tensor '${shown(name)}' cannot be read: ${(err as Error).message}`);
    }
  }
}

/** Shared helpers for the ONNX I/O tests: temp folders, fixture models, wire-level injection of unknown fields. */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { after } from 'node:test';
import * as assert from 'node:assert/strict';
import { onnx, protobuf, DataType } from '../../../src/core/onnx/proto';
import { buildModel, node, tensor, valueInfo } from '../../../src/core/onnx/builder';
import { MaxqError } from '../../../src/core/errors';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp folder, removed when the test file finishes. */
export function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-onnx-'));
  dirs.push(d);
  return d;
}

export function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Bytes of one length-delimited field. */
export function bytesFieldOf(no: number, payload: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32((no << 3) | 2).bytes(payload).finish();
}

export function varintFieldOf(no: number, value: number): Uint8Array {
  return protobuf.Writer.create().uint32((no << 3) | 0).uint32(value).finish();
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

export function encodeTensor(t: onnx.ITensorProto): Uint8Array {
  return onnx.TensorProto.encode(onnx.TensorProto.fromObject(t as Record<string, unknown>)).finish();
}

/** A float tensor stored externally at `offset` of `location`. */
export function externalTensor(name: string, dims: number[], location: string, offset: number, length: number, dataType: number = DataType.FLOAT): onnx.ITensorProto {
  return {
    name,
    dims,
    dataType,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  };
}

/** Y = MatMul(X, W) + B with W [in, out]. */
export function matmulModel(w: onnx.ITensorProto, inDim: number, outDim: number, extraInits: onnx.ITensorProto[] = []): Uint8Array {
  return buildModel({
    nodes: [node('MatMul', ['X', w.name as string], ['Y'])],
    inputs: [valueInfo('X', DataType.FLOAT, [1, inDim])],
    outputs: [valueInfo('Y', DataType.FLOAT, [1, outDim])],
    initializers: [w, ...extraInits],
  });
}

export function writeFile(dir: string, name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** Asserts `fn` rejects with a MaxqError whose message names `file` and matches `pattern`. */
export async function rejectsWith(fn: () => Promise<unknown>, file: string | undefined, pattern: RegExp, kind: 'input' | 'usage' = 'input'): Promise<MaxqError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof MaxqError, `expected a MaxqError, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.equal(caught.kind, kind);
  if (file !== undefined) assert.ok(caught.message.includes(file), `message should name ${file}: ${caught.message}`);
  assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes('\n'), 'one-line message');
  return caught;
}

export function range(n: number, f: (i: number) => number = (i) => i): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

export { tensor, node, valueInfo, buildModel, DataType, onnx };

/**
 * Reading models at memory speed: `OnnxModel.open` leaves the weights in the file (positioned reads when used),
 * `readTensorView` gives views on the file buffer where alignment allows, and both read exactly what `load` and
 * `readTensor` read, with the same errors for broken files.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { readSkeleton } from '../../../src/core/onnx/skeleton';
import { writeModel } from '../../../src/core/onnx/modelWriter';
import { inspectModel } from '../../../src/core/inspect';
import { MaxqError } from '../../../src/core/errors';
import { buildModel, DataType, externalTensor, node, onnx, range, rejectsWith, tempDir, tensor, valueInfo, writeFile } from './helpers';

const dir = tempDir();

/** Conv-free model with initializers of several types; `pad` lengthens one name to move the others' offsets. */
function mixedModel(pad = ''): Uint8Array {
  const f32 = Float32Array.from(range(2048, (i) => Math.sin(i) * 3));
  const f64 = Float64Array.from(range(600, (i) => i / 7));
  const f16 = Uint16Array.from(range(3000, (i) => 0x3c00 + (i % 512)));
  const i8 = Int8Array.from(range(5000, (i) => (i % 255) - 127));
  return buildModel({
    nodes: [node('MatMul', ['X', 'W'], ['h']), node('Add', ['h', 'B'], ['Y'])],
    inputs: [valueInfo('X', DataType.FLOAT, [1, 64])],
    outputs: [valueInfo('Y', DataType.FLOAT, [1, 32])],
    initializers: [
      tensor(`W${pad}`, [64, 32], f32), tensor('B', [32], Float32Array.from(range(32))), tensor('D', [600], f64),
      tensor('H', [3000], f16), tensor('Q', [5000], i8), tensor('W', [64, 32], f32),
    ],
  });
}

async function sameTensors(a: OnnxModel, b: OnnxModel): Promise<void> {
  assert.deepEqual(a.tensorInfos, b.tensorInfos);
  for (const info of a.tensorInfos) {
    const [x, y] = [await a.readTensor(info.name), await b.readTensor(info.name)];
    assert.deepEqual(x.dims, y.dims);
    assert.equal(x.dataType, y.dataType);
    assert.deepEqual(Array.from(x.data as ArrayLike<number>), Array.from(y.data as ArrayLike<number>), info.name);
  }
}

describe('OnnxModel.open (weights stay in the file)', () => {
  it('reads the same structure and values as load, for every stored type', async () => {
    const file = writeFile(dir, 'mixed.onnx', mixedModel());
    const [full, lazy] = [await OnnxModel.load(file), await OnnxModel.open(file)];
    assert.equal(full.isLazy, false);
    assert.equal(lazy.isLazy, true);
    await sameTensors(lazy, full);
    assert.equal(lazy.paramCount, full.paramCount);
    assert.deepEqual(await inspectModel(file), (await import('../../../src/core/inspect')).summarizeModel(full));
    // Every tensor read is the caller's own aligned buffer.
    const w = await lazy.readTensor('W');
    assert.equal(w.data.byteOffset, 0);
    assert.equal(w.data.buffer.byteLength, w.data.byteLength);
  });

  it('keeps only the structure in memory: the skeleton leaves out raw_data at least lazyMin long', () => {
    const file = writeFile(dir, 'skeleton.onnx', mixedModel());
    const size = fs.statSync(file).size;
    const s = readSkeleton(file, 4096)!;
    assert.ok(s.bytes.length < size - 3 * 8192, `skeleton ${s.bytes.length} of ${size} bytes`);
    // W (8 KB), D (4.8 KB), H (6 KB), Q (5 KB) and the second W stay in the file; B (128 bytes) is kept.
    assert.deepEqual(s.lazyRaw.map((r) => (r ? r.length : 0)), [8192, 0, 4800, 6000, 5000, 8192]);
    const bytes = fs.readFileSync(file);
    for (const r of s.lazyRaw) if (r) assert.ok(r.offset + r.length <= bytes.length);
    // lazyMin 1: every raw payload left out, still the same model.
    assert.deepEqual(readSkeleton(file, 1)!.lazyRaw.map((r) => (r ? r.length : 0)), [8192, 128, 4800, 6000, 5000, 8192]);
  });

  it('reads a weight into a reused scratch buffer when one is given and large enough', async () => {
    const file = writeFile(dir, 'scratch.onnx', mixedModel());
    const m = await OnnxModel.open(file);
    const want = Array.from((await m.readTensor('W')).data as Float32Array);
    const scratch = new ArrayBuffer(64 * 32 * 4 + 100);
    const v = await m.readTensorView('W', { scratch });
    assert.equal(v.data.buffer, scratch);
    assert.deepEqual(Array.from(v.data as Float32Array), want);
    const small = await m.readTensorView('W', { scratch: new ArrayBuffer(16) });
    assert.notEqual(small.data.buffer.byteLength, 16);
    assert.deepEqual(Array.from(small.data as Float32Array), want);
    // float16 through the scratch buffer: converted to float32 as always.
    assert.deepEqual(Array.from(await m.readFloat32View('H', { scratch })), Array.from(await m.readFloat32('H')));
  });

  it('tensor reads share one descriptor while reads are pending and close it once idle', async () => {
    if (!fs.existsSync('/proc/self/fd')) return; // Linux only
    const file = writeFile(dir, 'fds.onnx', mixedModel());
    const m = await OnnxModel.open(file);
    const open = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`) === fs.realpathSync(file);
      } catch {
        return false;
      }
    }).length;
    const reads = Promise.all(['W', 'D', 'H', 'Q'].map((n) => m.readTensor(n)));
    assert.ok(open() <= 1, 'one descriptor for reads in flight');
    await reads;
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(open(), 0, 'closed when idle');
    assert.deepEqual(Array.from((await m.readTensor('D')).data as Float64Array).slice(0, 3), [0, 1 / 7, 2 / 7]);
  });

  it('a small-tensor model (nothing worth leaving out) is simply loaded', async () => {
    const file = writeFile(dir, 'tiny.onnx', buildModel({
      nodes: [node('Add', ['X', 'B'], ['Y'])], inputs: [valueInfo('X', DataType.FLOAT, [2])], outputs: [valueInfo('Y', DataType.FLOAT, [2])],
      initializers: [tensor('B', [2], Float32Array.of(1, 2))],
    }));
    const m = await OnnxModel.open(file);
    assert.equal(m.isLazy, false);
    assert.deepEqual(Array.from((await m.readTensor('B')).data as Float32Array), [1, 2]);
  });

  it('a model opened for reading cannot be rewritten (bytes throws, naming the file)', async () => {
    const file = writeFile(dir, 'ro.onnx', mixedModel());
    const m = await OnnxModel.open(file);
    assert.throws(() => m.bytes, /ro\.onnx was opened for reading only/);
    await assert.rejects(writeModel(m, new Map([['B', new Float32Array(32)]]), path.join(dir, 'ro-out.onnx')), /opened for reading only/);
    assert.ok(!fs.existsSync(path.join(dir, 'ro-out.onnx')));
  });

  it('truncated and corrupt files fail exactly as with load', async () => {
    const bytes = mixedModel();
    const cuts = [1, 7, 40, 200, 1000, 9000, 20000, bytes.length - 3000, bytes.length - 1];
    for (const cut of cuts) {
      const file = writeFile(dir, `cut${cut}.onnx`, bytes.subarray(0, cut));
      const errs = await Promise.all([OnnxModel.load(file), OnnxModel.open(file)].map((p) => p.then(() => 'ok', (e: Error) => `${e.constructor.name}: ${e.message}`)));
      assert.equal(errs[1], errs[0], `cut at ${cut}`);
    }
    const flipped = Uint8Array.from(bytes);
    for (const at of [3, 50, 500]) flipped[at] ^= 0xff;
    const file = writeFile(dir, 'flipped.onnx', flipped);
    const errs = await Promise.all([OnnxModel.load(file), OnnxModel.open(file)].map((p) => p.then(() => 'ok', (e: Error) => e.message)));
    assert.equal(errs[1], errs[0]);
    await rejectsWith(() => OnnxModel.open(path.join(dir, 'missing.onnx')), 'missing.onnx', /file not found/);
    await rejectsWith(() => OnnxModel.open(dir), dir, /is a directory/);
    await rejectsWith(() => OnnxModel.open(writeFile(dir, 'empty.onnx', new Uint8Array(0))), 'empty.onnx', /the file is empty/);
  });

  it('a declared size that does not match the stored bytes is reported as with load', async () => {
    const t = tensor('W', [64, 32], new Float32Array(64 * 32));
    t.dims = [64, 33];
    const file = writeFile(dir, 'mismatch.onnx', buildModel({
      nodes: [node('MatMul', ['X', 'W'], ['Y'])], inputs: [valueInfo('X', DataType.FLOAT, [1, 64])], outputs: [valueInfo('Y', DataType.FLOAT, [1, 33])], initializers: [t],
    }));
    const a = await rejectsWith(() => OnnxModel.load(file), 'mismatch.onnx', /declares dims \[64, 33\]/);
    const b = await rejectsWith(() => OnnxModel.open(file), 'mismatch.onnx', /declares dims \[64, 33\]/);
    assert.equal(b.message, a.message);
  });

  it('a file changed after open is reported when a tensor is read', async () => {
    const file = writeFile(dir, 'shrinks.onnx', mixedModel());
    const m = await OnnxModel.open(file);
    fs.truncateSync(file, 1000);
    const e = await rejectsWith(() => m.readTensor('W'), 'shrinks.onnx', /tensor 'W' cannot be read: the file changed after it was opened/);
    assert.ok(e instanceof MaxqError);
  });

  it('external data is still read with positioned reads from its own file', async () => {
    const data = new Uint8Array(64 * 32 * 4 + 16);
    const w = Float32Array.from(range(64 * 32, (i) => i - 7));
    data.set(new Uint8Array(w.buffer), 16);
    fs.writeFileSync(path.join(dir, 'ext.bin'), data);
    const file = writeFile(dir, 'ext.onnx', buildModel({
      nodes: [node('MatMul', ['X', 'W'], ['h']), node('Add', ['h', 'B'], ['Y'])],
      inputs: [valueInfo('X', DataType.FLOAT, [1, 64])], outputs: [valueInfo('Y', DataType.FLOAT, [1, 32])],
      initializers: [externalTensor('W', [64, 32], 'ext.bin', 16, w.byteLength), tensor('B', [32], new Float32Array(8192 / 4).subarray(0, 32))],
    }));
    const m = await OnnxModel.open(file);
    assert.deepEqual(Array.from((await m.readTensor('W')).data as Float32Array), Array.from(w));
    fs.rmSync(path.join(dir, 'ext.bin'));
    await rejectsWith(() => m.readTensor('W'), 'ext.onnx', /external data file 'ext\.bin' for tensor 'W' not found/);
  });
});

describe('readTensorView (views on the file buffer)', () => {
  /** A loaded model whose W raw bytes sit at an offset ≡ `mod` (mod 4) in the file buffer. */
  async function withOffset(mod: number): Promise<OnnxModel> {
    for (let pad = 0; pad < 8; pad++) {
      const m = OnnxModel.fromBytes(mixedModel('x'.repeat(pad)), `pad${pad}.onnx`);
      const raw = m.entry(`W${'x'.repeat(pad)}`)!.proto.rawData as Uint8Array;
      if (raw.byteOffset % 4 === mod) return m;
    }
    throw new Error(`no padding puts W at offset ≡ ${mod} (mod 4)`);
  }

  it('an aligned float32 tensor is a view aliasing the file bytes (no copy)', async () => {
    const m = await withOffset(0);
    const name = m.tensorInfos[0].name;
    const raw = m.entry(name)!.proto.rawData as Uint8Array;
    const v = await m.readTensorView(name);
    assert.equal(v.data.buffer, m.bytes.buffer);
    assert.equal(v.data.byteOffset, raw.byteOffset);
    assert.deepEqual(Array.from(v.data as Float32Array), Array.from((await m.readTensor(name)).data as Float32Array));
    // readTensor still hands out a copy the caller may change.
    assert.notEqual((await m.readTensor(name)).data.buffer, m.bytes.buffer);
  });

  it('a misaligned tensor is copied into an aligned buffer, values intact', async () => {
    for (const mod of [1, 2, 3]) {
      let m: OnnxModel;
      try {
        m = await withOffset(mod);
      } catch {
        continue; // protobuf layout did not produce this residue
      }
      const name = m.tensorInfos[0].name;
      const v = await m.readTensorView(name);
      assert.notEqual(v.data.buffer, m.bytes.buffer);
      assert.equal(v.data.byteOffset % 4, 0);
      assert.deepEqual(Array.from(v.data as Float32Array), Array.from(Float32Array.from(range(2048, (i) => Math.sin(i) * 3))));
    }
  });

  it('other stored types read through views match readTensor', async () => {
    const m = OnnxModel.fromBytes(mixedModel(), 'mixed-view.onnx');
    for (const name of ['B', 'D', 'H', 'Q']) {
      const [a, b] = [await m.readTensorView(name), await m.readTensor(name)];
      assert.equal(a.data.constructor, b.data.constructor, name);
      assert.deepEqual(Array.from(a.data as ArrayLike<number>), Array.from(b.data as ArrayLike<number>), name);
    }
    assert.equal(onnx.TensorProto.DataLocation.EXTERNAL, 1);
  });
});

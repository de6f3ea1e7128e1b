import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { writeModel } from '../../../src/core/onnx/modelWriter';
import { buildModel, DataType, externalTensor, node, onnx, rejectsWith, sha256, tempDir, tensor, valueInfo, writeFile } from './helpers';

const f32bytes = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

/** Y = (X · A) · B + C, with A and B external and C inline. */
function twoLayerModel(a: onnx.ITensorProto, b: onnx.ITensorProto): Uint8Array {
  return buildModel({
    nodes: [node('MatMul', ['X', 'A'], ['h']), node('MatMul', ['h', 'B'], ['h2']), node('Add', ['h2', 'C'], ['Y'])],
    inputs: [valueInfo('X', DataType.FLOAT, [1, 2])],
    outputs: [valueInfo('Y', DataType.FLOAT, [1, 2])],
    initializers: [a, b, tensor('C', [2], Float32Array.of(0.5, -0.5))],
  });
}

/** A in w.bin at offset 8, B in data/b.bin at offset 100 (no declared length). */
function fixture(dir: string): string {
  const w = new Uint8Array(64);
  w.set(f32bytes(1, 2, 3, 4), 8);
  fs.writeFileSync(path.join(dir, 'w.bin'), w);
  fs.mkdirSync(path.join(dir, 'data'));
  const b = new Uint8Array(200);
  b.set(f32bytes(10, 20, 30, 40), 100);
  fs.writeFileSync(path.join(dir, 'data', 'b.bin'), b);
  const B = externalTensor('B', [2, 2], 'data/b.bin', 100, 16);
  B.externalData!.pop();
  return writeFile(dir, 'm.onnx', twoLayerModel(externalTensor('A', [2, 2], 'w.bin', 8, 16), B));
}

function locationOf(p: onnx.ModelProto, name: string): Record<string, string> {
  const t = (p.graph?.initializer ?? []).find((x) => x.name === name)!;
  assert.equal(t.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL);
  return Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
}

describe('external data', () => {
  it('reads tensors from relative locations at offsets', async () => {
    const m = await OnnxModel.load(fixture(tempDir()));
    assert.equal(m.hasExternalData, true);
    assert.deepEqual(m.tensorInfo('A')?.external, { location: 'w.bin', offset: 8, length: 16 });
    assert.deepEqual(m.tensorInfo('B')?.external, { location: 'data/b.bin', offset: 100, length: 16 });
    assert.deepEqual([...(await m.readFloat32('A'))], [1, 2, 3, 4]);
    assert.deepEqual([...(await m.readFloat32('B'))], [10, 20, 30, 40]);
    assert.equal(m.paramCount, 10);
  });

  it('writes edited external tensors to <out>.data and keeps the others where they were', async () => {
    const dir = tempDir();
    const inPath = fixture(dir);
    const hashes = [sha256(inPath), sha256(path.join(dir, 'w.bin')), sha256(path.join(dir, 'data', 'b.bin'))];
    const m = await OnnxModel.load(inPath);
    const outPath = path.join(dir, 'out.onnx');
    const res = await writeModel(m, new Map([['A', Float32Array.of(0, 2, 0, 4)], ['C', Float32Array.of(1, 1)]]), outPath);
    assert.equal(res.dataFile, path.join(dir, 'out.onnx.data'));
    assert.deepEqual(res.copiedDataFiles, []);
    const proto = onnx.ModelProto.decode(fs.readFileSync(outPath));
    assert.deepEqual(locationOf(proto, 'A'), { location: 'out.onnx.data', offset: '0', length: '16' });
    assert.deepEqual(locationOf(proto, 'B'), { location: 'data/b.bin', offset: '100' });
    const out = await OnnxModel.load(outPath);
    assert.deepEqual([...(await out.readFloat32('A'))], [0, 2, 0, 4]);
    assert.deepEqual([...(await out.readFloat32('B'))], [10, 20, 30, 40]);
    assert.deepEqual([...(await out.readFloat32('C'))], [1, 1]);
    assert.deepEqual([sha256(inPath), sha256(path.join(dir, 'w.bin')), sha256(path.join(dir, 'data', 'b.bin'))], hashes);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['data', 'm.onnx', 'out.onnx', 'out.onnx.data', 'w.bin']);
  });

  it('copies the data files untouched tensors need when writing to another folder', async () => {
    const dir = tempDir();
    const m = await OnnxModel.load(fixture(dir));
    const outDir = tempDir();
    const outPath = path.join(outDir, 'sparse.onnx');
    const res = await writeModel(m, new Map([['A', Float32Array.of(5, 6, 7, 8)]]), outPath);
    // w.bin held only A, which now lives in sparse.onnx.data: it is not copied.
    assert.deepEqual(res.copiedDataFiles, [path.join(outDir, 'data', 'b.bin')]);
    assert.deepEqual(fs.readdirSync(outDir).sort(), ['data', 'sparse.onnx', 'sparse.onnx.data']);
    fs.rmSync(dir, { recursive: true });
    const out = await OnnxModel.load(outPath);
    assert.deepEqual([...(await out.readFloat32('A'))], [5, 6, 7, 8]);
    assert.deepEqual([...(await out.readFloat32('B'))], [10, 20, 30, 40]);
  });

  it('never reuses a data file name the input model depends on', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'out.onnx.data'), f32bytes(1, 2, 3, 4, 5, 6, 7, 8));
    const inPath = writeFile(dir, 'm.onnx', twoLayerModel(externalTensor('A', [2, 2], 'out.onnx.data', 0, 16), externalTensor('B', [2, 2], 'out.onnx.data', 16, 16)));
    const before = sha256(path.join(dir, 'out.onnx.data'));
    const m = await OnnxModel.load(inPath);
    const res = await writeModel(m, new Map([['A', Float32Array.of(0, 0, 0, 0)]]), path.join(dir, 'out.onnx'));
    assert.equal(res.dataFile, path.join(dir, 'out.onnx.1.data'));
    assert.equal(sha256(path.join(dir, 'out.onnx.data')), before);
    const out = await OnnxModel.load(path.join(dir, 'out.onnx'));
    assert.deepEqual([...(await out.readFloat32('A'))], [0, 0, 0, 0]);
    assert.deepEqual([...(await out.readFloat32('B'))], [5, 6, 7, 8]);
  });

  it('a write that fails after staging files removes them all', async () => {
    const dir = tempDir();
    fixture(dir);
    // D's file is missing: the write fails after the new data file and the copy of data/b.bin were staged.
    const inPath = writeFile(dir, 'm2.onnx', buildModel({
      nodes: [node('MatMul', ['X', 'A'], ['h']), node('MatMul', ['h', 'B'], ['h2']), node('MatMul', ['h2', 'D'], ['Y'])],
      inputs: [valueInfo('X', DataType.FLOAT, [1, 2])],
      outputs: [valueInfo('Y', DataType.FLOAT, [1, 2])],
      initializers: [externalTensor('A', [2, 2], 'w.bin', 8, 16), externalTensor('B', [2, 2], 'data/b.bin', 100, 16), externalTensor('D', [2, 2], 'more/d.bin', 0, 16)],
    }));
    const m = await OnnxModel.load(inPath);
    const outDir = tempDir();
    await rejectsWith(() => writeModel(m, new Map([['A', Float32Array.of(0, 0, 0, 0)]]), path.join(outDir, 'o.onnx')), inPath, /external data file 'more\/d\.bin' not found/);
    assert.deepEqual(fs.readdirSync(outDir), [], 'no output, data, copied or temp files, and no folders made for them');
  });

  it('reads and writes a tensor at offset 2^32 + 16 of a sparse 4 GB file without using the disk or memory', async () => {
    const dir = tempDir();
    const big = path.join(dir, 'big.bin');
    const fh = await fs.promises.open(big, 'w');
    await fh.truncate(3 * 2 ** 30);
    await fh.write(f32bytes(-1, -2, -3, -4), 0, 16, 2 ** 31 + 8);
    await fh.write(f32bytes(1, 2, 3, 4, 5, 6), 0, 24, 2 ** 32 + 16);
    await fh.close();
    const st = fs.statSync(big);
    assert.ok(st.size > 2 ** 32);
    assert.ok(st.blocks * 512 < 16 * 2 ** 20, 'fixture is sparse');
    const inPath = writeFile(dir, 'big.onnx', twoLayerModel(externalTensor('A', [2, 2], 'big.bin', 2 ** 31 + 8, 16), externalTensor('B', [2, 3], 'big.bin', 2 ** 32 + 16, 24)));
    const m = await OnnxModel.load(inPath);
    const memBefore = process.memoryUsage().arrayBuffers;
    assert.deepEqual([...(await m.readFloat32('A'))], [-1, -2, -3, -4]);
    assert.deepEqual([...(await m.readFloat32('B'))], [1, 2, 3, 4, 5, 6]);
    const outPath = path.join(dir, 'out.onnx');
    await writeModel(m, new Map([['B', Float32Array.of(1, 0, 3, 0, 5, 0)]]), outPath);
    const out = await OnnxModel.load(outPath);
    assert.deepEqual([...(await out.readFloat32('A'))], [-1, -2, -3, -4]);
    assert.deepEqual([...(await out.readFloat32('B'))], [1, 0, 3, 0, 5, 0]);
    assert.ok(process.memoryUsage().arrayBuffers - memBefore < 64 * 2 ** 20, 'no large buffers allocated');
    assert.ok(fs.statSync(path.join(dir, 'out.onnx.data')).size < 4096 * 2);
    assert.ok(fs.statSync(big).blocks * 512 < 16 * 2 ** 20, 'big file still sparse and untouched');
    // The untouched tensor keeps its offset above 2^31.
    assert.deepEqual(locationOf(onnx.ModelProto.decode(fs.readFileSync(outPath)), 'A').offset, String(2 ** 31 + 8));
  });
});

describe('external data and existing files', () => {
  it('does not replace an unrelated <out>.data or copied data files unless overwrite is set', async () => {
    const dir = tempDir();
    const m = await OnnxModel.load(fixture(dir));
    const outDir = tempDir();
    fs.writeFileSync(path.join(outDir, 'o.onnx.data'), 'someone else');
    fs.mkdirSync(path.join(outDir, 'data'));
    fs.writeFileSync(path.join(outDir, 'data', 'b.bin'), 'stale');
    const edits = new Map([['A', Float32Array.of(0, 0, 0, 1)]]);
    await rejectsWith(() => writeModel(m, edits, path.join(outDir, 'o.onnx')), undefined, /would replace .*b\.bin/, 'usage');
    assert.deepEqual(fs.readdirSync(outDir).sort(), ['data', 'o.onnx.data']);
    const res = await writeModel(m, edits, path.join(outDir, 'o.onnx'), { overwrite: true });
    assert.equal(res.dataFile, path.join(outDir, 'o.onnx.data'));
    assert.equal(fs.readFileSync(path.join(outDir, 'data', 'b.bin')).length, 200);
    const out = await OnnxModel.load(path.join(outDir, 'o.onnx'));
    assert.deepEqual([...(await out.readFloat32('A'))], [0, 0, 0, 1]);
    assert.deepEqual([...(await out.readFloat32('B'))], [10, 20, 30, 40]);
  });

  it('picks <out>.1.data when an unrelated <out>.data exists', async () => {
    const dir = tempDir();
    const m = await OnnxModel.load(fixture(dir));
    fs.writeFileSync(path.join(dir, 'o.onnx.data'), 'someone else');
    const res = await writeModel(m, new Map([['A', Float32Array.of(0, 0, 0, 1)]]), path.join(dir, 'o.onnx'));
    assert.equal(res.dataFile, path.join(dir, 'o.onnx.1.data'));
    assert.equal(fs.readFileSync(path.join(dir, 'o.onnx.data'), 'utf8'), 'someone else');
  });
});

import { describe, it } from 'node:test';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { buildModel, DataType, encodeTensor, externalTensor, matmulModel, node, onnx, rejectsWith, tempDir, tensor, valueInfo, writeFile } from './helpers';

const goodModel = () => matmulModel(tensor('W', [2, 2], Float32Array.of(1, 2, 3, 4)), 2, 2);

function modelWith(init: onnx.ITensorProto): Uint8Array {
  return buildModel({
    nodes: [node('Identity', [init.name as string], ['Y'])],
    inputs: [],
    outputs: [valueInfo('Y', DataType.FLOAT, null)],
    initializers: [init],
  });
}

async function loadFails(bytes: Uint8Array, pattern: RegExp, name = 'bad.onnx') {
  const file = writeFile(tempDir(), name, bytes);
  return rejectsWith(() => OnnxModel.load(file), file, pattern);
}

describe('bad input files', () => {
  it('nonexistent path', async () => {
    const file = path.join(tempDir(), 'missing.onnx');
    await rejectsWith(() => OnnxModel.load(file), file, /file not found/);
  });

  it('a directory', async () => {
    const dir = tempDir();
    await rejectsWith(() => OnnxModel.load(dir), dir, /is a directory/);
  });

  it('empty file', async () => {
    await loadFails(new Uint8Array(0), /the file is empty/);
  });

  it('truncated file', async () => {
    const bytes = goodModel();
    for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2), 3]) {
      await loadFails(bytes.subarray(0, cut), /not a valid ONNX model: the file is (truncated or corrupt|not ONNX protobuf data)|not a model/);
    }
    await loadFails(bytes.subarray(0, bytes.length - 5), /truncated or corrupt/);
  });

  it('random bytes', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const bytes = crypto.createHash('sha512').update(String(seed)).digest();
      const big = new Uint8Array(4096);
      for (let i = 0; i < big.length; i++) big[i] = bytes[i % bytes.length] ^ (i * 31);
      await loadFails(big, /not a valid ONNX model/);
    }
  });

  it('a valid protobuf that is not a model', async () => {
    // A NodeProto's fields land on ModelProto's string fields: it decodes cleanly, but there's no model in it.
    const nodeBytes = onnx.NodeProto.encode({ output: ['y'], name: 'n', opType: 'Relu' }).finish();
    await loadFails(nodeBytes, /not a valid ONNX model: it decodes as protobuf but is not a model \(no graph, ir_version 0, no opset_import\)/);
    await loadFails(encodeTensor(tensor('W', [2], Float32Array.of(1, 2))), /not a valid ONNX model/);
    const noNodes = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'g' } }).finish();
    await loadFails(noNodes, /its graph has no nodes/);
    const noOpset = onnx.ModelProto.encode({ irVersion: 8, graph: { node: [{ opType: 'Relu' }] } }).finish();
    await loadFails(noOpset, /no opset_import/);
    await loadFails(Buffer.from('{"json": "not onnx"}\n'), /not a valid ONNX model/);
  });

  it('declared size ≠ data size', async () => {
    await loadFails(modelWith(tensor('W', [2, 3], Float32Array.of(1, 2, 3, 4, 5))), /tensor 'W': declares dims \[2, 3\] \(6 elements, 24 bytes\) but holds 20 bytes/);
    await loadFails(modelWith({ name: 'T', dims: [4], dataType: DataType.FLOAT, floatData: [1, 2, 3] }), /tensor 'T': declares dims \[4\] \(4 elements, 16 bytes\) but holds 12 bytes/);
    await loadFails(modelWith({ name: 'H', dims: [3], dataType: DataType.FLOAT16, int32Data: [1] }), /tensor 'H': declares dims \[3\] \(3 elements, 6 bytes\) but holds 2 bytes/);
    await loadFails(modelWith({ name: 'E', dims: [5], dataType: DataType.FLOAT }), /tensor 'E': declares dims \[5\] \(5 elements, 20 bytes\) but holds 0 bytes/);
    await loadFails(modelWith(externalTensor('X', [4], 'w.bin', 0, 12)), /tensor 'X': declares dims \[4\] \(4 elements, 16 bytes\) but holds 12 bytes/);
  });

  it('absurd or negative dims', async () => {
    await loadFails(modelWith({ name: 'N', dims: [2, -3], dataType: DataType.FLOAT, rawData: new Uint8Array(8) }), /tensor 'N': negative dimension -3/);
    await loadFails(modelWith({ name: 'A', dims: [1 << 30, 1 << 30, 1 << 30], dataType: DataType.FLOAT, rawData: new Uint8Array(8) }), /tensor 'A': dims \[1073741824, 1073741824, 1073741824\] need .* more than the 2\^40 supported/);
    await loadFails(modelWith({ name: 'L', dims: ['9223372036854775807'] as never, dataType: DataType.FLOAT, rawData: new Uint8Array(8) }), /tensor 'L': dimension 9223372036854775807 is too large/);
  });

  it('unsupported dtype is only an error when read', async () => {
    const file = writeFile(tempDir(), 's.onnx', modelWith({ name: 'S', dims: [1], dataType: DataType.STRING, stringData: [Buffer.from('x')] }));
    const m = await OnnxModel.load(file);
    await rejectsWith(() => m.readFloat32('S'), file, /tensor 'S' has data type string, which MaxQ cannot read/);
    const c = OnnxModel.fromBytes(modelWith({ name: 'C', dims: [1], dataType: DataType.COMPLEX128, rawData: new Uint8Array(16) }), 'c.onnx');
    await rejectsWith(() => c.readTensor('C'), 'c.onnx', /tensor 'C' has data type complex128/);
    const i4 = OnnxModel.fromBytes(modelWith({ name: 'Q', dims: [3], dataType: DataType.INT4, rawData: new Uint8Array(2) }), 'q.onnx');
    await rejectsWith(() => i4.readFloat32('Q'), 'q.onnx', /tensor 'Q' has data type int4/);
    const future = OnnxModel.fromBytes(modelWith({ name: 'F', dims: [1], dataType: 77, rawData: new Uint8Array(3) }), 'f.onnx');
    await rejectsWith(() => future.readFloat32('F'), 'f.onnx', /tensor 'F' has an unknown data type 77, which MaxQ cannot read/);
  });

  it('missing external data file', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'ext.onnx', modelWith(externalTensor('X', [2], 'w.bin', 0, 8)));
    const m = await OnnxModel.load(file);
    const e = await rejectsWith(() => m.readFloat32('X'), file, /external data file 'w\.bin' for tensor 'X' not found/);
    if (!e.message.includes(`(looked in ${dir})`)) throw new Error(e.message);
  });

  it('external data location outside the model folder', async () => {
    await loadFails(modelWith(externalTensor('X', [2], '/etc/passwd', 0, 8)), /tensor 'X': external data location '\/etc\/passwd' is an absolute path/);
    await loadFails(modelWith(externalTensor('X', [2], '../w.bin', 0, 8)), /tensor 'X': external data location '\.\.\/w\.bin' points outside the model's folder/);
    await loadFails(modelWith(externalTensor('X', [2], 'a/../../w.bin', 0, 8)), /points outside the model's folder/);
    await loadFails(modelWith(externalTensor('X', [2], 'C:\\w.bin', 0, 8)), /is an absolute path/);
    const badOffset = externalTensor('X', [2], 'w.bin', 0, 8);
    badOffset.externalData![1].value = '-4';
    await loadFails(modelWith(badOffset), /tensor 'X': external data offset '-4' is not a non-negative integer/);
  });

  it('external data file too short', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(10));
    const file = writeFile(dir, 'ext.onnx', modelWith(externalTensor('X', [2], 'w.bin', 4, 8)));
    const m = await OnnxModel.load(file);
    await rejectsWith(() => m.readFloat32('X'), file, /external data file 'w\.bin' for tensor 'X' is too short: the tensor needs bytes 4\.\.12 but the file has 10 bytes/);
  });
});

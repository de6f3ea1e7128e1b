import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { floatToHalf, halfToFloat } from '../../../src/core/onnx/halfFloat';
import { buildModel, DataType, node, range, tempDir, tensor, valueInfo, writeFile } from './helpers';

function readerModel(): Uint8Array {
  const bf16 = Uint16Array.from([1, -2, 0.5], (v) => new Uint32Array(Float32Array.of(v).buffer)[0] >>> 16);
  return buildModel(
    {
      nodes: [
        node('Constant', [], ['c_tensor'], { value: { tensor: tensor('ignored', [2], Float32Array.of(7, 8)) } }, 'const_t'),
        node('Constant', [], ['c_float'], { value_float: { float: 2.5 } }, 'const_f'),
        node('Constant', [], ['c_floats'], { value_floats: { floats: [1.5, -1.5] } }),
        node('Constant', [], ['c_int'], { value_int: 42 }),
        node('Constant', [], ['c_ints'], { value_ints: [3, -4, 5] }),
        node('Identity', ['w_raw'], ['w_id']),
        node('Add', ['w_id', 'X'], ['Y']),
      ],
      inputs: [valueInfo('X', DataType.FLOAT, [2, 3])],
      outputs: [valueInfo('Y', DataType.FLOAT, [2, 3])],
      initializers: [
        tensor('w_raw', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)),
        { name: 'w_typed', dims: [3], dataType: DataType.FLOAT, floatData: [0.25, -0.5, 1e-3] },
        { name: 'w_double', dims: [2], dataType: DataType.DOUBLE, doubleData: [0.1, -1e300] },
        { name: 'w_f16_typed', dims: [2], dataType: DataType.FLOAT16, int32Data: [floatToHalf(1.5), floatToHalf(-65504)] },
        tensor('w_f16_raw', [2], Uint16Array.of(floatToHalf(0.333), floatToHalf(-2)), DataType.FLOAT16),
        tensor('w_bf16_raw', [3], bf16, DataType.BFLOAT16),
        { name: 'w_bf16_typed', dims: [3], dataType: DataType.BFLOAT16, int32Data: [...bf16] },
        tensor('w_i8', [4], Int8Array.of(-128, -1, 0, 127)),
        { name: 'w_i8_typed', dims: [2], dataType: DataType.INT8, int32Data: [-7, 100] },
        { name: 'w_u8_typed', dims: [2], dataType: DataType.UINT8, int32Data: [255, 3] },
        tensor('w_i32', [2], Int32Array.of(-100000, 7)),
        { name: 'w_i64_typed', dims: [3], dataType: DataType.INT64, int64Data: [-(2 ** 40), 0, 12345] },
        tensor('w_i64', [1], BigInt64Array.of(-9n)),
        { name: 'w_strings', dims: [2], dataType: DataType.STRING, stringData: [Buffer.from('a'), Buffer.from('b')] },
        { name: 'w_complex', dims: [1], dataType: DataType.COMPLEX64, floatData: [1, 2] },
        { name: 'w_f8', dims: [2], dataType: DataType.FLOAT8E4M3FN, rawData: Uint8Array.of(1, 2) },
        { name: 'w_empty', dims: [0, 4], dataType: DataType.FLOAT },
      ],
    },
    17,
    { opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }] },
  );
}

describe('OnnxModel', () => {
  it('loads a model and answers graph questions', async () => {
    const file = writeFile(tempDir(), 'm.onnx', readerModel());
    const m = await OnnxModel.load(file);
    assert.equal(m.path, file);
    assert.equal(m.opset(), 17);
    assert.equal(m.opset('ai.onnx'), 17);
    assert.equal(m.opset('com.microsoft'), 1);
    assert.equal(m.opset('nope'), 0);
    assert.equal(m.nodes.length, 7);
    assert.equal(m.producerOf('w_id')?.opType, 'Identity');
    assert.equal(m.producerOf('w_raw'), undefined);
    assert.deepEqual(m.consumersOf('w_id').map((n) => n.opType), ['Add']);
    assert.deepEqual(m.consumersOf('nothing'), []);
    assert.equal(m.hasExternalData, false);
    assert.equal(Number(m.model.irVersion), 8);
    assert.equal(m.graph.name, 'graph');
  });

  it('describes initializers and every Constant form', async () => {
    const m = OnnxModel.fromBytes(readerModel(), 'mem.onnx');
    const w = m.tensorInfo('w_raw')!;
    assert.deepEqual([w.name, w.dims, w.dataType, w.dtype, w.source, w.storage], ['w_raw', [2, 3], DataType.FLOAT, 'float', 'initializer', 'raw']);
    const c = m.tensorInfo('c_tensor')!;
    assert.deepEqual([c.dims, c.source, c.nodeName], [[2], 'constant', 'const_t']);
    assert.equal(m.tensorInfo('c_float')?.storage, 'value_float');
    assert.deepEqual(m.tensorInfo('c_ints')?.dims, [3]);
    assert.equal(m.tensorInfo('Y'), undefined);
    assert.equal(m.tensorInfo('w_id'), undefined);
    assert.deepEqual([...(await m.readFloat32('c_tensor'))], [7, 8]);
    assert.deepEqual([...(await m.readFloat32('c_float'))], [2.5]);
    assert.deepEqual([...(await m.readFloat32('c_floats'))], [1.5, -1.5]);
    assert.deepEqual([...(await m.readTensor('c_int')).data], [42n]);
    assert.deepEqual([...(await m.readFloat32('c_ints'))], [3, -4, 5]);
    // 6+3+2+2+2+3+3+4+2+2+2+3+1+2+1+2+0 = 40 initializer elements, 2+1+2+1+3 = 9 constant elements
    assert.equal(m.paramCount, 40 + 9);
  });

  it('reads every supported dtype from raw_data and typed fields', async () => {
    const m = OnnxModel.fromBytes(readerModel(), 'mem.onnx');
    const f = async (n: string) => [...(await m.readFloat32(n))];
    assert.deepEqual(await f('w_raw'), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(await f('w_typed'), [0.25, -0.5, Math.fround(1e-3)]);
    assert.deepEqual(await f('w_double'), [Math.fround(0.1), -Infinity]);
    assert.deepEqual(await f('w_f16_typed'), [1.5, -65504]);
    assert.deepEqual(await f('w_f16_raw'), [halfToFloat(floatToHalf(0.333)), -2]);
    assert.deepEqual(await f('w_bf16_raw'), [1, -2, 0.5]);
    assert.deepEqual(await f('w_bf16_typed'), [1, -2, 0.5]);
    assert.deepEqual(await f('w_i8'), [-128, -1, 0, 127]);
    assert.deepEqual(await f('w_i8_typed'), [-7, 100]);
    assert.deepEqual(await f('w_u8_typed'), [255, 3]);
    assert.deepEqual(await f('w_i32'), [-100000, 7]);
    assert.deepEqual(await f('w_i64_typed'), [-(2 ** 40), 0, 12345]);
    assert.deepEqual(await f('w_i64'), [-9]);
    assert.deepEqual(await f('w_empty'), []);
    const d = await m.readTensor('w_double');
    assert.ok(d.data instanceof Float64Array);
    assert.deepEqual([...d.data], [0.1, -1e300]);
    const h = await m.readTensor('w_f16_raw');
    assert.ok(h.data instanceof Uint16Array);
    assert.equal(h.data[1], 0xc000);
    const i = await m.readTensor('w_i64_typed');
    assert.ok(i.data instanceof BigInt64Array);
    assert.deepEqual([...i.data], [-(2n ** 40n), 0n, 12345n]);
    assert.deepEqual(i.dims, [3]);
  });

  it('reads raw_data whatever its byte alignment inside the file', async () => {
    // Names of different lengths shift raw_data to every offset mod 8.
    const names = range(8, (k) => k).map((k) => 'w'.repeat(k + 1));
    const inits = names.map((n, k) => tensor(n, [3], Float64Array.of(k + 0.1, -k, 1e-300)));
    const bytes = buildModel({ nodes: [node('Identity', [names[0]], ['Y'])], inputs: [], outputs: [valueInfo('Y', DataType.DOUBLE, [3])], initializers: inits });
    const m = OnnxModel.fromBytes(bytes, 'align.onnx');
    const offsets = new Set(names.map((n) => ((m.graph.initializer.find((t) => t.name === n)!.rawData as Uint8Array).byteOffset % 8)));
    assert.ok(offsets.size > 1, 'fixture covers unaligned offsets');
    for (let k = 0; k < names.length; k++) assert.deepEqual([...(await m.readTensor(names[k])).data], [k + 0.1, -k, 1e-300]);
  });

  it('carries string, complex and float8 tensors but refuses to read them', async () => {
    const m = OnnxModel.fromBytes(readerModel(), 'mem.onnx');
    assert.equal(m.tensorInfo('w_strings')?.dtype, 'string');
    assert.equal(m.tensorInfo('w_f8')?.dtype, 'float8e4m3fn');
    for (const [n, t] of [['w_strings', 'string'], ['w_complex', 'complex64'], ['w_f8', 'float8e4m3fn']]) {
      await assert.rejects(m.readFloat32(n), (e: Error) => e.message === `mem.onnx: tensor '${n}' has data type ${t}, which MaxQ cannot read`);
    }
    await assert.rejects(m.readTensor('nope'), /tensor 'nope' is not an initializer or Constant/);
  });
});

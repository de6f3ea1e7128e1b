import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { writeModel } from '../../../src/core/onnx/modelWriter';
import { readResolvedFloat32, resolveWeight, toSourceLayout } from '../../../src/core/onnx/weightResolver';
import { bfloat16ToFloat32Array, float32ToBfloat16Array, floatToHalf, halfToFloat } from '../../../src/core/onnx/halfFloat';
import {
  buildModel, bytesFieldOf, concat, DataType, encodeTensor, node, onnx, rejectsWith, sha256, tempDir, tensor, valueInfo,
  varintFieldOf, writeFile,
} from './helpers';

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

/** Writes `bytes` as in.onnx, applies `edits`, returns the input model, the reloaded output and its decoded proto. */
async function roundTrip(bytes: Uint8Array, edits: Record<string, ArrayLike<number>>, opts = {}) {
  const dir = tempDir();
  const inPath = writeFile(dir, 'in.onnx', bytes);
  const model = await OnnxModel.load(inPath);
  const outPath = path.join(dir, 'out.onnx');
  const map = new Map(Object.entries(edits).map(([k, v]) => [k, Float32Array.from(v)]));
  const result = await writeModel(model, map, outPath, opts);
  const out = await OnnxModel.load(outPath);
  return { dir, model, out, result, outPath, proto: onnx.ModelProto.decode(fs.readFileSync(outPath)) };
}

function single(t: onnx.ITensorProto, extraNodes: onnx.INodeProto[] = [], extraInits: onnx.ITensorProto[] = []): Uint8Array {
  return buildModel({
    nodes: [...extraNodes, node('Identity', [t.name as string], ['Y'])],
    inputs: [],
    outputs: [valueInfo('Y', t.dataType as number, null)],
    initializers: [t, ...extraInits],
  });
}

const init = (p: onnx.ModelProto, name: string) => (p.graph?.initializer ?? []).find((t) => t.name === name) as onnx.TensorProto;
const bits32 = (v: Float32Array) => [...new Uint32Array(v.buffer, v.byteOffset, v.length)];

describe('writeModel: surgical round trip', () => {
  it('changes only the edited tensor and keeps everything else byte for byte, unknown fields included', async () => {
    const W1 = tensor('W1', [2, 2], Float32Array.of(1, 2, 3, 4));
    const W2 = tensor('W2', [2, 2], Float32Array.of(5, 6, 7, 8));
    const tW1 = concat(encodeTensor(W1), bytesFieldOf(99, utf8('tensor-extra-W1')));
    const tW2 = concat(encodeTensor(W2), bytesFieldOf(99, utf8('tensor-extra-W2')));
    const graphBase = onnx.GraphProto.encode(onnx.GraphProto.fromObject({
      name: 'g',
      docString: 'graph docs',
      node: [
        { ...node('MatMul', ['X', 'W1'], ['h'], {}, 'mm1'), docString: 'first matmul' },
        node('Add', ['h', 'B'], ['h2'], {}, 'add'),
        node('MatMul', ['h2', 'W2'], ['Y'], {}, 'mm2'),
      ],
      input: [valueInfo('X', DataType.FLOAT, ['batch', 2])],
      output: [valueInfo('Y', DataType.FLOAT, ['batch', 2])],
      valueInfo: [valueInfo('h', DataType.FLOAT, ['batch', 2])],
      initializer: [{ name: 'B', dims: [2], dataType: DataType.FLOAT, floatData: [0.5, -0.5] }],
    } as Record<string, unknown>)).finish();
    const graphBytes = concat(graphBase, bytesFieldOf(5, tW1), bytesFieldOf(5, tW2), bytesFieldOf(98, utf8('graph-extra')));
    const modelBase = onnx.ModelProto.encode(onnx.ModelProto.fromObject({
      irVersion: 8, producerName: 'test', producerVersion: '1.2', domain: 'org.test', modelVersion: 3, docString: 'model docs',
      opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
      metadataProps: [{ key: 'author', value: 'me' }, { key: 'license', value: 'MIT' }],
    })).finish();
    const tail = concat(bytesFieldOf(97, utf8('model-extra')), varintFieldOf(1000, 12345));
    const input = concat(modelBase, bytesFieldOf(7, graphBytes), tail);

    const dir = tempDir();
    const inPath = writeFile(dir, 'in.onnx', input);
    const before = sha256(inPath);
    const model = await OnnxModel.load(inPath);
    const outPath = path.join(dir, 'out.onnx');
    const result = await writeModel(model, new Map([['W1', Float32Array.of(0, -2, 0, 4.5)]]), outPath);
    assert.deepEqual(result, { path: outPath, copiedDataFiles: [], changed: ['W1'] });

    // The expected file, built independently: only W1's raw_data differs (and so its length prefixes).
    const newW1 = concat(encodeTensor(tensor('W1', [2, 2], Float32Array.of(0, -2, 0, 4.5))), bytesFieldOf(99, utf8('tensor-extra-W1')));
    const expected = concat(modelBase, bytesFieldOf(7, concat(graphBase, bytesFieldOf(5, newW1), bytesFieldOf(5, tW2), bytesFieldOf(98, utf8('graph-extra')))), tail);
    const written = new Uint8Array(fs.readFileSync(outPath));
    assert.deepEqual(written, expected);
    assert.ok(Buffer.from(written).indexOf(Buffer.from(tW2)) > 0, 'untouched initializer bytes are identical');
    for (const s of ['tensor-extra-W1', 'tensor-extra-W2', 'graph-extra', 'model-extra']) assert.ok(Buffer.from(written).includes(s), s);

    // Decoded, everything but W1's data is equal.
    const a = onnx.ModelProto.toObject(onnx.ModelProto.decode(input), { longs: String, bytes: Array }) as Record<string, any>;
    const b = onnx.ModelProto.toObject(onnx.ModelProto.decode(written), { longs: String, bytes: Array }) as Record<string, any>;
    const w1a = a.graph.initializer.find((t: { name: string }) => t.name === 'W1');
    const w1b = b.graph.initializer.find((t: { name: string }) => t.name === 'W1');
    assert.notDeepEqual(w1a.rawData, w1b.rawData);
    w1a.rawData = w1b.rawData = [];
    assert.deepEqual(b, a);

    const out = await OnnxModel.load(outPath);
    assert.deepEqual([...(await out.readFloat32('W1'))], [0, -2, 0, 4.5]);
    assert.deepEqual([...(await out.readFloat32('W2'))], [5, 6, 7, 8]);
    assert.equal(sha256(inPath), before, 'input file unchanged');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['in.onnx', 'out.onnx'], 'no temp files left');
  });

  it('writes several tensors at once, initializers and Constant nodes alike', async () => {
    const bytes = buildModel({
      nodes: [
        node('Constant', [], ['C'], { value: { tensor: tensor('c', [3], Float32Array.of(1, 2, 3)) } }, 'const'),
        node('Constant', [], ['CF'], { value_floats: { floats: [1.5, 2.5] } }, 'constf'),
        node('Constant', [], ['CS'], { value_float: { float: 9 } }, 'consts'),
        node('Constant', [], ['CI'], { value_ints: [1, 2] }, 'consti'),
        node('Add', ['C', 'W'], ['Y']),
      ],
      inputs: [],
      outputs: [valueInfo('Y', DataType.FLOAT, [3])],
      initializers: [tensor('W', [3], Float32Array.of(4, 5, 6))],
    });
    const { out, result } = await roundTrip(bytes, { C: [0, 0, 3], CF: [0, -1.25], CS: [0.5], CI: [7, -3], W: [4, 0, 0] });
    assert.deepEqual(result.changed.sort(), ['C', 'CF', 'CI', 'CS', 'W']);
    assert.deepEqual([...(await out.readFloat32('C'))], [0, 0, 3]);
    assert.deepEqual([...(await out.readFloat32('CF'))], [0, -1.25]);
    assert.deepEqual([...(await out.readFloat32('CS'))], [0.5]);
    assert.deepEqual([...(await out.readTensor('CI')).data], [7n, -3n]);
    assert.deepEqual([...(await out.readFloat32('W'))], [4, 0, 0]);
    assert.equal(out.tensorInfo('CF')?.storage, 'value_floats');
    assert.equal(out.tensorInfo('CS')?.storage, 'value_float');
  });
});

describe('writeModel: each data type in and out', () => {
  it('float32 raw and float_data keep their storage form', async () => {
    const bytes = single({ name: 'T', dims: [3], dataType: DataType.FLOAT, floatData: [1, 2, 3] }, [], [tensor('R', [3], Float32Array.of(1, 2, 3))]);
    const { out, proto } = await roundTrip(bytes, { T: [0.1, 0, -3], R: [-0.1, 7, 0] });
    assert.deepEqual([...(await out.readFloat32('T'))], [Math.fround(0.1), 0, -3]);
    assert.deepEqual([...(await out.readFloat32('R'))], [Math.fround(-0.1), 7, 0]);
    assert.equal(init(proto, 'T').rawData.length, 0);
    assert.equal(init(proto, 'T').floatData.length, 3);
    assert.equal(init(proto, 'R').floatData.length, 0);
    assert.equal(init(proto, 'R').rawData.length, 12);
  });

  it('float16 raw and int32_data, rounded to nearest even', async () => {
    const vals = [0.1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, -0];
    const h = Uint16Array.from([1, 2, 3, 4, 5], floatToHalf);
    const bytes = single(tensor('H', [5], h, DataType.FLOAT16), [], [{ name: 'HT', dims: [5], dataType: DataType.FLOAT16, int32Data: [...h] }]);
    const { out, proto } = await roundTrip(bytes, { H: vals, HT: vals });
    const expected = vals.map((v) => halfToFloat(floatToHalf(v)));
    assert.deepEqual(expected.slice(1, 4), [1, 1 + 2 ** -9, Infinity]);
    assert.deepEqual([...(await out.readFloat32('H'))], expected);
    assert.deepEqual([...(await out.readFloat32('HT'))], expected);
    assert.deepEqual([...(await out.readTensor('HT')).data], [...vals.map(floatToHalf)]);
    assert.equal(init(proto, 'HT').int32Data.length, 5);
    assert.equal(init(proto, 'HT').rawData.length, 0);
    assert.equal(init(proto, 'H').rawData.length, 10);
  });

  it('bfloat16 raw and int32_data', async () => {
    const b = float32ToBfloat16Array(Float32Array.of(1, 2, 3));
    const bytes = single(tensor('B', [3], b, DataType.BFLOAT16), [], [{ name: 'BT', dims: [3], dataType: DataType.BFLOAT16, int32Data: [...b] }]);
    const vals = Float32Array.of(0.1, 1 + 2 ** -8, -5);
    const { out, proto } = await roundTrip(bytes, { B: vals, BT: vals });
    const expected = [...bfloat16ToFloat32Array(float32ToBfloat16Array(vals))];
    assert.equal(expected[1], 1);
    assert.deepEqual([...(await out.readFloat32('B'))], expected);
    assert.deepEqual([...(await out.readFloat32('BT'))], expected);
    assert.equal(init(proto, 'BT').int32Data.length, 3);
  });

  it('float64 raw and double_data keep full precision where the edit left a value alone', async () => {
    const d = Float64Array.of(0.1, 0.2, 0.3, -1e-310);
    const bytes = single(tensor('D', [4], d), [], [{ name: 'DT', dims: [4], dataType: DataType.DOUBLE, doubleData: [...d] }]);
    const edit = [Math.fround(0.1), 0, Math.fround(0.3), 0.5];
    const { out, proto } = await roundTrip(bytes, { D: edit, DT: edit });
    for (const n of ['D', 'DT']) assert.deepEqual([...(await out.readTensor(n)).data], [0.1, 0, 0.3, 0.5], n);
    assert.equal(init(proto, 'DT').doubleData.length, 4);
  });

  it('int8 behind a per-tensor DequantizeLinear is re-quantized; pruned weights become the zero point', async () => {
    const q = Int8Array.of(-100, -3, 0, 5, 127, 10);
    const bytes = single(tensor('Q', [2, 3], q), [node('DequantizeLinear', ['Q', 's', 'zp'], ['Wf'])], [
      tensor('s', [], Float32Array.of(0.5)), tensor('zp', [], Int8Array.of(3)),
    ]);
    const dir = tempDir();
    const m = OnnxModel.fromBytes(bytes, writeFile(dir, 'q.onnx', bytes));
    const r = resolveWeight(m, 'Wf')!;
    const seen = await readResolvedFloat32(m, r);
    const edited = Float32Array.from(seen);
    edited[0] = 0;
    edited[1] = -0;
    edited[3] = 1.25; // 2.5 → rounds to even 2, + zp
    edited[4] = 1000; // saturates
    await writeModel(m, new Map([['Q', toSourceLayout(r, edited)]]), path.join(dir, 'out.onnx'));
    const out = await OnnxModel.load(path.join(dir, 'out.onnx'));
    assert.deepEqual([...(await out.readTensor('Q')).data], [3, 3, 0, 5, 127, 10]);
    const back = await readResolvedFloat32(out, resolveWeight(out, 'Wf')!);
    assert.deepEqual([...back], [0, 0, -1.5, 1, 62, 3.5]);
  });

  it('uint8 per-axis and int8 int32_data quantization', async () => {
    const bytes = single(tensor('U', [2, 2], Uint8Array.of(0, 20, 100, 120)), [
      node('DequantizeLinear', ['U', 'us', 'uz'], ['Uf'], { axis: 0 }),
      node('Identity', ['I'], ['I1']),
      node('DequantizeLinear', ['I1', 'is'], ['If']),
    ], [
      tensor('us', [2], Float32Array.of(0.25, 2)), tensor('uz', [2], Uint8Array.of(10, 110)),
      { name: 'I', dims: [3], dataType: DataType.INT8, int32Data: [-5, 0, 5] }, tensor('is', [], Float32Array.of(0.1)),
    ]);
    const { out, proto } = await roundTrip(bytes, { U: [0, 1, 0, 21], I: [0.3, 0, -0.5] });
    assert.deepEqual([...(await out.readTensor('U')).data], [10, 14, 110, 120]); // 1/0.25+10, 21/2 → 10.5 → 10 (even) + 110
    assert.deepEqual([...(await out.readTensor('I')).data], [3, 0, -5]);
    assert.equal(init(proto, 'I').int32Data.length, 3);
  });

  it('a float16 weight behind a Cast is written back as float16', async () => {
    const h = Uint16Array.from([1, 2, 3, 4], floatToHalf);
    const bytes = buildModel({
      nodes: [node('Cast', ['H'], ['Hf'], { to: DataType.FLOAT }), node('MatMul', ['X', 'Hf'], ['Y'])],
      inputs: [valueInfo('X', DataType.FLOAT, [1, 2])],
      outputs: [valueInfo('Y', DataType.FLOAT, [1, 2])],
      initializers: [tensor('H', [2, 2], h, DataType.FLOAT16)],
    });
    const { out } = await roundTrip(bytes, { H: [0, 2, 0, 4] });
    assert.equal(out.tensorInfo('H')?.dataType, DataType.FLOAT16);
    assert.deepEqual([...(await readResolvedFloat32(out, resolveWeight(out, 'Hf')!))], [0, 2, 0, 4]);
  });

  it('a Transpose → MatMul weight edited in consumer layout lands transposed in the source', async () => {
    const bytes = buildModel({
      nodes: [node('Identity', ['W'], ['Wi']), node('Transpose', ['Wi'], ['Wt'], { perm: [1, 0] }), node('MatMul', ['X', 'Wt'], ['Y'])],
      inputs: [valueInfo('X', DataType.FLOAT, [1, 3])],
      outputs: [valueInfo('Y', DataType.FLOAT, [1, 2])],
      initializers: [tensor('W', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6))],
    });
    const dir = tempDir();
    const m = OnnxModel.fromBytes(bytes, writeFile(dir, 't.onnx', bytes));
    const r = resolveWeight(m, 'Wt')!;
    const consumer = await readResolvedFloat32(m, r); // [3, 2]: 1 4 / 2 5 / 3 6
    consumer[1] = 0; // (0, 1) in consumer layout = W[1][0]
    await writeModel(m, new Map([['W', toSourceLayout(r, consumer)]]), path.join(dir, 'o.onnx'));
    const out = await OnnxModel.load(path.join(dir, 'o.onnx'));
    assert.deepEqual([...(await out.readFloat32('W'))], [1, 2, 3, 0, 5, 6]);
  });

  it('keeps −0 unless canonical zeros are asked for', async () => {
    const bytes = single(tensor('W', [2], Float32Array.of(1, -1)), [], [tensor('H', [2], Uint16Array.of(1, 2), DataType.FLOAT16)]);
    const kept = await roundTrip(bytes, { W: [0, -0], H: [-0, 1] });
    assert.deepEqual(bits32(await kept.out.readFloat32('W')), [0, 0x80000000]);
    assert.deepEqual([...(await kept.out.readTensor('H')).data], [0x8000, 0x3c00]);
    const canon = await roundTrip(bytes, { W: [0, -0], H: [-0, 1] }, { canonicalZeros: true });
    assert.deepEqual(bits32(await canon.out.readFloat32('W')), [0, 0]);
    assert.deepEqual([...(await canon.out.readTensor('H')).data], [0, 0x3c00]);
  });
});

describe('writeModel: refusals and atomicity', () => {
  const bytes = () => single(tensor('W', [2], Float32Array.of(1, 2)));

  it('never writes over the input model', async () => {
    const dir = tempDir();
    const inPath = writeFile(dir, 'm.onnx', bytes());
    const before = sha256(inPath);
    const m = await OnnxModel.load(inPath);
    const edits = new Map([['W', Float32Array.of(0, 0)]]);
    await rejectsWith(() => writeModel(m, edits, inPath), undefined, /refusing to overwrite the input model/, 'usage');
    await rejectsWith(() => writeModel(m, edits, path.join(dir, 'sub', '..', 'm.onnx')), undefined, /refusing to overwrite/, 'usage');
    fs.linkSync(inPath, path.join(dir, 'hard.onnx'));
    await rejectsWith(() => writeModel(m, edits, path.join(dir, 'hard.onnx')), undefined, /refusing to overwrite/, 'usage');
    assert.equal(sha256(inPath), before);
  });

  it('replaces an existing output only when overwrite is set', async () => {
    const dir = tempDir();
    const m = await OnnxModel.load(writeFile(dir, 'm.onnx', bytes()));
    const out = path.join(dir, 'out.onnx');
    await writeModel(m, new Map([['W', Float32Array.of(0, 2)]]), out);
    const first = sha256(out);
    await rejectsWith(() => writeModel(m, new Map([['W', Float32Array.of(1, 0)]]), out), undefined, /output .*out\.onnx already exists/, 'usage');
    assert.equal(sha256(out), first);
    await writeModel(m, new Map([['W', Float32Array.of(1, 0)]]), out, { overwrite: true });
    assert.deepEqual([...(await (await OnnxModel.load(out)).readFloat32('W'))], [1, 0]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['m.onnx', 'out.onnx']);
  });

  it('a failing write leaves neither a temp file nor an output', async () => {
    const dir = tempDir();
    const m = await OnnxModel.load(writeFile(dir, 'm.onnx', bytes()));
    const out = path.join(dir, 'out.onnx');
    await rejectsWith(() => writeModel(m, new Map([['W', Float32Array.of(1, 2, 3)]]), out), undefined, /edit for tensor 'W' has 3 values but the tensor has 2 \(dims \[2\]\)/, 'usage');
    await rejectsWith(() => writeModel(m, new Map([['nope', Float32Array.of(1)]]), out), undefined, /cannot write tensor 'nope'/, 'usage');
    await rejectsWith(() => writeModel(m, new Map(), path.join(dir, 'missing', 'o.onnx')), undefined, /output folder .* does not exist/, 'usage');
    assert.deepEqual(fs.readdirSync(dir), ['m.onnx']);
  });

  it('an edit of an unwritable type is refused', async () => {
    const dir = tempDir();
    const m = await OnnxModel.load(writeFile(dir, 'm.onnx', single({ name: 'S', dims: [1], dataType: DataType.STRING, stringData: [utf8('x')] })));
    await rejectsWith(() => writeModel(m, new Map([['S', Float32Array.of(1)]]), path.join(dir, 'o.onnx')), undefined, /tensor 'S': cannot write values of data type string/, 'usage');
    assert.deepEqual(fs.readdirSync(dir), ['m.onnx']);
  });

  it('an unquantized int8 tensor gets rounded values, and out-of-range values are refused', async () => {
    const { out } = await roundTrip(single(tensor('I', [3], Int8Array.of(1, 2, 3))), { I: [0, 2.5, -7.6] });
    assert.deepEqual([...(await out.readTensor('I')).data], [0, 2, -8]);
    const dir = tempDir();
    const m = await OnnxModel.load(writeFile(dir, 'm.onnx', single(tensor('I', [1], Int8Array.of(1)))));
    await rejectsWith(() => writeModel(m, new Map([['I', Float32Array.of(300)]]), path.join(dir, 'o.onnx')), undefined, /does not fit int8/, 'usage');
    assert.deepEqual(fs.readdirSync(dir), ['m.onnx']);
  });
});

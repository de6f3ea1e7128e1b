/** Written models must load and run in ONNX Runtime, external data and QDQ weights included. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { writeModel } from '../../../src/core/onnx/modelWriter';
import { buildModel, DataType, externalTensor, node, tempDir, tensor, valueInfo, writeFile } from './helpers';
import { floatToHalf } from '../../../src/core/onnx/halfFloat';

async function run(file: string, x: number[], inDim: number): Promise<number[]> {
  const session = await ort.InferenceSession.create(file);
  try {
    const res = await session.run({ X: new ort.Tensor('float32', Float32Array.from(x), [1, inDim]) });
    return [...(res.Y.data as Float32Array)];
  } finally {
    await session.release();
  }
}

/** y = x · W for W [in, out] row-major. */
function matvec(x: number[], w: number[], outDim: number): number[] {
  return Array.from({ length: outDim }, (_, o) => x.reduce((s, xi, i) => s + xi * w[i * outDim + o], 0));
}

describe('ONNX Runtime loads written models', () => {
  it('with edited and untouched external data, in the same and in another folder', async () => {
    const dir = tempDir();
    const A = [1, 2, 3, 4];
    const B = [0.5, -1, 2, 0.25];
    const bytes = new Uint8Array(4096 + 32);
    bytes.set(new Uint8Array(Float32Array.from(A).buffer), 4096);
    bytes.set(new Uint8Array(Float32Array.from(B).buffer), 4096 + 16);
    fs.writeFileSync(path.join(dir, 'weights.bin'), bytes);
    const inPath = writeFile(dir, 'm.onnx', buildModel({
      nodes: [node('MatMul', ['X', 'A'], ['h']), node('MatMul', ['h', 'B'], ['Y'])],
      inputs: [valueInfo('X', DataType.FLOAT, [1, 2])],
      outputs: [valueInfo('Y', DataType.FLOAT, [1, 2])],
      initializers: [externalTensor('A', [2, 2], 'weights.bin', 4096, 16), externalTensor('B', [2, 2], 'weights.bin', 4096 + 16, 16)],
    }));
    const x = [1, -2];
    assert.deepEqual(await run(inPath, x, 2), matvec(matvec(x, A, 2), B, 2));

    const m = await OnnxModel.load(inPath);
    const A2 = [0, 2, 3, 0];
    const same = path.join(dir, 'out.onnx');
    await writeModel(m, new Map([['A', Float32Array.from(A2)]]), same);
    assert.deepEqual(await run(same, x, 2), matvec(matvec(x, A2, 2), B, 2));

    const other = path.join(tempDir(), 'moved.onnx');
    await writeModel(m, new Map([['B', Float32Array.of(1, 0, 0, 1)]]), other);
    assert.deepEqual(await run(other, x, 2), matvec(x, A, 2));
  });

  it('with a re-quantized QDQ weight and a float16 weight behind a Cast', async () => {
    const dir = tempDir();
    const inPath = writeFile(dir, 'q.onnx', buildModel({
      nodes: [
        node('DequantizeLinear', ['Q', 's', 'zp'], ['Qf'], { axis: 1 }),
        node('MatMul', ['X', 'Qf'], ['h']),
        node('Cast', ['H'], ['Hf'], { to: DataType.FLOAT }),
        node('MatMul', ['h', 'Hf'], ['Y']),
      ],
      inputs: [valueInfo('X', DataType.FLOAT, [1, 2])],
      outputs: [valueInfo('Y', DataType.FLOAT, [1, 2])],
      initializers: [
        tensor('Q', [2, 2], Int8Array.of(10, -20, 30, 40)),
        tensor('s', [2], Float32Array.of(0.5, 0.25)),
        tensor('zp', [2], Int8Array.of(0, 4)),
        tensor('H', [2, 2], Uint16Array.from([1, 0.5, -1, 2], floatToHalf), DataType.FLOAT16),
      ],
    }));
    const m = await OnnxModel.load(inPath);
    const out = path.join(dir, 'out.onnx');
    // Q dequantized is [[5, -6], [15, 9]]; prune one weight per row, keep the rest.
    await writeModel(m, new Map([['Q', Float32Array.of(5, 0, 0, 9)], ['H', Float32Array.of(1, 0, 0, 2)]]), out);
    const x = [1, 1];
    assert.deepEqual(await run(out, x, 2), matvec(matvec(x, [5, 0, 0, 9], 2), [1, 0, 0, 2], 2));
  });
});

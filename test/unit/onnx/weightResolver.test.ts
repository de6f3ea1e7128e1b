import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { readResolvedFloat32, resolveWeight, toSourceLayout } from '../../../src/core/onnx/weightResolver';
import { transpose } from '../../../src/core/onnx/transpose';
import { floatToHalf, halfToFloat } from '../../../src/core/onnx/halfFloat';
import { buildModel, DataType, node, onnx, range, tensor, valueInfo } from './helpers';

function model(nodes: onnx.INodeProto[], initializers: onnx.ITensorProto[]): OnnxModel {
  const bytes = buildModel({ nodes, inputs: [valueInfo('X', DataType.FLOAT, null)], outputs: [valueInfo('Y', DataType.FLOAT, null)], initializers });
  return OnnxModel.fromBytes(bytes, 'r.onnx');
}

const w23 = Float32Array.of(1, 2, 3, 4, 5, 6);

describe('resolveWeight', () => {
  it('resolves an initializer consumed directly', async () => {
    const m = model([node('MatMul', ['X', 'W'], ['Y'])], [tensor('W', [2, 3], w23)]);
    const r = resolveWeight(m, 'W')!;
    assert.deepEqual(r, { source: 'W', via: [], dims: [2, 3], sourceDims: [2, 3] });
    assert.deepEqual([...(await readResolvedFloat32(m, r))], [...w23]);
    assert.deepEqual([...toSourceLayout(r, w23)], [...w23]);
  });

  it('follows Identity chains', async () => {
    const m = model(
      [node('Identity', ['W'], ['a'], {}, 'id1'), node('Identity', ['a'], ['b'], {}, 'id2'), node('MatMul', ['X', 'b'], ['Y'])],
      [tensor('W', [2, 3], w23)],
    );
    const r = resolveWeight(m, 'b')!;
    assert.equal(r.source, 'W');
    assert.deepEqual(r.via.map((v) => [v.op, v.node]), [['Identity', 'id1'], ['Identity', 'id2']]);
    assert.deepEqual([...(await readResolvedFloat32(m, r))], [...w23]);
  });

  it('follows Transpose into MatMul and inverts it for writing', async () => {
    const m = model([node('Transpose', ['W'], ['Wt'], { perm: [1, 0] }, 'tr'), node('MatMul', ['X', 'Wt'], ['Y'])], [tensor('W', [2, 3], w23)]);
    const r = resolveWeight(m, 'Wt')!;
    assert.deepEqual(r.via, [{ op: 'Transpose', node: 'tr', output: 'Wt', perm: [1, 0] }]);
    assert.deepEqual(r.dims, [3, 2]);
    const seen = await readResolvedFloat32(m, r);
    assert.deepEqual([...seen], [1, 4, 2, 5, 3, 6]);
    assert.deepEqual([...toSourceLayout(r, seen)], [...w23]);
  });

  it('uses the default (reversing) perm and handles 4-D transposes', async () => {
    const w = Float32Array.from(range(24, (i) => i));
    const m = model(
      [node('Transpose', ['W'], ['a'], {}, 't0'), node('Transpose', ['a'], ['b'], { perm: [0, 2, 3, 1] }, 't1'), node('Conv', ['X', 'b'], ['Y'])],
      [tensor('W', [1, 2, 3, 4], w)],
    );
    const r = resolveWeight(m, 'b')!;
    assert.deepEqual(r.via.map((v) => v.perm), [[3, 2, 1, 0], [0, 2, 3, 1]]);
    assert.deepEqual(r.dims, [4, 2, 1, 3]);
    const seen = await readResolvedFloat32(m, r);
    assert.deepEqual([...seen], [...transpose(transpose(w, [1, 2, 3, 4], [3, 2, 1, 0]), [4, 3, 2, 1], [0, 2, 3, 1])]);
    assert.deepEqual([...toSourceLayout(r, seen)], [...w]);
  });

  it('follows a Cast from float16 and applies a Cast to float16', async () => {
    const half = Uint16Array.from([0.1, -2, 3.3], floatToHalf);
    const m = model(
      [
        node('Cast', ['H'], ['Hf'], { to: DataType.FLOAT }, 'c1'),
        node('MatMul', ['X', 'Hf'], ['Y']),
        node('Cast', ['F'], ['Fh'], { to: DataType.FLOAT16 }, 'c2'),
        node('MatMul', ['X', 'Fh'], ['Y2']),
        node('Cast', ['F'], ['Fi'], { to: DataType.INT32 }, 'c3'),
        node('MatMul', ['X', 'Fi'], ['Y3']),
      ],
      [tensor('H', [3], half, DataType.FLOAT16), tensor('F', [3], Float32Array.of(0.1, 1, 1e-8))],
    );
    const r = resolveWeight(m, 'Hf')!;
    assert.deepEqual(r.via, [{ op: 'Cast', node: 'c1', output: 'Hf', to: DataType.FLOAT }]);
    assert.deepEqual([...(await readResolvedFloat32(m, r))], [...half].map(halfToFloat));
    const r2 = resolveWeight(m, 'Fh')!;
    assert.deepEqual([...(await readResolvedFloat32(m, r2))], [halfToFloat(floatToHalf(0.1)), 1, halfToFloat(floatToHalf(1e-8))]);
    assert.equal(resolveWeight(m, 'Fi'), undefined, 'a cast to an integer type is not a float weight');
  });

  it('dequantizes int8 per tensor', async () => {
    const q = Int8Array.of(-128, -3, 0, 5, 127, 10);
    const m = model(
      [node('DequantizeLinear', ['Q', 's', 'zp'], ['Wf'], {}, 'dq'), node('MatMul', ['X', 'Wf'], ['Y'])],
      [tensor('Q', [2, 3], q), tensor('s', [], Float32Array.of(0.5)), tensor('zp', [], Int8Array.of(2))],
    );
    const r = resolveWeight(m, 'Wf')!;
    assert.deepEqual([r.source, r.via.map((v) => v.op), r.dims], ['Q', ['DequantizeLinear'], [2, 3]]);
    assert.deepEqual([...(await readResolvedFloat32(m, r))], [...q].map((v) => (v - 2) * 0.5));
  });

  it('dequantizes uint8 per axis, then transposes', async () => {
    const q = Uint8Array.of(0, 10, 20, 100, 110, 120);
    const m = model(
      [
        node('DequantizeLinear', ['Q', 's', 'zp'], ['Wf'], { axis: 0 }, 'dq'),
        node('Transpose', ['Wf'], ['Wt'], { perm: [1, 0] }, 'tr'),
        node('MatMul', ['X', 'Wt'], ['Y']),
      ],
      [tensor('Q', [2, 3], q), tensor('s', [2], Float32Array.of(0.25, 2)), tensor('zp', [2], Uint8Array.of(10, 110))],
    );
    const r = resolveWeight(m, 'Wt')!;
    assert.deepEqual(r.via.map((v) => v.op), ['DequantizeLinear', 'Transpose']);
    assert.deepEqual(r.dims, [3, 2]);
    const seen = await readResolvedFloat32(m, r);
    assert.deepEqual([...seen], [-2.5, -20, 0, 0, 2.5, 20]);
    assert.deepEqual([...toSourceLayout(r, seen)], [-2.5, 0, 2.5, -20, 0, 20]);
  });

  it('resolves per-axis int8 with a negative axis and no zero point, and weights from Constant nodes', async () => {
    const m = model(
      [
        node('Constant', [], ['Q'], { value: { tensor: tensor('q', [2, 2], Int8Array.of(1, 2, 3, 4)) } }, 'cq'),
        node('Constant', [], ['s'], { value_floats: { floats: [1, 10] } }, 'cs'),
        node('DequantizeLinear', ['Q', 's'], ['Wf'], { axis: -1 }, 'dq'),
        node('Conv', ['X', 'Wf'], ['Y']),
      ],
      [],
    );
    const r = resolveWeight(m, 'Wf')!;
    assert.equal(r.source, 'Q');
    assert.deepEqual([...(await readResolvedFloat32(m, r))], [1, 20, 3, 40]);
  });

  it('gives up on weights that are computed, blocked-quantized or oddly chained', () => {
    const m = model(
      [
        node('Relu', ['W'], ['rw']),
        node('MatMul', ['X', 'rw'], ['Y']),
        node('DequantizeLinear', ['Q', 's'], ['bq'], { axis: 0, block_size: 2 }),
        node('DequantizeLinear', ['Q', 'X'], ['dyn']),
        node('Transpose', ['Q'], ['Qt'], { perm: [1, 0] }),
        node('DequantizeLinear', ['Qt', 's1'], ['late']),
        node('Transpose', ['W'], ['bad'], { perm: [0, 0] }),
      ],
      [tensor('W', [2, 2], Float32Array.of(1, 2, 3, 4)), tensor('Q', [2, 4], new Int8Array(8)), tensor('s', [2, 2], new Float32Array(4).fill(1)), tensor('s1', [], Float32Array.of(1))],
    );
    assert.equal(resolveWeight(m, 'rw'), undefined);
    assert.equal(resolveWeight(m, 'X'), undefined);
    assert.equal(resolveWeight(m, 'bq'), undefined);
    assert.equal(resolveWeight(m, 'dyn'), undefined);
    assert.equal(resolveWeight(m, 'late'), undefined);
    assert.equal(resolveWeight(m, 'bad'), undefined);
  });

  it('rejects consumer values of the wrong size', () => {
    const m = model([node('MatMul', ['X', 'W'], ['Y'])], [tensor('W', [2, 3], w23)]);
    assert.throws(() => toSourceLayout(resolveWeight(m, 'W')!, new Float32Array(5)), /weight 'W': got 5 values for dims \[2, 3\] \(6 elements\)/);
  });
});

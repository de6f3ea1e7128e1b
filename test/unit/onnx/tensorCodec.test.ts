import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  bfloat16ToFloat32Array, float32ToBfloat16Array, float32ToHalfArray, floatToHalf, halfToFloat, halfToFloat32Array,
} from '../../../src/core/onnx/halfFloat';
import { float32ToNative, nativeFromRaw, nativeToFloat32, nativeToRaw, roundHalfEven, typedFieldPayload } from '../../../src/core/onnx/tensorCodec';
import { DataType, onnx } from '../../../src/core/onnx/proto';
import { MaxqError } from '../../../src/core/errors';

const allPatterns = () => Uint16Array.from({ length: 65536 }, (_, i) => i);
const isNaNHalf = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isNaNBf16 = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;

describe('float16', () => {
  it('decodes known values exactly', () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x03ff), 1023 * 2 ** -24);
    assert.equal(halfToFloat(0x0400), 2 ** -14);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.equal(halfToFloat(0xfc00), -Infinity);
    assert.ok(Object.is(halfToFloat(0x8000), -0));
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  });

  it('round-trips every one of the 65536 bit patterns', () => {
    const bits = allPatterns();
    const back = float32ToHalfArray(halfToFloat32Array(bits));
    for (let h = 0; h < 65536; h++) {
      if (isNaNHalf(h)) assert.ok(isNaNHalf(back[h]), `NaN ${h.toString(16)} stays NaN`);
      else assert.equal(back[h], h, `pattern ${h.toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, with overflow and underflow', () => {
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // tie → even (down)
    assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
    assert.equal(floatToHalf(1 + 2 ** -11 + 2 ** -20), 0x3c01); // just above the tie
    assert.equal(floatToHalf(65519), 0x7bff);
    assert.equal(floatToHalf(65520), 0x7c00); // rounds to inf
    assert.equal(floatToHalf(1e10), 0x7c00);
    assert.equal(floatToHalf(-1e10), 0xfc00);
    assert.equal(floatToHalf(2 ** -25), 0x0000); // half the smallest subnormal: tie → 0
    assert.equal(floatToHalf(3 * 2 ** -25), 0x0002); // 1.5 subnormal units → 2
    assert.equal(floatToHalf(2 ** -26), 0x0000);
    assert.equal(floatToHalf(-(2 ** -30)), 0x8000);
    assert.equal(floatToHalf((2 ** -14) * (1 - 2 ** -12)), 0x0400); // rounds up into the smallest normal
    assert.equal(floatToHalf(NaN) & 0x7e00, 0x7e00);
  });

  it('picks the nearest half for random float32 values', () => {
    const f = new Float32Array(20000);
    for (let i = 0; i < f.length; i++) f[i] = (Math.random() - 0.5) * 2 ** (Math.random() * 40 - 28);
    const h = float32ToHalfArray(f);
    const back = halfToFloat32Array(h);
    for (let i = 0; i < f.length; i++) {
      const up = halfToFloat((h[i] & 0x7fff) === 0x7bff ? h[i] : h[i] + 1);
      const down = halfToFloat((h[i] & 0x7fff) === 0 ? h[i] : h[i] - 1);
      const err = Math.abs(back[i] - f[i]);
      assert.ok(err <= Math.abs(up - f[i]) && err <= Math.abs(down - f[i]), `value ${f[i]}`);
    }
  });
});

describe('bfloat16', () => {
  it('round-trips every bit pattern and rounds ties to even', () => {
    const bits = allPatterns();
    const back = float32ToBfloat16Array(bfloat16ToFloat32Array(bits));
    for (let h = 0; h < 65536; h++) {
      if (isNaNBf16(h)) assert.ok(isNaNBf16(back[h]));
      else assert.equal(back[h], h);
    }
    const enc = (x: number) => float32ToBfloat16Array(Float32Array.of(x))[0];
    assert.equal(enc(1), 0x3f80);
    assert.equal(enc(1 + 2 ** -8), 0x3f80); // tie → even
    assert.equal(enc(1 + 3 * 2 ** -8), 0x3f82); // tie → even (up)
    assert.equal(enc(1 + 2 ** -8 + 2 ** -20), 0x3f81);
    assert.equal(enc(-Infinity), 0xff80);
    assert.equal(enc(3.4028234663852886e38), 0x7f80); // overflows to inf
    assert.ok(isNaNBf16(enc(NaN)));
  });
});

describe('tensor codec', () => {
  it('rounds half to even', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 2, -3]);
  });

  it('reads raw bytes at an unaligned offset', () => {
    const src = Float32Array.of(1.5, -2.25, 3e-8);
    const buf = new Uint8Array(13);
    buf.set(new Uint8Array(src.buffer), 1);
    const out = nativeFromRaw(DataType.FLOAT, buf.subarray(1), 3);
    assert.deepEqual([...out], [...src]);
    const i64 = nativeFromRaw(DataType.INT64, new Uint8Array(new BigInt64Array([-5n, 2n ** 40n]).buffer), 2);
    assert.deepEqual([...(i64 as BigInt64Array)], [-5n, 2n ** 40n]);
  });

  it('converts every numeric type to float32', () => {
    assert.deepEqual([...nativeToFloat32(DataType.INT8, Int8Array.of(-128, 0, 127))], [-128, 0, 127]);
    assert.deepEqual([...nativeToFloat32(DataType.UINT8, Uint8Array.of(0, 255))], [0, 255]);
    assert.deepEqual([...nativeToFloat32(DataType.INT64, BigInt64Array.of(-3n, 7n))], [-3, 7]);
    assert.deepEqual([...nativeToFloat32(DataType.DOUBLE, Float64Array.of(0.1))], [Math.fround(0.1)]);
    assert.deepEqual([...nativeToFloat32(DataType.FLOAT16, Uint16Array.of(0x3c00))], [1]);
    assert.deepEqual([...nativeToFloat32(DataType.BFLOAT16, Uint16Array.of(0xbf80))], [-1]);
  });

  it('encodes float32 to integers with rounding and range checks', () => {
    assert.deepEqual([...(float32ToNative(DataType.INT8, Float32Array.of(-128, 2.5, 127), 't') as Int8Array)], [-128, 2, 127]);
    assert.throws(() => float32ToNative(DataType.INT8, Float32Array.of(128), 't'), (e: unknown) => e instanceof MaxqError && /does not fit int8/.test(e.message));
    assert.throws(() => float32ToNative(DataType.UINT8, Float32Array.of(NaN), 't'), MaxqError);
    assert.throws(() => float32ToNative(DataType.STRING, Float32Array.of(1), 't'), /cannot write values of data type string/);
    assert.deepEqual([...(float32ToNative(DataType.INT64, Float32Array.of(-7), 't') as BigInt64Array)], [-7n]);
  });

  it('encodes typed-field payloads that protobufjs decodes back', () => {
    const cases: [number, Parameters<typeof nativeToRaw>[0], keyof onnx.ITensorProto][] = [
      [DataType.FLOAT, Float32Array.of(1, -2.5), 'floatData'],
      [DataType.DOUBLE, Float64Array.of(0.1, -3), 'doubleData'],
      [DataType.INT8, Int8Array.of(-128, 5), 'int32Data'],
      [DataType.FLOAT16, Uint16Array.of(0xfbff, 0x3c00), 'int32Data'],
      [DataType.INT64, BigInt64Array.of(-(2n ** 40n), 3n), 'int64Data'],
      [DataType.UINT32, Uint32Array.of(4294967295, 1), 'uint64Data'],
    ];
    for (const [dt, data, key] of cases) {
      const { field, payload } = typedFieldPayload(dt, data);
      const fieldNo = { float_data: 4, int32_data: 5, int64_data: 7, double_data: 10, uint64_data: 11, string_data: 6 }[field];
      const w = onnx.TensorProto.encode({ dataType: dt }).uint32((fieldNo << 3) | 2).bytes(payload).finish();
      const decoded = onnx.TensorProto.toObject(onnx.TensorProto.decode(w), { longs: String });
      assert.deepEqual((decoded[key] as unknown[]).map(String), [...data].map(String), `data type ${dt}`);
    }
  });
});

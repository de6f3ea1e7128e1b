import { test, describe, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeNpy } from '../../../src/core/io/npy';
import { NpyDataset, resolveLayout } from '../../../src/core/data/npy-dataset';
import { checkCompatible } from '../../../src/core/data/validate';
import { MaxqError } from '../../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-npyds-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

function expectError(fn: () => unknown, kind: 'input' | 'usage', pattern: RegExp, fileName?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MaxqError, `expected MaxqError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    if (fileName !== undefined) assert.equal(e.file, fileName);
    assert.match(e.message, pattern);
    return true;
  });
}

function close(actual: Float32Array, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
}

// 3 samples of 2×1×2 (C, H, W), uint8: sample n, channel c, pixel p holds 100·n + 10·c + p.
const N = 3;
const u8 = Uint8Array.from({ length: N * 4 }, (_, i) => 100 * Math.floor(i / 4) + 10 * Math.floor((i % 4) / 2) + (i % 2));
writeNpy(file('x-u8.npy'), [N, 2, 1, 2], u8);
writeNpy(file('y-i64.npy'), [N], BigInt64Array.from([2n, 0n, 1n]));
writeNpy(file('y-i32.npy'), [N, 1], Int32Array.from([2, 0, 1]));
writeNpy(file('y-u8.npy'), [N], Uint8Array.from([2, 0, 1]));

describe('NpyDataset', () => {
  test('NCHW uint8 with labels: shape, classes, default 1/255 scaling, batch order', () => {
    const ds = NpyDataset.open({ inputs: file('x-u8.npy'), labels: file('y-i64.npy') });
    try {
      assert.equal(ds.count, 3);
      assert.deepEqual(ds.inputShape, [2, 1, 2]);
      assert.equal(ds.numClasses, 3);
      assert.equal(ds.hasLabels, true);
      assert.equal(ds.layout, 'NCHW');
      const b = ds.getBatch([2, 0, 2]);
      close(b.inputs, [200, 201, 210, 211, 0, 1, 10, 11, 200, 201, 210, 211].map((v) => v / 255));
      assert.deepEqual(b.labels, BigInt64Array.from([1n, 2n, 1n]));
    } finally {
      ds.close();
    }
  });

  test('int32 [N, 1] and uint8 labels read as int64', () => {
    for (const labels of ['y-i32.npy', 'y-u8.npy']) {
      const ds = NpyDataset.open({ inputs: file('x-u8.npy'), labels: file(labels) });
      assert.deepEqual(ds.getBatch([0, 1, 2]).labels, BigInt64Array.from([2n, 0n, 1n]));
      ds.close();
    }
  });

  test('per-channel normalisation from the SCALE,MEAN,STD string', () => {
    const ds = NpyDataset.open({ inputs: file('x-u8.npy'), normalization: '1/10,1:2,2:0.5' });
    const b = ds.getBatch([1]);
    // channel 0: (x/10 − 1)/2, channel 1: (x/10 − 2)/0.5
    close(b.inputs, [(10 - 1) / 2, (10.1 - 1) / 2, (11 - 2) / 0.5, (11.1 - 2) / 0.5], 1e-5);
    assert.equal(b.labels, null);
    assert.equal(ds.hasLabels, false);
    assert.equal(ds.numClasses, null);
    ds.close();
  });

  test('float inputs are used as they are by default', () => {
    writeNpy(file('x-f32.npy'), [2, 1, 1, 2], Float32Array.from([0.5, -1.5, 3, 4]));
    const ds = NpyDataset.open({ inputs: file('x-f32.npy') });
    close(ds.getBatch([1, 0]).inputs, [3, 4, 0.5, -1.5]);
    ds.close();
  });

  test('[N, H, W] is single-channel', () => {
    writeNpy(file('x-nhw.npy'), [2, 2, 3], Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    const ds = NpyDataset.open({ inputs: file('x-nhw.npy'), normalization: '1,0.5,2' });
    assert.deepEqual(ds.inputShape, [1, 2, 3]);
    close(ds.getBatch([1]).inputs, [6, 7, 8, 9, 10, 11].map((v) => (v - 0.5) / 2));
    ds.close();
  });

  test('NHWC is detected when unambiguous and transposed to NCHW', () => {
    // 2 samples of H=2, W=2, C=3; element (n, h, w, c) = 1000n + 100h + 10w + c.
    const nhwc = new Float32Array(2 * 2 * 2 * 3);
    for (let n = 0; n < 2; n++) for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) for (let c = 0; c < 3; c++) nhwc[((n * 2 + h) * 2 + w) * 3 + c] = 1000 * n + 100 * h + 10 * w + c;
    writeNpy(file('x-nhwc.npy'), [2, 2, 2, 3], nhwc);
    const ds = NpyDataset.open({ inputs: file('x-nhwc.npy') });
    assert.equal(ds.layout, 'NHWC');
    assert.deepEqual(ds.inputShape, [3, 2, 2]);
    const expected: number[] = [];
    for (let c = 0; c < 3; c++) for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) expected.push(1000 + 100 * h + 10 * w + c);
    close(ds.getBatch([1]).inputs, expected);
    ds.close();
    // Forcing NCHW reads the same file as 2 channels of 2×3.
    const forced = NpyDataset.open({ inputs: file('x-nhwc.npy'), layout: 'NCHW' });
    assert.deepEqual(forced.inputShape, [2, 2, 3]);
    forced.close();
  });

  test('layout rule: the model shape decides; ambiguity means NCHW', () => {
    assert.equal(resolveLayout([8, 32, 32, 3], 'auto'), 'NHWC');
    assert.equal(resolveLayout([8, 3, 32, 32], 'auto'), 'NCHW');
    assert.equal(resolveLayout([8, 3, 32, 3], 'auto'), 'NCHW'); // both readings channel-like: ambiguous
    assert.equal(resolveLayout([8, 28, 28, 1], 'auto'), 'NHWC');
    assert.equal(resolveLayout([8, 32, 32, 3], 'auto', ['N', 3, 32, 32]), 'NHWC');
    assert.equal(resolveLayout([8, 3, 3, 3], 'auto', [3, 3, 3]), 'NCHW');
    assert.equal(resolveLayout([8, 16, 16, 4], 'auto', [4, 16, 16]), 'NHWC');
    assert.equal(resolveLayout([8, 16, 16, 4], 'auto', [5, 16, 16]), 'NCHW');
    assert.equal(resolveLayout([8, 3, 32, 32], 'NHWC'), 'NHWC');
  });

  test('reading from disk per batch (large-file path) gives the same batches as preloading', () => {
    const a = NpyDataset.open({ inputs: file('x-u8.npy'), labels: file('y-i64.npy') });
    const b = NpyDataset.open({ inputs: file('x-u8.npy'), labels: file('y-i64.npy'), preloadBytes: 0 });
    assert.deepEqual(b.getBatch([1, 2, 0]), a.getBatch([1, 2, 0]));
    a.close();
    b.close();
  });

  test('out-of-range indices are rejected', () => {
    const ds = NpyDataset.open({ inputs: file('x-u8.npy') });
    assert.throws(() => ds.getBatch([3]), RangeError);
    assert.throws(() => ds.getBatch([-1]), RangeError);
    ds.close();
  });
});

describe('NpyDataset errors name the file', () => {
  test('empty inputs', () => {
    writeNpy(file('x-empty.npy'), [0, 1, 2, 2], new Float32Array(0));
    expectError(() => NpyDataset.open({ inputs: file('x-empty.npy') }), 'input', /no samples/, file('x-empty.npy'));
  });

  test('label count differs from sample count', () => {
    writeNpy(file('y-short.npy'), [2], BigInt64Array.from([0n, 1n]));
    expectError(() => NpyDataset.open({ inputs: file('x-u8.npy'), labels: file('y-short.npy') }), 'input', /2 labels for 3 input samples/, file('y-short.npy'));
  });

  test('negative label', () => {
    writeNpy(file('y-neg.npy'), [3], Int32Array.from([0, -1, 2]));
    expectError(() => NpyDataset.open({ inputs: file('x-u8.npy'), labels: file('y-neg.npy') }), 'input', /label -1 at index 1 is negative/, file('y-neg.npy'));
  });

  test('float or one-hot labels', () => {
    writeNpy(file('y-f32.npy'), [3], Float32Array.from([0, 1, 2]));
    expectError(() => NpyDataset.open({ inputs: file('x-u8.npy'), labels: file('y-f32.npy') }), 'input', /integer class ids.*not float32/, file('y-f32.npy'));
    writeNpy(file('y-onehot.npy'), [3, 3], new Uint8Array(9));
    expectError(() => NpyDataset.open({ inputs: file('x-u8.npy'), labels: file('y-onehot.npy') }), 'input', /not one-hot/, file('y-onehot.npy'));
  });

  test('NaN and infinite inputs, found in both read paths', () => {
    const x = new Float32Array(3 * 4);
    x[9] = NaN;
    writeNpy(file('x-nan.npy'), [3, 1, 2, 2], x);
    expectError(() => NpyDataset.open({ inputs: file('x-nan.npy') }), 'input', /input sample 2 contains NaN/, file('x-nan.npy'));
    expectError(() => NpyDataset.open({ inputs: file('x-nan.npy'), preloadBytes: 0 }), 'input', /input sample 2 contains NaN/, file('x-nan.npy'));
    x[9] = 0;
    x[0] = -Infinity;
    writeNpy(file('x-inf.npy'), [3, 1, 2, 2], x);
    expectError(() => NpyDataset.open({ inputs: file('x-inf.npy') }), 'input', /input sample 0 contains an infinite value/, file('x-inf.npy'));
    // Finite but past √(float32 max): its square overflows (BN variance), a NaN loss a few steps in. Found by
    // writing 0xFF into a data byte: 3.29e38.
    x[0] = 0;
    x[5] = -3.289316e38;
    writeNpy(file('x-huge.npy'), [3, 1, 2, 2], x);
    for (const preloadBytes of [undefined, 0]) {
      expectError(() => NpyDataset.open({ inputs: file('x-huge.npy'), preloadBytes }), 'input', /input sample 1 contains a value of -3\.29e\+38, beyond ±1\.8e\+19 where its square overflows float32/, file('x-huge.npy'));
    }
    // Large but squarable values are data, not corruption.
    x[5] = 1e19;
    writeNpy(file('x-large.npy'), [3, 1, 2, 2], x);
    assert.equal(NpyDataset.open({ inputs: file('x-large.npy') }).count, 3);
  });

  test('unsupported input rank or dtype', () => {
    writeNpy(file('x-2d.npy'), [3, 4], new Float32Array(12));
    expectError(() => NpyDataset.open({ inputs: file('x-2d.npy') }), 'input', /expected \[N, C, H, W\]/, file('x-2d.npy'));
    writeNpy(file('x-i32.npy'), [3, 1, 2, 2], new Int32Array(12));
    expectError(() => NpyDataset.open({ inputs: file('x-i32.npy') }), 'input', /float32, float64 or uint8, not int32/, file('x-i32.npy'));
  });

  test('per-channel normalisation of the wrong length', () => {
    expectError(() => NpyDataset.open({ inputs: file('x-u8.npy'), normalization: '1,0:0:0,1' }), 'usage', /mean has 3 values but the inputs have 2 channels/);
  });
});

describe('checkCompatible', () => {
  const ds = NpyDataset.open({ inputs: file('x-u8.npy'), labels: file('y-i64.npy') });

  test('accepts matching shapes, symbolic dims and enough classes', () => {
    checkCompatible(ds, [2, 1, 2], 3);
    checkCompatible(ds, ['batch', 2, 1, 2], 1000);
    checkCompatible(ds, [-1, 2, 'h', 'w'], null);
  });

  test('shape mismatch names the data file and the differing dimension', () => {
    expectError(() => checkCompatible(ds, [1, 2, 2, 2], 3), 'input', /samples are \[2, 1, 2\].*expects \[2, 2, 2\]: height differ/, file('x-u8.npy'));
    expectError(() => checkCompatible(ds, [3, 1, 2], 3), 'input', /channels differ \(2 vs 3\)/, file('x-u8.npy'));
    expectError(() => checkCompatible(ds, [4, 2], 3), 'input', /only image inputs/, file('x-u8.npy'));
  });

  test('labels beyond the model classes', () => {
    expectError(() => checkCompatible(ds, [2, 1, 2], 2), 'input', /labels go up to 2 but the model has 2 classes/, file('y-i64.npy'));
  });
});

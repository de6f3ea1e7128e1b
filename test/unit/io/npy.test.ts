import { test, describe, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NpyData, NpyDtype, NpyFile, npyHeaderBytes, readNpy, writeNpy } from '../../../src/core/io/npy';
import { MaxqError } from '../../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-npy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

/** Builds .npy bytes by hand, the way np.save lays them out: magic, version, header length, padded dict, data. */
function craft(dict: string, data: Uint8Array, opts: { version?: 1 | 2 | 3; align?: number } = {}): Buffer {
  const version = opts.version ?? 1;
  const preamble = version === 1 ? 10 : 12;
  const align = opts.align ?? 64;
  const total = Math.ceil((preamble + dict.length + 1) / align) * align;
  const headerLen = total - preamble;
  const head = Buffer.alloc(preamble);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]).copy(head, 0);
  head[6] = version;
  head[7] = 0;
  if (version === 1) head.writeUInt16LE(headerLen, 8);
  else head.writeUInt32LE(headerLen, 8);
  const text = Buffer.from(dict + ' '.repeat(headerLen - dict.length - 1) + '\n', version === 3 ? 'utf8' : 'latin1');
  return Buffer.concat([head, text, Buffer.from(data)]);
}

function bytes(a: NpyData): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function expectInputError(fn: () => unknown, pattern: RegExp, fileName: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MaxqError, `expected MaxqError, got ${String(e)}`);
    assert.equal(e.kind, 'input');
    assert.equal(e.file, fileName);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('npy round trip', () => {
  const cases: [NpyDtype, NpyData, number[]][] = [
    ['float32', Float32Array.from([1.5, -2.25, 3e-8, Infinity, -0, 7]), [2, 3]],
    ['float64', Float64Array.from([Math.PI, -1e300, 5e-324]), [3]],
    ['uint8', Uint8Array.from([0, 1, 127, 128, 255, 42, 7, 9]), [2, 2, 2]],
    ['int8', Int8Array.from([-128, -1, 0, 127]), [4, 1]],
    ['int32', Int32Array.from([-2147483648, 2147483647, 0, 5]), [1, 4]],
    ['int64', BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n, 12345678901234n]), [2, 2]],
    ['bool', Uint8Array.from([1, 0, 0, 1, 1]), [5]],
  ];
  for (const [dtype, data, shape] of cases) {
    test(dtype, () => {
      const f = file(`rt-${dtype}.npy`);
      writeNpy(f, shape, data, dtype);
      const r = readNpy(f);
      assert.equal(r.dtype, dtype);
      assert.deepEqual(r.shape, shape);
      assert.equal(r.data.constructor, data.constructor);
      assert.deepEqual(bytes(r.data), bytes(data));
      // np.save-compatible layout: data starts on a 64-byte boundary and the header ends with a newline.
      const raw = fs.readFileSync(f);
      const dataOffset = raw.length - data.byteLength;
      assert.equal(dataOffset % 64, 0);
      assert.equal(raw[dataOffset - 1], 0x0a);
    });
  }

  test('0-d and empty arrays', () => {
    writeNpy(file('scalar.npy'), [], Float64Array.from([2.5]));
    assert.deepEqual(readNpy(file('scalar.npy')), { shape: [], dtype: 'float64', data: Float64Array.from([2.5]) });
    writeNpy(file('empty.npy'), [0, 3], new Uint8Array(0));
    const e = readNpy(file('empty.npy'));
    assert.deepEqual(e.shape, [0, 3]);
    assert.equal(e.data.length, 0);
  });

  test('header text matches what np.save writes', () => {
    const head = Buffer.from(npyHeaderBytes([2, 3], 'float32'));
    // 10-byte preamble + 60-character dict + newline → padded to the next multiple of 64.
    assert.equal(head.length, 128);
    assert.equal(head.subarray(0, 8).toString('latin1'), '\x93NUMPY\x01\x00');
    assert.equal(head.readUInt16LE(8), 118);
    assert.equal(head.subarray(10).toString('latin1').trimEnd(), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    assert.match(Buffer.from(npyHeaderBytes([7], 'int64')).toString('latin1'), /'shape': \(7,\), }/);
  });

  test('writing is atomic: no temp files left behind, previous file replaced whole', () => {
    const f = file('atomic.npy');
    writeNpy(f, [2], Int32Array.from([1, 2]));
    writeNpy(f, [3], Int32Array.from([4, 5, 6]));
    assert.deepEqual(readNpy(f).data, Int32Array.from([4, 5, 6]));
    assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.endsWith('.tmp')), []);
  });

  test('writing rejects a shape that does not match the data', () => {
    assert.throws(() => writeNpy(file('bad.npy'), [2, 2], new Float32Array(3)), /holds 4 elements, the data has 3/);
    assert.throws(() => writeNpy(file('bad.npy'), [2], new Float32Array(2), 'int32'), /cannot write a Float32Array as .npy int32/);
    assert.equal(fs.existsSync(file('bad.npy')), false);
  });
});

describe('npy files written by NumPy', () => {
  test('v1 header padded to a 64-byte boundary (NumPy 1.x)', () => {
    const f = file('py-v1.npy');
    const data = Float32Array.from([0, 1, 2, 3, 4, 5]);
    // A compact dict so the whole header fits in exactly 64 bytes.
    fs.writeFileSync(f, craft("{'descr':'<f4','fortran_order':False,'shape':(2,3),}", bytes(data)));
    assert.equal(fs.statSync(f).size, 64 + 24);
    const r = readNpy(f);
    assert.deepEqual(r.shape, [2, 3]);
    assert.deepEqual(r.data, data);
  });

  test('v1 header padded to 128 bytes (NumPy 2 leaves room to grow the shape)', () => {
    const f = file('py-v1-128.npy');
    const data = BigInt64Array.from([3n, 1n, 2n]);
    fs.writeFileSync(f, craft("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", bytes(data), { align: 128 }));
    assert.deepEqual(readNpy(f), { shape: [3], dtype: 'int64', data });
  });

  test('v2 and v3 headers, key order and spacing variations, Python 2 long shapes', () => {
    const data = Int32Array.from([7, 8, 9, 10]);
    fs.writeFileSync(file('v2.npy'), craft("{'fortran_order': False, 'shape': (2L, 2L), 'descr': '<i4'}", bytes(data), { version: 2 }));
    assert.deepEqual(readNpy(file('v2.npy')), { shape: [2, 2], dtype: 'int32', data });
    fs.writeFileSync(file('v3.npy'), craft("{'descr':'<i4','fortran_order':False,'shape':(4,)}", bytes(data), { version: 3 }));
    assert.deepEqual(readNpy(file('v3.npy')), { shape: [4], dtype: 'int32', data });
  });

  test('byte-order-free codes: |u1, |i1, |b1 and native =f4', () => {
    fs.writeFileSync(file('u1.npy'), craft("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", Uint8Array.from([9, 200])));
    assert.deepEqual(readNpy(file('u1.npy')).data, Uint8Array.from([9, 200]));
    fs.writeFileSync(file('b1.npy'), craft("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", Uint8Array.from([1, 0])));
    assert.equal(readNpy(file('b1.npy')).dtype, 'bool');
    fs.writeFileSync(file('eq.npy'), craft("{'descr': '=f4', 'fortran_order': False, 'shape': (1,), }", bytes(Float32Array.from([0.5]))));
    assert.deepEqual(readNpy(file('eq.npy')).data, Float32Array.from([0.5]));
  });

  test('range reads through NpyFile', () => {
    const f = file('range.npy');
    writeNpy(f, [5, 2], Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const h = NpyFile.open(f);
    try {
      assert.deepEqual(h.read(4, 3), Float32Array.from([4, 5, 6]));
      assert.throws(() => h.read(9, 2), RangeError);
    } finally {
      h.close();
    }
  });
});

describe('npy errors', () => {
  const f32 = bytes(Float32Array.from([1, 2]));
  const cases: [string, () => Buffer, RegExp][] = [
    ['bad magic', () => Buffer.from('PK\x03\x04 this is a zip file, not an array'), /not a \.npy file/],
    ['empty file', () => Buffer.alloc(0), /not a \.npy file/],
    ['cut inside the preamble', () => craft("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32).subarray(0, 8), /truncated/],
    ['cut inside the header', () => craft("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32).subarray(0, 40), /truncated/],
    ['truncated data', () => craft("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f32), /truncated \.npy file: shape \[3\] float32 needs 140 bytes, the file has 136/],
    ['trailing bytes', () => craft("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f32), /4 bytes longer than its header's shape \[1\]/],
    ['unsupported version', () => { const b = craft("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32); b[6] = 4; return b; }, /format version 4\.0/],
    ['fortran order', () => craft("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", f32), /Fortran \(column-major\) order.*ascontiguousarray/],
    ['big-endian', () => craft("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", f32), /big-endian \('>f4'\).*astype\('<f4'\)/],
    ['object dtype', () => craft("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", f32), /Python objects/],
    ['unsupported width', () => craft("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", f32), /unsupported \.npy dtype '<f2'/],
    ['string dtype', () => craft("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(12)), /unsupported \.npy dtype '<U3'/],
    ['structured dtype', () => craft("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", f32), /structured/],
    ['header not a dict', () => craft('garbage', f32), /header is not a dictionary/],
    ['missing shape', () => craft("{'descr': '<f4', 'fortran_order': False, }", f32), /no 'shape' entry/],
    ['bad shape', () => craft("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", f32), /bad shape/],
  ];
  for (const [name, make, pattern] of cases) {
    test(name, () => {
      const f = file(`err-${name.replace(/\W+/g, '-')}.npy`);
      fs.writeFileSync(f, make());
      expectInputError(() => readNpy(f), pattern, f);
    });
  }

  test('missing file', () => {
    const f = file('nope.npy');
    expectInputError(() => readNpy(f), /cannot open \.npy file/, f);
  });
});

import { test, describe, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readSafetensors, writeSafetensors, SafetensorsEntry } from '../../../src/core/io/safetensors';
import { MaxqError } from '../../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-st-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

/** A file from a header object and raw data bytes, laid out by hand as the format defines. */
function craft(header: unknown, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.from(data)]);
}

function expectInputError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof MaxqError && e.kind === 'input' && pattern.test(e.message));
}

describe('safetensors', () => {
  test('round trip of every dtype, with metadata, in write order', () => {
    const entries: SafetensorsEntry[] = [
      { name: 'f32', dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-20, -0]) },
      { name: 'mask', dtype: 'U8', shape: [5], data: Uint8Array.from([1, 0, 1, 1, 0]) },
      { name: 'f64', dtype: 'F64', shape: [1], data: Float64Array.from([Math.E]) },
      { name: 'half', dtype: 'F16', shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) }, // 1.0, -2.0
      { name: 'bf', dtype: 'BF16', shape: [1], data: Uint16Array.from([0x3f80]) },
      { name: 'i64', dtype: 'I64', shape: [2], data: BigInt64Array.from([-5n, 2n ** 40n]) },
      { name: 'u64', dtype: 'U64', shape: [1], data: BigUint64Array.from([2n ** 64n - 1n]) },
      { name: 'i32', dtype: 'I32', shape: [1, 1], data: Int32Array.from([-7]) },
      { name: 'u32', dtype: 'U32', shape: [1], data: Uint32Array.from([4e9]) },
      { name: 'i16', dtype: 'I16', shape: [1], data: Int16Array.from([-300]) },
      { name: 'u16', dtype: 'U16', shape: [1], data: Uint16Array.from([60000]) },
      { name: 'i8', dtype: 'I8', shape: [2], data: Int8Array.from([-128, 127]) },
      { name: 'b', dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
      { name: 'scalar', dtype: 'F32', shape: [], data: Float32Array.from([9]) },
      { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    ];
    const f = file('all.safetensors');
    writeSafetensors(f, entries, { format: 'pt', pattern: '2:4' });
    const r = readSafetensors(f);
    assert.deepEqual(r.metadata, { format: 'pt', pattern: '2:4' });
    assert.deepEqual([...r.tensors.keys()], entries.map((e) => e.name));
    for (const e of entries) {
      const t = r.tensors.get(e.name)!;
      assert.equal(t.dtype, e.dtype);
      assert.deepEqual(t.shape, e.shape);
      assert.deepEqual(t.data, e.data);
    }
    // Data starts on an 8-byte boundary, as the reference implementation pads it.
    const headerLen = Number(fs.readFileSync(f).readBigUInt64LE(0));
    assert.equal(headerLen % 8, 0);
    assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.endsWith('.tmp')), []);
  });

  test('the byte layout follows the format: u64 header length, JSON header, contiguous data', () => {
    const f = file('layout.safetensors');
    writeSafetensors(f, [
      { name: 'a', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
      { name: 'b', dtype: 'U8', shape: [3], data: Uint8Array.from([7, 8, 9]) },
    ]);
    const raw = fs.readFileSync(f);
    const n = Number(raw.readBigUInt64LE(0));
    const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
    assert.deepEqual(header, {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'U8', shape: [3], data_offsets: [8, 11] },
    });
    assert.equal(raw.length, 8 + n + 11);
    assert.deepEqual([...raw.subarray(8 + n + 8)], [7, 8, 9]);
    assert.equal(raw.readFloatLE(8 + n + 4), 2);
  });

  test('data callbacks are called one at a time, in order, while writing', () => {
    const calls: string[] = [];
    const entry = (name: string): SafetensorsEntry => ({
      name,
      dtype: 'U8',
      shape: [4],
      data: () => {
        calls.push(name);
        return new Uint8Array(4).fill(name.charCodeAt(0));
      },
    });
    const f = file('lazy.safetensors');
    writeSafetensors(f, [entry('x'), entry('y'), entry('z')]);
    assert.deepEqual(calls, ['x', 'y', 'z']);
    assert.deepEqual(readSafetensors(f).tensors.get('y')!.data, new Uint8Array(4).fill(0x79));
  });

  test('a bad entry is a usage error and leaves any previous file untouched', () => {
    const f = file('keep.safetensors');
    writeSafetensors(f, [{ name: 'w', dtype: 'F32', shape: [1], data: Float32Array.from([1]) }]);
    const before = fs.readFileSync(f);
    assert.throws(
      () => writeSafetensors(f, [{ name: 'w', dtype: 'F32', shape: [2], data: Uint8Array.from([1, 2]) }]),
      (e: unknown) => e instanceof MaxqError && e.kind === 'usage' && /F32 but its data is a Uint8Array/.test(e.message),
    );
    assert.throws(() => writeSafetensors(f, [{ name: 'w', dtype: 'F32', shape: [3], data: Float32Array.from([1, 2]) }]), /shape \[3\] but 2 elements/);
    assert.throws(
      () =>
        writeSafetensors(f, [
          { name: 'd', dtype: 'U8', shape: [1], data: Uint8Array.from([1]) },
          { name: 'd', dtype: 'U8', shape: [1], data: Uint8Array.from([1]) },
        ]),
      /duplicate/,
    );
    assert.deepEqual(fs.readFileSync(f), before);
    assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.endsWith('.tmp')), []);
  });

  test('names that are Object.prototype keys are plain tensor names', () => {
    const f = file('proto.safetensors');
    writeSafetensors(f, [
      { name: 'constructor', dtype: 'U8', shape: [1], data: Uint8Array.from([1]) },
      { name: 'toString', dtype: 'U8', shape: [1], data: Uint8Array.from([2]) },
    ]);
    assert.deepEqual([...readSafetensors(f).tensors.keys()], ['constructor', 'toString']);
  });
});

describe('safetensors read errors', () => {
  const four = new Uint8Array(8);
  const cases: [string, () => Buffer, RegExp][] = [
    ['shorter than the length prefix', () => Buffer.from([1, 2, 3]), /no header length/],
    ['implausible header length', () => Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x7b]), /implausible/],
    ['header cut short', () => craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, four).subarray(0, 20), /incomplete header/],
    ['not JSON', () => { const b = craft({}, new Uint8Array(0)); b.write('{x', 8); return b; }, /not valid JSON/],
    ['truncated data', () => craft({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, four), /truncated safetensors file: tensors need 16 data bytes, the file has 8/],
    ['offsets not matching the shape', () => craft({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, four), /do not match shape \[3\] F32/],
    ['gap between tensors', () => craft({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [4, 6] } }, new Uint8Array(6)), /starts at byte 4, expected 2/],
    ['trailing bytes', () => craft({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, four), /6 bytes after its last tensor/],
    ['unknown dtype', () => craft({ a: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, four), /unsupported dtype "F8_E4M3"/],
    ['non-string metadata', () => craft({ __metadata__: { epoch: 3 } }, new Uint8Array(0)), /metadata 'epoch' is not a string/],
  ];
  for (const [name, make, pattern] of cases) {
    test(name, () => {
      const f = file(`err-${name.replace(/\W+/g, '-')}.safetensors`);
      fs.writeFileSync(f, make());
      expectInputError(() => readSafetensors(f), pattern);
    });
  }
});

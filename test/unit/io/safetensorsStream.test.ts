/** SafetensorsStream (tensor-by-tensor positioned writes) and bit-packed hard masks. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { after } from 'node:test';
import { readSafetensors, SafetensorsStream, writeSafetensors } from '../../../src/core/io/safetensors';
import { packBits, packedLength, unpackBits } from '../../../src/core/masks/packedMask';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-st-stream-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('SafetensorsStream', () => {
  const entries = [
    { name: 'a.hard', dtype: 'U8' as const, shape: [3, 5], data: Uint8Array.from({ length: 15 }, (_, i) => i % 2) },
    { name: 'a.soft', dtype: 'F32' as const, shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i / 3) },
    { name: 'b', dtype: 'F64' as const, shape: [7], data: Float64Array.from({ length: 7 }, (_, i) => -i) },
    { name: 'empty', dtype: 'I32' as const, shape: [0], data: new Int32Array(0) },
  ];

  it('writes the same bytes as writeSafetensors, one positioned write per tensor', async () => {
    const ref = path.join(dir, 'ref.safetensors');
    const out = path.join(dir, 'stream.safetensors');
    writeSafetensors(ref, entries, { k: 'v' });
    const s = await SafetensorsStream.create(out, entries, { k: 'v' });
    for (const e of entries) await s.write(e.data);
    assert.ok(!fs.existsSync(out), 'nothing in place before commit');
    await s.commit();
    assert.deepEqual(fs.readFileSync(out), fs.readFileSync(ref));
    assert.deepEqual(Array.from(readSafetensors(out).tensors.get('a.soft')!.data as Float32Array), Array.from(entries[1].data));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  });

  it('drain(n) returns once at most n writes are queued; the file is unchanged by draining', async () => {
    const out = path.join(dir, 'drain.safetensors');
    const s = await SafetensorsStream.create(out, entries);
    for (const e of entries) {
      await s.write(e.data);
      await s.drain(1);
    }
    await s.drain(0);
    await s.commit();
    assert.deepEqual(Array.from(readSafetensors(out).tensors.get('b')!.data as Float64Array), Array.from(entries[2].data));
  });

  it('flushes to disk beside the writes: with a flush after every tensor the file is the same, and none is left running', async () => {
    const ref = path.join(dir, 'ref-flush.safetensors');
    const out = path.join(dir, 'flush.safetensors');
    const many = Array.from({ length: 24 }, (_, i) => ({ name: `t${i}`, dtype: 'F32' as const, shape: [64, 33], data: Float32Array.from({ length: 64 * 33 }, (_, k) => Math.sin(i * 1000 + k)) }));
    writeSafetensors(ref, many);
    const s = await SafetensorsStream.create(out, many, undefined, { flushEveryBytes: 1 });
    // No drain between writes: later writes queue while earlier flushes still run.
    for (const e of many) await s.write(e.data);
    await s.commit();
    assert.deepEqual(fs.readFileSync(out), fs.readFileSync(ref));
    // An aborted stream waits for its flushes before removing the temp file.
    const t = await SafetensorsStream.create(path.join(dir, 'flush-abort.safetensors'), many, undefined, { flushEveryBytes: 1 });
    for (const e of many.slice(0, 10)) await t.write(e.data);
    await t.abort();
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('flush-abort')), []);
  });

  it('refuses wrong data and unfinished files; abort leaves nothing behind', async () => {
    const out = path.join(dir, 'bad.safetensors');
    const s = await SafetensorsStream.create(out, entries);
    await assert.rejects(s.write(new Float32Array(15)), /'a\.hard' is U8 but its data is a Float32Array/);
    await assert.rejects(s.write(new Uint8Array(14)), /has shape \[3, 5\] but 14 elements/);
    await s.write(entries[0].data);
    await assert.rejects(s.commit(), /1 of 4 declared tensors written/);
    await s.abort();
    assert.ok(!fs.existsSync(out));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.bad')), []);
    const t = await SafetensorsStream.create(out, entries.slice(0, 1));
    await t.write(entries[0].data);
    await assert.rejects(t.write(entries[0].data), /more tensors written than the 1 declared/);
    await t.abort();
  });

  it('reports an output folder that does not exist against the file', async () => {
    const out = path.join(dir, 'no-such-dir', 'x.safetensors');
    await assert.rejects(SafetensorsStream.create(out, entries), (e: Error) => e.message.includes(out) && /cannot write safetensors file/.test(e.message));
  });
});

describe('packBits / unpackBits', () => {
  it('round-trips any length, least significant bit first (numpy bitorder="little")', () => {
    for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 1000, 1003]) {
      const v = Uint8Array.from({ length: n }, (_, i) => ((i * 7919) % 3 === 0 ? 1 : 0));
      const packed = packBits(v);
      assert.equal(packed.length, packedLength(n));
      assert.deepEqual(Array.from(unpackBits(packed, n)), Array.from(v), `n = ${n}`);
    }
    assert.deepEqual(Array.from(packBits(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 1))), [1, 2]);
    assert.deepEqual(Array.from(packBits(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1))), [128]);
    assert.deepEqual(Array.from(packBits(Uint8Array.of(5, 0, 255))), [5], 'any non-zero is a 1');
  });

  it('checks lengths', () => {
    assert.throws(() => unpackBits(new Uint8Array(2), 17), /packed mask has 2 bytes, expected 3 for 17 values/);
    assert.throws(() => packBits(new Uint8Array(9), new Uint8Array(1)), /2 needed for 9 values/);
  });
});

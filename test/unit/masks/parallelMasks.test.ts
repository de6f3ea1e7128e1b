/**
 * Whole-model masks on worker threads: the same results as `computeLayerMask` layer by layer, in place in shared
 * buffers or copied for ordinary ones, errors that name the layer, and no worker left behind.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { isMaxqError } from '../../../src/core/errors';
import { CanonicalWeight } from '../../../src/core/masks/canonicalWeight';
import { computeLayerMask, LayerMask } from '../../../src/core/masks/layerMask';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { computeModelMasksParallel, MaskPool, sharedMaskBuffers, sharedWeight } from '../../../src/core/masks/parallelMasks';
import { MaskMethod } from '../../../src/core/types';
import { randomWeight } from './helpers';

const SHAPES: [number, number, number, number][] = [[16, 32, 3, 3], [64, 16, 1, 1], [8, 8, 3, 3], [32, 64, 1, 1], [4, 16, 1, 3], [24, 24, 3, 3], [2, 8, 1, 1]];

function model(seed: number, shared: boolean): CanonicalWeight[] {
  return SHAPES.map(([O, I, Kh, Kw], i) => {
    const w = randomWeight(seed + i, O, I, Kh, Kw, i === 2 ? 'quantized' : 'normal', 0.05);
    if (!shared) return w;
    const s = sharedWeight(O, I, Kh, Kw);
    s.data.set(w.data);
    return s;
  });
}

function assertSame(got: LayerMask[], layers: CanonicalWeight[], pattern: NmPattern, method: MaskMethod, p: number): void {
  assert.equal(got.length, layers.length);
  layers.forEach((w, i) => {
    const want = computeLayerMask(w, pattern, method, p);
    assert.deepEqual(Buffer.from(got[i].hard), Buffer.from(want.hard), `layer ${i} H`);
    assert.deepEqual(Buffer.from(new Uint8Array(got[i].soft.buffer, got[i].soft.byteOffset, got[i].soft.byteLength)), Buffer.from(want.soft.buffer), `layer ${i} S`);
    const { hard: _h, soft: _s, ...counts } = got[i];
    const { hard: _wh, soft: _ws, ...wantCounts } = want;
    assert.deepEqual(counts, wantCounts, `layer ${i} counts`);
  });
}

function workerHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length;
}

test('a pool gives the layer-by-layer results: methods, p, shared and ordinary buffers, given or new outputs', async () => {
  const pool = new MaskPool(3);
  try {
    for (const shared of [true, false]) {
      const layers = model(shared ? 10 : 20, shared);
      for (const [pat, method, p] of [['2:4', 'maxq', 0], ['2:4', 'maxq', 0.4], ['1:4', 'maxq', 0], ['2:8', 'maxq', 0.2], ['2:4', 'srste', 0.3], ['2:4', 'magnitude', 0]] as const) {
        const pattern = NmPattern.parse(pat);
        assertSame(await pool.compute(layers, pattern, method, p), layers, pattern, method, p);
        // Given outputs are the arrays returned, written in place (shared) or copied into (ordinary).
        const outs = layers.map((w) => (shared ? sharedMaskBuffers(w.data.length) : { hard: new Uint8Array(w.data.length), soft: new Float32Array(w.data.length) }));
        const got = await pool.compute(layers, pattern, method, p, { hardOut: outs.map((o) => o.hard), softOut: outs.map((o) => o.soft) });
        got.forEach((r, i) => {
          assert.equal(r.hard, outs[i].hard);
          assert.equal(r.soft, outs[i].soft);
        });
        assertSame(got, layers, pattern, method, p);
      }
    }
  } finally {
    await pool.close();
  }
});

test('computeModelMasksParallel without a pool ends its workers; threads: 1 stays on the calling thread', async () => {
  const before = workerHandles();
  const layers = model(30, true);
  const pattern = NmPattern.parse('2:4');
  assertSame(await computeModelMasksParallel(layers, pattern, 'maxq', 0, { threads: 2 }), layers, pattern, 'maxq', 0);
  assert.equal(workerHandles(), before);
  assertSame(await computeModelMasksParallel(layers, pattern, 'maxq', 0.5, { threads: 1 }), layers, pattern, 'maxq', 0.5);
  assert.equal(workerHandles(), before);
});

test('errors: a non-finite weight names its layer, the pool stays usable, a closed pool refuses', async () => {
  const pool = new MaskPool(2);
  const layers = model(40, true);
  const pattern = NmPattern.parse('2:4');
  const bad = sharedWeight(8, 8, 3, 3);
  bad.data.fill(0.01);
  bad.data[100] = NaN;
  const names = [...layers.map((_, i) => `conv${i}`), 'layer4.conv2'];
  await assert.rejects(pool.compute([...layers, bad], pattern, 'maxq', 0, { names }), (e: unknown) => isMaxqError(e) && e.kind === 'usage' && /layer4\.conv2/.test(e.message));
  await assert.rejects(pool.compute(layers, pattern, 'maxq', 1.5), (e: unknown) => isMaxqError(e) && /dense fraction/.test(e.message));
  await assert.rejects(pool.compute(layers, pattern, 'maxq', 0, { softOut: [new Float32Array(3)] }), (e: unknown) => isMaxqError(e) && /buffer/.test(e.message));
  assertSame(await pool.compute(layers, pattern, 'maxq', 0), layers, pattern, 'maxq', 0);
  await pool.close();
  await pool.close(); // idempotent
  await assert.rejects(pool.compute(layers, pattern, 'maxq', 0), /closed/);
  assert.throws(() => new MaskPool(0), (e: unknown) => isMaxqError(e) && /threads/.test(e.message));
  await assert.rejects(computeModelMasksParallel(layers, pattern, 'maxq', 0, { threads: 1.5 }), (e: unknown) => isMaxqError(e) && /threads/.test(e.message));
  // Closing while a call waits for its workers rejects that call instead of leaving it pending.
  const racing = new MaskPool(2);
  const call = racing.compute(layers, pattern, 'maxq', 0);
  await racing.close();
  await assert.rejects(call, /closed|exited/);
});

test('onLayer sees every layer once, on the calling thread, with its final masks, before the call resolves', async () => {
  const pool = new MaskPool(3);
  try {
    for (const shared of [true, false]) {
      const layers = model(50, shared);
      const pattern = NmPattern.parse('2:4');
      const seen: { index: number; hard: Buffer; soft: Buffer; sameArrays: boolean }[] = [];
      const outs = layers.map((w) => (shared ? sharedMaskBuffers(w.data.length) : { hard: new Uint8Array(w.data.length), soft: new Float32Array(w.data.length) }));
      let resolved = false;
      const call = pool.compute(layers, pattern, 'maxq', 0.3, {
        hardOut: outs.map((o) => o.hard),
        softOut: outs.map((o) => o.soft),
        onLayer: (index, m) => {
          assert.equal(resolved, false);
          // A copy now: what the callback reads must already be the layer's final masks.
          seen.push({ index, hard: Buffer.from(m.hard), soft: Buffer.from(new Uint8Array(m.soft.buffer, m.soft.byteOffset, m.soft.byteLength)), sameArrays: m.hard === outs[index].hard && m.soft === outs[index].soft });
        },
      });
      const got = await call;
      resolved = true;
      assert.deepEqual(seen.map((s) => s.index).sort((a, b) => a - b), layers.map((_, i) => i), 'each layer once');
      for (const s of seen) {
        assert.ok(s.sameArrays, `layer ${s.index}: the given output arrays`);
        assert.deepEqual(s.hard, Buffer.from(got[s.index].hard), `layer ${s.index} H`);
        assert.deepEqual(s.soft, Buffer.from(new Uint8Array(got[s.index].soft.buffer, got[s.index].soft.byteOffset, got[s.index].soft.byteLength)), `layer ${s.index} S`);
      }
      assertSame(got, layers, pattern, 'maxq', 0.3);
    }
    // A failing layer is never passed to onLayer, and the call rejects naming it.
    const layers = model(60, true);
    const bad = sharedWeight(8, 8, 3, 3);
    bad.data.fill(0.01);
    bad.data[7] = Infinity;
    const passed: number[] = [];
    await assert.rejects(
      pool.compute([...layers, bad], NmPattern.parse('2:4'), 'maxq', 0, { names: [...layers.map((_, i) => `c${i}`), 'bad.conv'], onLayer: (i) => passed.push(i) }),
      (e: unknown) => isMaxqError(e) && /bad\.conv/.test(e.message),
    );
    assert.ok(!passed.includes(layers.length));
    // An exception in onLayer fails the call and leaves the pool usable.
    await assert.rejects(pool.compute(layers, NmPattern.parse('2:4'), 'maxq', 0, { onLayer: () => { throw new Error('callback broke'); } }), /callback broke/);
    assertSame(await pool.compute(layers, NmPattern.parse('2:4'), 'maxq', 0), layers, NmPattern.parse('2:4'), 'maxq', 0);
  } finally {
    await pool.close();
  }
});

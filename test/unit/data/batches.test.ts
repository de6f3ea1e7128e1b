import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { deriveSeed, mulberry32, shuffledIndices } from '../../../src/core/data/random';
import { batchesPerEpoch, chunkIndices, epochBatches, readBatches } from '../../../src/core/data/batches';
import { SubsetDataset, trainValSplit } from '../../../src/core/data/split';
import { Batch, Dataset } from '../../../src/core/data/dataset';
import { parseNormalization, channelAffine, formatNormalization } from '../../../src/core/data/normalize';
import { MaxqError } from '../../../src/core/errors';

/** A data set whose sample i is the single value i with label i % 3, to see which samples a batch holds. */
class Counting implements Dataset {
  readonly source = 'counting';
  readonly inputShape: [number, number, number] = [1, 1, 1];
  readonly numClasses = 3;
  readonly hasLabels = true;
  constructor(readonly count: number) {}
  getBatch(indices: readonly number[]): Batch {
    return { inputs: Float32Array.from(indices), labels: BigInt64Array.from(indices.map((i) => BigInt(i % 3))) };
  }
}

const isUsage = (pattern: RegExp) => (e: unknown) => e instanceof MaxqError && e.kind === 'usage' && pattern.test(e.message);

describe('seeded randomness', () => {
  test('mulberry32 is a fixed sequence in [0, 1)', () => {
    const a = mulberry32(42);
    const first = [a(), a(), a()];
    const b = mulberry32(42);
    assert.deepEqual([b(), b(), b()], first);
    // Pinned to the canonical mulberry32 output: a change of generator would silently change every run's data order.
    assert.deepEqual(first.map((x) => Math.round(x * 1e9)), [601_103_752, 448_290_559, 852_465_793]);
    const r = mulberry32(7);
    for (let i = 0; i < 1000; i++) {
      const x = r();
      assert.ok(x >= 0 && x < 1);
    }
    assert.notDeepEqual([mulberry32(1)(), mulberry32(1)()], [mulberry32(2)(), mulberry32(2)()]);
  });

  test('shuffledIndices is a seeded permutation', () => {
    const a = shuffledIndices(100, 5);
    assert.deepEqual(shuffledIndices(100, 5), a);
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
    assert.notDeepEqual(shuffledIndices(100, 6), a);
    assert.notDeepEqual(a, Array.from({ length: 100 }, (_, i) => i));
  });

  test('deriveSeed separates epochs and seeds', () => {
    const seen = new Set<number>();
    for (let s = 0; s < 40; s++) for (let e = 0; e < 500; e++) seen.add(deriveSeed(s, e));
    assert.equal(seen.size, 20_000);
    assert.equal(deriveSeed(3, 9), deriveSeed(3, 9));
  });
});

describe('batches', () => {
  test('chunking with and without the last partial batch', () => {
    assert.deepEqual(chunkIndices([0, 1, 2, 3, 4], 2), [[0, 1], [2, 3]]);
    assert.deepEqual(chunkIndices([0, 1, 2, 3, 4], 2, false), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(chunkIndices([0, 1], 4), []);
    assert.equal(batchesPerEpoch(10, 3), 3);
    assert.equal(batchesPerEpoch(10, 3, false), 4);
    assert.throws(() => chunkIndices([1], 0), isUsage(/batch size/));
  });

  test('epoch order depends only on (seed, epoch) and covers the pool once', () => {
    const e0 = epochBatches(10, { batchSize: 3, seed: 42, epoch: 0 });
    assert.deepEqual(epochBatches(10, { batchSize: 3, seed: 42, epoch: 0 }), e0);
    assert.equal(e0.length, 3);
    assert.ok(e0.every((b) => b.length === 3));
    const e1 = epochBatches(10, { batchSize: 3, seed: 42, epoch: 1 });
    assert.notDeepEqual(e1, e0);
    const all = epochBatches(10, { batchSize: 3, seed: 42, epoch: 1, dropLast: false }).flat();
    assert.deepEqual([...all].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('unshuffled epochs over a pool keep its order (evaluation)', () => {
    assert.deepEqual(epochBatches([7, 3, 9, 1, 5], { batchSize: 2, shuffle: false, dropLast: false }), [[7, 3], [9, 1], [5]]);
  });

  test('readBatches fetches each planned batch from the data set', () => {
    const got = [...readBatches(new Counting(6), [[4, 1], [0, 5]])];
    assert.deepEqual(got.map((b) => Array.from(b.inputs)), [[4, 1], [0, 5]]);
    assert.deepEqual(got[1].labels, BigInt64Array.from([0n, 2n]));
  });
});

describe('train/val split', () => {
  test('seeded, disjoint, complete, sorted within each side', () => {
    const s = trainValSplit(20, { valFraction: 0.25, seed: 1 });
    assert.equal(s.val.length, 5);
    assert.equal(s.train.length, 15);
    assert.deepEqual([...s.train, ...s.val].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(s.val, [...s.val].sort((a, b) => a - b));
    assert.deepEqual(trainValSplit(20, { valFraction: 0.25, seed: 1 }), s);
    assert.notDeepEqual(trainValSplit(20, { valFraction: 0.25, seed: 2 }).val, s.val);
    assert.equal(trainValSplit(20, { valCount: 3 }).val.length, 3);
  });

  test('rejects splits that leave nothing to train on', () => {
    assert.throws(() => trainValSplit(5, { valCount: 5 }), isUsage(/leave at least one/));
    assert.throws(() => trainValSplit(5, { valFraction: 1 }), isUsage(/\[0, 1\)/));
  });

  test('SubsetDataset maps its indices onto the parent', () => {
    const sub = new SubsetDataset(new Counting(10), [8, 2, 5]);
    assert.equal(sub.count, 3);
    assert.equal(sub.numClasses, 3);
    const b = sub.getBatch([2, 0]);
    assert.deepEqual(Array.from(b.inputs), [5, 8]);
    assert.deepEqual(b.labels, BigInt64Array.from([2n, 2n]));
    assert.throws(() => sub.getBatch([3]), RangeError);
    assert.throws(() => new SubsetDataset(new Counting(2), [2]), RangeError);
  });
});

describe('normalisation option', () => {
  test('SCALE,MEAN,STD with fractions and per-channel lists', () => {
    assert.deepEqual(parseNormalization('1/255,0.1307,0.3081'), { scale: 1 / 255, mean: [0.1307], std: [0.3081] });
    assert.deepEqual(parseNormalization(' 1/255 , 0.485:0.456:0.406 , 0.229:0.224:0.225 '), {
      scale: 1 / 255,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    assert.equal(formatNormalization(parseNormalization('2,1:3,4')), '2,1:3,4');
  });

  test('folded into one multiply-add per channel', () => {
    const { mul, add } = channelAffine(parseNormalization('0.5,1:2,4:8'), 2);
    assert.deepEqual([...mul], [0.125, 0.0625]);
    assert.deepEqual([...add], [-0.25, -0.25]);
  });

  test('malformed specs are usage errors', () => {
    assert.throws(() => parseNormalization('1/255,0.5'), isUsage(/SCALE,MEAN,STD/));
    assert.throws(() => parseNormalization('1/255,abc,1'), isUsage(/bad mean 'abc'/));
    assert.throws(() => parseNormalization('1/255,0,'), isUsage(/bad std/));
    assert.throws(() => parseNormalization('1/0,0,1'), isUsage(/bad scale/));
    assert.throws(() => parseNormalization('1,0,0'), isUsage(/std must be positive/));
    assert.throws(() => channelAffine(parseNormalization('1,0:0,1'), 3), isUsage(/mean has 2 values but the inputs have 3 channels/));
  });
});

/** The 'dense evaluation' phase names what the run evaluates on, including the hold-out share and its size. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Batch, Dataset } from '../../../src/core/data/dataset';
import { SubsetDataset, trainValSplit } from '../../../src/core/data/split';
import { evaluationSource } from '../../../src/core/sparsify/runData';

function fake(source: string, count: number): Dataset {
  return {
    source, count, inputShape: [1, 2, 2], numClasses: 10, hasLabels: true,
    getBatch(): Batch {
      throw new Error('not read');
    },
  } as unknown as Dataset;
}

test('hold-out: "hold-out 10 % of x.npy (800 samples)"; separate validation data; or the training data itself', () => {
  const base = fake('/data/x.npy', 8000);
  const split = trainValSplit(8000, { valFraction: 0.1, seed: 0 });
  const held = { train: new SubsetDataset(base, split.train), val: new SubsetDataset(base, split.val), close() {} };
  assert.equal(evaluationSource(held, 0.1), 'hold-out 10 % of x.npy (800 samples)');
  const quarter = trainValSplit(8000, { valFraction: 0.125, seed: 0 });
  assert.equal(evaluationSource({ train: new SubsetDataset(base, quarter.train), val: new SubsetDataset(base, quarter.val), close() {} }, 0.125), 'hold-out 12.5 % of x.npy (1000 samples)');
  assert.equal(evaluationSource({ train: base, val: fake('/data/vx.npy', 1), close() {} }, 0.1), '/data/vx.npy (1 sample)');
  assert.equal(evaluationSource({ train: base, val: null, close() {} }, 0), '/data/x.npy (training data, 8000 samples)');
});

/**
 * Dense-prediction models (segmentation: scores [N, K, H, W]) through sparsify and bn-recalibrate. A
 * torchvision LR-ASPP exported by torch 1.13 crashed the run with "offset is out of bounds": the evaluation read
 * its output as [N, K] with K = the last dim. Now one-shot with data works (normalisation, BN re-estimation,
 * numeric check) and says accuracy is not measured; fine-tuning, which trains on class scores, is refused
 * naming the output; the classifier checks are unchanged.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { sparsify } from '../../../src/core/sparsify/sparsify';
import { MaxqError } from '../../../src/core/errors';
import { RunEvent } from '../../../src/core/types';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { classCount, classifierOutputOf, runtimeClassCount } from '../../../src/core/runtime/classifierOutput';
import { compareOutputs } from '../../../src/core/validate/numericCheck';
import { modelIo } from '../../../src/core/sparsify/runData';
import { tempDir, tinyCnn, writeModelFile, writeSyntheticNpy } from '../fixtures';

describe('dense-prediction outputs', () => {
  it('classCount: [N, K] and [N, K, 1, 1] are class scores, [N, K, H, W] is not', () => {
    assert.equal(classCount([8, 10]), 10);
    assert.equal(classCount(['N', 10, 1, 1]), 10);
    assert.equal(classCount([8, 5, 64, 64]), null);
    assert.equal(classCount([8]), null);
    assert.throws(() => runtimeClassCount([2, 5, 8, 8], 'out', 'seg.onnx'), (e: unknown) => e instanceof MaxqError && e.kind === 'input' && /^seg\.onnx: the model's output 'out' is \[2, 5, 8, 8\], not class scores \[N, K\]/.test(e.message));
  });

  it('the numeric check counts top-1 agreement per position on a map [N, K, H, W]', () => {
    // One image, 2 classes, 1×3 positions (class planes one after the other): the maps agree at positions 0 and 2.
    const dense = Float32Array.of(1, 0, 5, /* class 1 */ 0, 1, 4);
    const sparse = Float32Array.of(1, 2, 5, /* class 1 */ 0, 1, 4);
    assert.equal(compareOutputs(sparse, dense, [1, 2, 1, 3]).top1Agreement, 2 / 3);
    // A classifier ending in a 1×1 conv, [N, K, 1, 1]: one position, the per-sample top-1 of [N, K].
    assert.equal(compareOutputs(sparse, dense, [1, 6, 1, 1]).top1Agreement, compareOutputs(sparse, dense, [1, 6]).top1Agreement);
  });

  it('the data checks take the class count from class scores, not the last dim (a map\'s width, a 1×1 head\'s 1)', async () => {
    const d = tempDir('maxq-dense-io-');
    const io = async (bytes: Uint8Array, name: string) => modelIo(await OnnxModel.open(writeModelFile(d, name, bytes))).numClasses;
    assert.equal(await io(tinyCnn({ classes: 5 }), 'cls.onnx'), 5);
    assert.equal(await io(tinyCnn({ classes: 5, denseHead: 'declared' }), 'seg.onnx'), null, 'labels are not checked against 8 (the width)');
  });

  it('the declared output decides when it can; symbolic spatial dims leave it to a run', async () => {
    const d = tempDir('maxq-dense-');
    const kind = async (bytes: Uint8Array, name: string) => classifierOutputOf(await OnnxModel.load(writeModelFile(d, name, bytes))).classifier;
    assert.equal(await kind(tinyCnn(), 'cls.onnx'), true);
    assert.equal(await kind(tinyCnn({ denseHead: 'declared' }), 'seg.onnx'), false);
    assert.equal(await kind(tinyCnn({ denseHead: 'symbolic' }), 'seg-sym.onnx'), null);
  });

  for (const head of ['declared', 'symbolic'] as const) {
    it(`one-shot with data works and says accuracy is not measured; fine-tuning is refused naming the output (${head} dims)`, async () => {
      const d = tempDir('maxq-dense-run-');
      const model = writeModelFile(d, 'seg.onnx', tinyCnn({ denseHead: head }));
      const data = writeSyntheticNpy(d, 32, 3, false);
      const events: RunEvent[] = [];
      const out = path.join(d, 'seg.2of4.onnx');
      const summary = await sparsify({ model, out, pattern: '2:4', method: 'maxq', epochs: 0, batchSize: 8, data: { kind: 'npy', inputs: data.inputs, normalize: 'none' } }, (e) => events.push(e));
      assert.equal(summary.validationPass, true);
      assert.equal(summary.finalAccuracy, null);
      assert.equal(summary.denseAccuracy, null);
      assert.notEqual(summary.numeric!.verdict.kind, 'blown-up');
      // Per-pixel top-1 agreement with the dense map, the segmentation counterpart of a classifier's.
      const top1 = summary.numeric!.outputs[0].top1Agreement;
      assert.ok(top1 !== null && top1 > 0 && top1 <= 1, `per-pixel agreement ${top1}`);
      assert.ok(events.some((e) => e.type === 'log' && e.level === 'warn' && /^accuracy is not measured and the data sanity check is skipped: the model's output 'scores' is \[(N|1), 3, 8, 8\], not class scores/.test(e.message)));
      assert.ok(events.some((e) => e.type === 'phase' && e.phase === 'BN re-estimation'));

      const ft = path.join(d, 'seg.ft.onnx');
      await assert.rejects(
        sparsify({ model, out: ft, pattern: '2:4', method: 'maxq', epochs: 1, batchSize: 8, data: { kind: 'npy', inputs: data.inputs, normalize: 'none' } }),
        (e: unknown) => e instanceof MaxqError && e.kind === 'input' && e.file === model && /output 'scores' is .*not class scores \[N, K\].*: fine-tuning trains on class scores .*sparsify it one-shot \(--epochs 0\) with data/.test(e.message),
      );
      assert.ok(!fs.existsSync(ft));
    });
  }
});

/**
 * BatchNorm statistics one tensor holds for several BNs (the exporter deduplicates equal tensors, DenseNet's
 * fresh statistics reach two BNs through Identity): BN re-estimation gives each BN its own statistics and never
 * changes another BN's, and a re-estimation that could re-estimate nothing says so instead of passing silently.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { resolveWeight } from '../../../src/core/onnx/weightResolver';
import { reestimateModelFile } from '../../../src/core/bn/reestimateModelFile';
import { MaxqError } from '../../../src/core/errors';
import { buildModel, floatTensor, node, valueInfo } from '../../../src/core/onnx/builder';
import { DataType } from '../../../src/core/onnx/proto';
import { tempDir, writeModelFile, writeSyntheticNpy } from '../fixtures';
import { denseBlock } from '../zoo/familyFixtures';

describe('BN re-estimation with deduplicated statistics', () => {
  it('every BN is re-estimated on its own; the two that shared one tensor pair get their own copies', async () => {
    const dir = tempDir('maxq-bn-shared-');
    const model = writeModelFile(dir, 'dense-block.onnx', denseBlock());
    const data = writeSyntheticNpy(dir, 32, 5, false);
    const out = path.join(dir, 'dense-block.bn.onnx');
    const r = await reestimateModelFile(model, { data: { kind: 'npy', inputs: data.inputs }, out, batches: 4, batchSize: 8 });
    const bns = (await OnnxModel.load(model)).nodes.filter((n) => n.opType === 'BatchNormalization').length;
    assert.equal(r.layers, bns, 'every BN, the two sharing statistics included');
    const w = await OnnxModel.load(out);
    const stats = (name: string) => w.nodes.find((n) => n.name === name)!.input!.slice(3, 5).map((t) => resolveWeight(w, t)!.source);
    const [a, b] = [stats('denselayer1.norm2'), stats('denselayer2.norm2')];
    assert.notDeepEqual(a, b, 'each BN reads its own statistics');
    const [ma, mb] = [await w.readFloat32(a[0]), await w.readFloat32(b[0])];
    assert.ok(ma.some((v, i) => v !== mb[i]), 'and they differ: each was measured on its own input');
    const orig = await OnnxModel.load(model);
    assert.equal(w.nodes.length, orig.nodes.length, 'the same graph');
  });

  it('a model whose BN statistics are computed (nothing to re-estimate) fails with the reason', async () => {
    const dir = tempDir('maxq-bn-none-');
    // BN whose running mean comes from a computed tensor, not a constant.
    const bytes = buildModel({
      name: 'computed-stats',
      inputs: [valueInfo('input', DataType.FLOAT, ['N', 4, 8, 8])],
      outputs: [valueInfo('logits', DataType.FLOAT, ['N', 4])],
      initializers: [floatTensor('g', [4], [1, 1, 1, 1]), floatTensor('b', [4], [0, 0, 0, 0]), floatTensor('m0', [4], [0, 0, 0, 0]), floatTensor('v', [4], [1, 1, 1, 1]), floatTensor('one', [], [1])],
      nodes: [
        node('Mul', ['m0', 'one'], ['m'], {}, 'computed_mean'),
        node('BatchNormalization', ['input', 'g', 'b', 'm', 'v'], ['y'], {}, 'bn'),
        node('GlobalAveragePool', ['y'], ['p'], {}, 'gap'),
        node('Flatten', ['p'], ['logits'], {}, 'flatten'),
      ],
    });
    const model = writeModelFile(dir, 'computed.onnx', bytes);
    const data = writeSyntheticNpy(dir, 16, 5, false);
    await assert.rejects(reestimateModelFile(model, { data: { kind: 'npy', inputs: data.inputs }, out: path.join(dir, 'x.onnx') }),
      (e: unknown) => e instanceof MaxqError && e.file === model && /no BatchNormalization statistics could be re-estimated: no BN layer has constant running statistics/.test(e.message));
  });
});

/**
 * Blocked (NCHWc) convs in the training graph: with this machine's block size the graph computes the same loss,
 * logits, gradients and BN statistics as the plain graph (which the finite-difference tests check), on a CNN
 * whose convs mix eligible channel counts (16, 32) with an ineligible stem (3 input channels), stride 2 with
 * a bias, and a stride-1 residual conv whose dX is a flipped Conv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { onnx } from '../../../../src/core/onnx/proto';
import { isMaxqError } from '../../../../src/core/errors';
import { buildTrainingGraph } from '../../../../src/core/training/graph/trainingGraph';
import { NCHWC_DOMAIN } from '../../../../src/core/training/graph/blockedConvs';
import { probeNchwcBlock } from '../../../../src/core/runtime/nchwcBlock';
import { blockedConvMatches, trainingNchwcBlock } from '../../../../src/core/training/blockedConvCheck';
import { floatData } from '../../../../src/core/training/graph/onnxUtil';
import { Rng, f32, floatTensor, i64, model, node, randn, relL2, session } from './helpers';

const N = 4;
const K = 5;

function cnn(): onnx.IModelProto {
  const rng = new Rng(3);
  const inits = [
    floatTensor('c1.w', [16, 3, 3, 3], randn(rng, [16, 3, 3, 3], 0.3)),
    floatTensor('bn1.s', [16], rng.array(16, () => rng.uniform(0.6, 1.4))),
    floatTensor('bn1.b', [16], randn(rng, [16], 0.2)),
    floatTensor('bn1.m', [16], new Array(16).fill(0)),
    floatTensor('bn1.v', [16], new Array(16).fill(1)),
    floatTensor('c2.w', [32, 16, 3, 3], randn(rng, [32, 16, 3, 3], 0.1)),
    floatTensor('c2.b', [32], randn(rng, [32], 0.1)),
    floatTensor('c3.w', [32, 32, 3, 3], randn(rng, [32, 32, 3, 3], 0.06)),
    floatTensor('c4.w', [32, 32, 1, 1], randn(rng, [32, 32, 1, 1], 0.15)),
    floatTensor('fc.w', [K, 32], randn(rng, [K, 32], 0.5)),
    floatTensor('fc.b', [K], randn(rng, [K], 0.1)),
  ];
  const nodes = [
    node('Conv', ['input', 'c1.w'], ['a1'], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, 'stem'),
    node('BatchNormalization', ['a1', 'bn1.s', 'bn1.b', 'bn1.m', 'bn1.v'], ['b1'], { epsilon: 1e-5 }, 'bn1'),
    node('Relu', ['b1'], ['r1']),
    node('Conv', ['r1', 'c2.w', 'c2.b'], ['a2'], { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] }, 'down'),
    node('Relu', ['a2'], ['r2']),
    node('Conv', ['r2', 'c3.w'], ['a3'], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, 'body'),
    node('Conv', ['r2', 'c4.w'], ['a4'], {}, 'pointwise'),
    node('Add', ['a3', 'a4'], ['s']),
    node('Relu', ['s'], ['r3']),
    node('GlobalAveragePool', ['r3'], ['g']),
    node('Flatten', ['g'], ['f']),
    node('Gemm', ['f', 'fc.w', 'fc.b'], ['logits'], { transB: 1 }, 'fc'),
  ];
  return model({ inputs: [['input', [1, 3, 12, 12]]], outputs: ['logits'], nodes, inits });
}

async function run(m: onnx.IModelProto, nchwcBlock: number) {
  const tg = buildTrainingGraph(m, { batchSize: N, nchwcBlock });
  const sess = await session(tg.modelBytes);
  const rng = new Rng(11);
  const feeds: Record<string, ort.Tensor> = { [tg.inputName]: f32(randn(rng, tg.inputDims), tg.inputDims), [tg.labelsName]: i64(Array.from({ length: N }, () => rng.int(K))) };
  const inits = new Map((m.graph!.initializer ?? []).map((t) => [t.name!, t]));
  for (const p of tg.params) feeds[p.name] = f32(floatData(inits.get(p.sourceInitializer)!), p.dims);
  return { tg, out: await sess.run(feeds) };
}

test('the probe answers a block size onnxruntime uses (0: none), the same every time', async () => {
  const block = await probeNchwcBlock();
  assert.ok(block === 0 || [4, 8, 16, 32].includes(block), `block ${block}`);
  assert.equal(await probeNchwcBlock(), block);
});

test('training uses the probed block only when a blocked conv computes what a plain one does; a block the machine cannot use never passes', async () => {
  const block = await probeNchwcBlock();
  const used = await trainingNchwcBlock();
  if (block > 1) {
    assert.equal(await blockedConvMatches(block), true, `block ${block}`);
    assert.equal(used, block);
  } else {
    assert.equal(used, 0);
  }
  // The weight goes through onnxruntime's own ReorderInput, which blocks by the machine's size: a block that is
  // not a multiple of it gives a different layout (wrong values or a refused graph); a multiple is the same
  // layout at a coarser grain and computes correctly.
  for (const other of [4, 8, 16, 32].filter((b) => b !== block)) {
    const sameLayout = block > 1 && other % block === 0;
    assert.equal(await blockedConvMatches(other), sameLayout, `block ${other} on a block-${block} machine`);
  }
});

test('with the machine\'s block the graph computes what the plain graph computes', async () => {
  const block = await trainingNchwcBlock();
  const m = cnn();
  const plain = await run(m, 0);
  assert.equal(plain.tg.blockedConvs, 0);
  const blocked = await run(m, block);
  const decoded = onnx.ModelProto.decode(blocked.tg.modelBytes);
  const nchwcConvs = (decoded.graph?.node ?? []).filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv');
  if (block === 0) {
    // No blocked kernels on this machine: nothing changes.
    assert.equal(blocked.tg.blockedConvs, 0);
    assert.equal(nchwcConvs.length, 0);
  } else {
    // Forward: down, body, pointwise (the stem has 3 input channels). dX: body's flipped Conv (stride 1) and
    // pointwise's (a 1×1 Conv); down's stride-2 dX is a ConvTranspose.
    assert.equal(blocked.tg.blockedConvs, 5, nchwcConvs.map((n) => n.name).join(', '));
    assert.equal(nchwcConvs.length, 5);
    assert.ok(decoded.opsetImport.some((o) => o.domain === NCHWC_DOMAIN));
    assert.ok((decoded.graph?.node ?? []).some((n) => n.opType === 'Conv' && (n.domain ?? '') === '' && n.name === 'stem'), 'the stem stays a plain Conv');
  }
  for (const name of [plain.tg.lossName, plain.tg.logitsName, ...plain.tg.params.map((p) => p.gradOutput), ...plain.tg.bnStats.flatMap((b) => [b.meanOutput, b.varOutput])]) {
    const a = plain.out[name].data as Float32Array;
    const b = blocked.out[name].data as Float32Array;
    assert.deepEqual([...blocked.out[name].dims], [...plain.out[name].dims], name);
    assert.ok(relL2(b, Float64Array.from(a)) < 1e-5, `${name}: rel-L2 ${relL2(b, Float64Array.from(a)).toExponential(2)}`);
  }
});

test('a bad block size is a usage error', () => {
  assert.throws(() => buildTrainingGraph(cnn(), { batchSize: N, nchwcBlock: -1 }), (e: unknown) => isMaxqError(e) && /block size/.test(e.message));
  assert.throws(() => buildTrainingGraph(cnn(), { batchSize: N, nchwcBlock: 2.5 }), (e: unknown) => isMaxqError(e) && /block size/.test(e.message));
});

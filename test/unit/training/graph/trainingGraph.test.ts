/**
 * Whole training graphs against a float64 JS reference of the same small CNN:
 * conv-bn-relu-maxpool-conv(+bias, residual add)-relu-gap-flatten-gemm.
 * Loss and logits are compared directly; every parameter gradient is compared with central differences
 * (eps 1e-6, float64) of the reference loss: rel-L2 ≤ 1e-3 per tensor (float32 backward, BN cancellation,
 * doc §5), max abs error ≤ 1e-4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { onnx } from '../../../../src/core/onnx/proto';
import { isMaxqError } from '../../../../src/core/errors';
import { buildTrainingGraph, TrainingGraph, TrainingGraphOptions } from '../../../../src/core/training/graph/trainingGraph';
import { findParamCandidates } from '../../../../src/core/training/graph/prepare';
import { floatData } from '../../../../src/core/training/graph/onnxUtil';
import { Rng, f32, fdGrad, floatTensor, i64, model, node, randn, relL2, session } from './helpers';
import { T4, add, bnTrain, conv2d, crossEntropy, distillKl, gap, linear, maxPool, relu } from './reference';

const N = 4;
const IN = [N, 3, 8, 8];
const K = 3;
const EPS_BN = 1e-5;

function smallCnn(opts: { softmaxOutput?: boolean; tiedBn?: boolean } = {}): onnx.IModelProto {
  const rng = new Rng(42);
  const inits = [
    floatTensor('c1.w', [4, 3, 3, 3], randn(rng, [4, 3, 3, 3], 0.4)),
    floatTensor('bn1.s', [4], rng.array(4, () => rng.uniform(0.6, 1.4))),
    floatTensor('bn1.b', [4], randn(rng, [4], 0.3)),
    floatTensor('bn1.m', [4], [0.1, -0.2, 0.3, 0]),
    floatTensor('bn1.v', [4], [1, 2, 0.5, 1.5]),
    floatTensor('c2.w', [4, 4, 3, 3], randn(rng, [4, 4, 3, 3], 0.3)),
    floatTensor('c2.b', [4], randn(rng, [4], 0.2)),
    floatTensor('fc.w', [K, 4], randn(rng, [K, 4], 0.8)),
    floatTensor('fc.b', [K], randn(rng, [K], 0.1)),
  ];
  const nodes = [
    node('Conv', ['input', 'c1.w'], ['a1'], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, 'conv1'),
    node('BatchNormalization', ['a1', 'bn1.s', 'bn1.b', 'bn1.m', 'bn1.v'], ['b1'], { epsilon: EPS_BN, momentum: 0.9 }, 'bn1'),
    node('Relu', ['b1'], ['r1']),
    node('MaxPool', ['r1'], ['p1'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool'),
    node('Conv', ['p1', 'c2.w', 'c2.b'], ['a2'], { pads: [1, 1, 1, 1] }, 'conv2'),
  ];
  if (opts.tiedBn) {
    // The exporter merged bn2's fresh parameters into bn1's and ties them through Identity nodes.
    inits.push(floatTensor('bn2.m', [4], [0, 0, 0, 0]), floatTensor('bn2.v', [4], [1, 1, 1, 1]));
    nodes.push(
      node('Identity', ['bn1.s'], ['bn2.s']),
      node('Identity', ['bn1.b'], ['bn2.b']),
      node('BatchNormalization', ['a2', 'bn2.s', 'bn2.b', 'bn2.m', 'bn2.v'], ['a2n'], { epsilon: EPS_BN }, 'bn2'),
      node('Add', ['a2n', 'p1'], ['s2']),
    );
  } else {
    nodes.push(node('Add', ['a2', 'p1'], ['s2']));
  }
  nodes.push(
    node('Relu', ['s2'], ['r2']),
    node('GlobalAveragePool', ['r2'], ['g']),
    node('Flatten', ['g'], ['f']),
    node('Gemm', ['f', 'fc.w', 'fc.b'], [opts.softmaxOutput ? 'z' : 'logits'], { transB: 1 }, 'fc'),
  );
  if (opts.softmaxOutput) nodes.push(node('Softmax', ['z'], ['logits'], { axis: 1 }));
  return model({ inputs: [['input', [1, 3, 8, 8]]], outputs: ['logits'], nodes, inits });
}

interface RefOut {
  logits: T4;
  bn: { mean: Float64Array; varBiased: Float64Array }[];
}

/** Float64 forward of smallCnn; `p` holds parameters by graph-input name. */
function refForward(x: Float64Array, p: Map<string, Float64Array>, tied: boolean): RefOut {
  const a1 = conv2d({ d: IN, v: x }, p.get('c1.w')!, [4, 3, 3, 3], undefined, 1, 1);
  const bn1 = bnTrain(a1, p.get('bn1.s')!, p.get('bn1.b')!, EPS_BN);
  const p1 = maxPool(relu(bn1.y), 2, 2);
  let a2 = conv2d(p1, p.get('c2.w')!, [4, 4, 3, 3], p.get('c2.b')!, 1, 1);
  const bn = [bn1];
  if (tied) {
    const bn2 = bnTrain(a2, p.get('bn2.s')!, p.get('bn2.b')!, EPS_BN);
    a2 = bn2.y;
    bn.push(bn2);
  }
  const g = gap(relu(add(a2, p1)));
  return { logits: linear(g, p.get('fc.w')!, K, p.get('fc.b')!), bn };
}

interface StepResult {
  tg: TrainingGraph;
  out: ort.InferenceSession.ReturnType;
  x: Float32Array;
  labels: number[];
  teacher?: Float32Array;
  params: Map<string, Float64Array>;
}

async function step(m: onnx.IModelProto, opts: TrainingGraphOptions): Promise<StepResult> {
  const tg = buildTrainingGraph(m, opts);
  const sess = await session(tg.modelBytes);
  const rng = new Rng(7);
  const x = randn(rng, tg.inputDims);
  const labels = Array.from({ length: N }, () => rng.int(K));
  const inits = new Map((m.graph!.initializer ?? []).map((t) => [t.name!, t]));
  const feeds: Record<string, ort.Tensor> = { [tg.inputName]: f32(x, tg.inputDims), [tg.labelsName]: i64(labels) };
  let teacher: Float32Array | undefined;
  if (tg.teacherName) {
    teacher = randn(rng, [N, K], 2);
    feeds[tg.teacherName] = f32(teacher, [N, K]);
  }
  const params = new Map<string, Float64Array>();
  for (const p of tg.params) {
    const data = floatData(inits.get(p.sourceInitializer)!);
    feeds[p.name] = f32(data, p.dims);
    params.set(p.name, Float64Array.from(data));
  }
  const out = await sess.run(feeds);
  return { tg, out, x, labels, teacher, params };
}

function checkGrads(r: StepResult, lossOf: (p: Map<string, Float64Array>) => number, label: string): void {
  for (const p of r.tg.params) {
    const { fd } = fdGrad(r.params, p.name, lossOf, 1e-6);
    const g = r.out[p.gradOutput].data as Float32Array;
    assert.equal(g.length, fd.length, `${label}: ${p.gradOutput} length`);
    const maxAbs = Math.max(...fd.map((v, i) => Math.abs(v - g[i])));
    if (!fd.some((v) => Math.abs(v) > 1e-6)) {
      // A bias right before a BN: its true gradient is zero.
      assert.ok(maxAbs < 1e-5, `${label}: ${p.gradOutput} should be ~0, max abs ${maxAbs}`);
      continue;
    }
    const err = relL2(g, fd);
    assert.ok(err < 1e-3 && maxAbs < 1e-4, `${label}: ${p.gradOutput} rel-L2 ${err.toExponential(2)}, max abs ${maxAbs.toExponential(2)}`);
  }
}

test('small CNN, cross-entropy: loss, logits, every parameter gradient and BN statistics vs float64 reference', async () => {
  const m = smallCnn();
  const r = await step(m, { batchSize: N });
  assert.equal(r.tg.inputName, 'input');
  assert.deepEqual(r.tg.inputDims, IN);
  assert.equal(r.tg.labelsName, 'labels');
  assert.equal(r.tg.lossName, 'loss');
  assert.equal(r.tg.logitsName, 'logits');
  assert.equal(r.tg.numClasses, K);
  assert.deepEqual(
    r.tg.params.map((p) => [p.name, p.kind, p.gradOutput]),
    [
      ['c1.w', 'conv-weight', 'grad.c1.w'],
      ['bn1.s', 'bn-scale', 'grad.bn1.s'],
      ['bn1.b', 'bn-bias', 'grad.bn1.b'],
      ['c2.w', 'conv-weight', 'grad.c2.w'],
      ['c2.b', 'bias', 'grad.c2.b'],
      ['fc.w', 'linear-weight', 'grad.fc.w'],
      ['fc.b', 'bias', 'grad.fc.b'],
    ],
  );
  const x64 = Float64Array.from(r.x);
  const ref = refForward(x64, r.params, false);
  assert.ok(relL2(r.out.logits.data as Float32Array, ref.logits.v) < 1e-5, 'logits');
  const refLoss = crossEntropy(ref.logits, r.labels, 0);
  assert.ok(Math.abs((r.out.loss.data as Float32Array)[0] - refLoss) < 1e-5, `loss ${r.out.loss.data[0]} vs ${refLoss}`);
  assert.deepEqual([...r.out.loss.dims], []);

  // BN statistics: batch mean and unbiased variance.
  assert.equal(r.tg.bnStats.length, 1);
  const s = r.tg.bnStats[0];
  assert.deepEqual(
    { scale: s.scale, mean: s.meanOutput, var: s.varOutput, mi: s.meanInitializer, vi: s.varInitializer },
    { scale: 'bn1.s', mean: 'bnstat.bn1.s.mean', var: 'bnstat.bn1.s.var', mi: 'bn1.m', vi: 'bn1.v' },
  );
  assert.ok(Math.abs(s.momentum - 0.1) < 1e-6 && Math.abs(s.epsilon - EPS_BN) < 1e-9);
  const M = N * 8 * 8;
  const unbiased = ref.bn[0].varBiased.map((v) => (v * M) / (M - 1));
  assert.ok(relL2(r.out[s.meanOutput].data as Float32Array, ref.bn[0].mean) < 1e-5, 'bn mean');
  assert.ok(relL2(r.out[s.varOutput].data as Float32Array, unbiased) < 1e-5, 'bn unbiased var');

  checkGrads(r, (p) => crossEntropy(refForward(x64, p, false).logits, r.labels, 0), 'ce');
});

test('every conv formulation gives the same whole-model gradients', async () => {
  const m = smallCnn();
  for (const conv of [
    { dx: 'flip', dw: 'conv' },
    { dx: 'convtranspose', dw: 'kkgemm' },
    { dx: 'flip', dw: 'onehot' },
    { dx: 'flip', dw: 'batched' },
  ] as const) {
    const r = await step(m, { batchSize: N, formulation: { conv } });
    const x64 = Float64Array.from(r.x);
    checkGrads(r, (p) => crossEntropy(refForward(x64, p, false).logits, r.labels, 0), `${conv.dx}/${conv.dw}`);
  }
});

test('label smoothing 0.1: loss and gradients vs float64 reference', async () => {
  const m = smallCnn();
  const r = await step(m, { batchSize: N, labelSmoothing: 0.1 });
  const x64 = Float64Array.from(r.x);
  const refLoss = crossEntropy(refForward(x64, r.params, false).logits, r.labels, 0.1);
  assert.ok(Math.abs((r.out.loss.data as Float32Array)[0] - refLoss) < 1e-5, `loss ${r.out.loss.data[0]} vs ${refLoss}`);
  // Smoothing changes the loss (so the test would notice it being ignored).
  assert.ok(Math.abs(refLoss - crossEntropy(refForward(x64, r.params, false).logits, r.labels, 0)) > 1e-3);
  checkGrads(r, (p) => crossEntropy(refForward(x64, p, false).logits, r.labels, 0.1), 'label smoothing');
});

test('KL distillation (τ = 2): teacher input, loss and gradients vs float64 reference', async () => {
  const m = smallCnn();
  const r = await step(m, { batchSize: N, loss: 'kl', temperature: 2 });
  assert.equal(r.tg.teacherName, 'teacher_logits');
  const x64 = Float64Array.from(r.x);
  const t64 = Float64Array.from(r.teacher!);
  const refLoss = distillKl(refForward(x64, r.params, false).logits, t64, 2);
  assert.ok(Math.abs((r.out.loss.data as Float32Array)[0] - refLoss) < 1e-5, `loss ${r.out.loss.data[0]} vs ${refLoss}`);
  checkGrads(r, (p) => distillKl(refForward(x64, p, false).logits, t64, 2), 'kl');
});

test('KL distillation mixed with smoothed cross-entropy (α = 0.3, τ = 3, ε = 0.05)', async () => {
  const m = smallCnn();
  const r = await step(m, { batchSize: N, loss: 'kl', temperature: 3, kdAlpha: 0.3, labelSmoothing: 0.05 });
  const x64 = Float64Array.from(r.x);
  const t64 = Float64Array.from(r.teacher!);
  const lossOf = (p: Map<string, Float64Array>) => {
    const z = refForward(x64, p, false).logits;
    return 0.3 * distillKl(z, t64, 3) + 0.7 * crossEntropy(z, r.labels, 0.05);
  };
  assert.ok(Math.abs((r.out.loss.data as Float32Array)[0] - lossOf(r.params)) < 1e-5);
  checkGrads(r, lossOf, 'kl+ce');
});

test('a trailing Softmax is the logits output; the loss is the cross-entropy of its input', async () => {
  const plain = await step(smallCnn(), { batchSize: N });
  const soft = await step(smallCnn({ softmaxOutput: true }), { batchSize: N });
  assert.equal(soft.tg.logitsName, 'logits');
  const probs = soft.out.logits.data as Float32Array;
  for (let n = 0; n < N; n++) {
    const row = probs.slice(n * K, n * K + K);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'output is the softmax');
  }
  assert.ok(Math.abs((soft.out.loss.data as Float32Array)[0] - (plain.out.loss.data as Float32Array)[0]) < 1e-6);
  for (const p of plain.tg.params) {
    assert.ok(relL2(soft.out[p.gradOutput].data as Float32Array, plain.out[p.gradOutput].data as Float32Array) < 1e-6, p.name);
  }
});

test('Identity-tied BN parameters are split into separate parameters with their own gradients', async () => {
  const m = smallCnn({ tiedBn: true });
  const r = await step(m, { batchSize: N });
  const byName = new Map(r.tg.params.map((p) => [p.name, p]));
  assert.equal(byName.get('bn2.s')?.sourceInitializer, 'bn1.s');
  assert.equal(byName.get('bn2.b')?.sourceInitializer, 'bn1.b');
  assert.equal(byName.get('bn2.s')?.kind, 'bn-scale');
  assert.equal(byName.get('bn1.s')?.sourceInitializer, 'bn1.s');
  assert.deepEqual(r.tg.bnStats.map((b) => b.meanOutput), ['bnstat.bn1.s.mean', 'bnstat.bn2.s.mean']);
  // The generated graph has no Identity left between bn1.s and bn2 and takes bn2.s as an input.
  const decoded = onnx.ModelProto.decode(r.tg.modelBytes);
  assert.ok(decoded.graph!.input!.some((i) => i.name === 'bn2.s'));
  assert.ok(!decoded.graph!.node!.some((n) => n.opType === 'Identity' && n.input![0] === 'bn1.s'));
  const g1 = r.out['grad.bn1.s'].data as Float32Array;
  const g2 = r.out['grad.bn2.s'].data as Float32Array;
  assert.ok(relL2(g1, g2) > 1e-2, 'tied uses get different gradients');
  const x64 = Float64Array.from(r.x);
  checkGrads(r, (p) => crossEntropy(refForward(x64, p, true).logits, r.labels, 0), 'tied split');
});

test('trainable subset: only those parameters are inputs with gradients; the first conv gets no dX', async () => {
  const m = smallCnn();
  const full = await step(m, { batchSize: N });
  const part = await step(m, { batchSize: N, trainable: ['c2.w', 'fc.w', 'fc.b'] });
  assert.deepEqual(part.tg.params.map((p) => p.name), ['c2.w', 'fc.w', 'fc.b']);
  for (const p of part.tg.params) {
    assert.ok(relL2(part.out[p.gradOutput].data as Float32Array, full.out[p.gradOutput].data as Float32Array) < 1e-6, p.name);
  }
  const decoded = onnx.ModelProto.decode(part.tg.modelBytes);
  assert.ok(decoded.graph!.initializer!.some((t) => t.name === 'c1.w'), 'frozen weights stay initializers');
  assert.ok(part.tg.nodeCount < full.tg.nodeCount);
  // In the full graph, nothing but the forward conv reads the first conv's weight: no dX for the input.
  const fullModel = onnx.ModelProto.decode(full.tg.modelBytes);
  assert.deepEqual(fullModel.graph!.node!.filter((n) => n.input!.includes('c1.w')).map((n) => n.opType), ['Conv']);
  const fn = (c: { name: string }) => c.name.startsWith('c');
  const byFn = buildTrainingGraph(m, { batchSize: N, trainable: fn });
  assert.deepEqual(byFn.params.map((p) => p.name), ['c1.w', 'c2.w', 'c2.b']);
  assert.throws(() => buildTrainingGraph(m, { batchSize: N, trainable: ['nope'] }), (e: unknown) => isMaxqError(e) && e.kind === 'usage' && /nope/.test(e.message));
});

test('findParamCandidates lists weights, biases and BN affine tensors, following Identity ties', () => {
  const c = findParamCandidates(smallCnn({ tiedBn: true }));
  assert.deepEqual(
    c.map((p) => `${p.name}<${p.sourceInitializer}>:${p.kind}:${p.dims.join('x')}`),
    [
      'c1.w<c1.w>:conv-weight:4x3x3x3',
      'bn1.s<bn1.s>:bn-scale:4',
      'bn1.b<bn1.b>:bn-bias:4',
      'c2.w<c2.w>:conv-weight:4x4x3x3',
      'c2.b<c2.b>:bias:4',
      'bn2.s<bn1.s>:bn-scale:4',
      'bn2.b<bn1.b>:bn-bias:4',
      'fc.w<fc.w>:linear-weight:3x4',
      'fc.b<fc.b>:bias:3',
    ],
  );
});

test('unsupported ops: one input error listing every op and node, before anything runs', () => {
  const rng = new Rng(1);
  const m = model({
    inputs: [['input', [1, 2, 4, 4]]],
    outputs: ['logits'],
    nodes: [
      node('Conv', ['input', 'w'], ['a'], { pads: [1, 1, 1, 1] }, 'conv'),
      node('Elu', ['a'], ['e'], {}, 'elu1'),
      node('GlobalMaxPool', ['e'], ['g'], {}, 'gmp'),
      node('Flatten', ['g'], ['f']),
      node('Softplus', ['f'], ['h'], {}, 'sp1'),
      node('Gemm', ['h', 'fc'], ['logits'], { transB: 1 }, 'fc'),
    ],
    inits: [floatTensor('w', [3, 2, 3, 3], randn(rng, [3, 2, 3, 3])), floatTensor('fc', [2, 3], randn(rng, [2, 3]))],
  });
  assert.throws(
    () => buildTrainingGraph(m, { batchSize: 2, file: 'm.onnx' }),
    (e: unknown) =>
      isMaxqError(e) &&
      e.kind === 'input' &&
      e.file === 'm.onnx' &&
      e.message === 'm.onnx: no gradient rule for 3 nodes on the training path: Elu ×1 (elu1); GlobalMaxPool ×1 (gmp); Softplus ×1 (sp1) (--json lists every node)' &&
      JSON.stringify(e.details) === JSON.stringify({ missingGradientRules: [
        { op: 'Elu', count: 1, nodes: ['elu1'] }, { op: 'GlobalMaxPool', count: 1, nodes: ['gmp'] }, { op: 'Softplus', count: 1, nodes: ['sp1'] },
      ] }),
  );
});

test('a long refusal stays one short line: op types with counts and the first node names; every node in details', () => {
  const rng = new Rng(3);
  const nodes = [node('Conv', ['input', 'w'], ['a0'], { pads: [1, 1, 1, 1] }, 'conv')];
  const ops = ['Elu', 'Softplus', 'Softsign', 'Selu', 'Celu', 'ThresholdedRelu', 'Mish', 'Sin', 'Cos', 'Abs'];
  let x = 'a0';
  for (let i = 0; i < 60; i++) {
    const op = ops[i % ops.length];
    nodes.push(node(op, [x], [`a${i + 1}`], {}, `/blocks/block.${i}/${op.toLowerCase()}/${op}`));
    x = `a${i + 1}`;
  }
  nodes.push(node('GlobalAveragePool', [x], ['g']), node('Flatten', ['g'], ['logits']));
  const m = model({ inputs: [['input', [1, 2, 4, 4]]], outputs: ['logits'], nodes, inits: [floatTensor('w', [3, 2, 3, 3], randn(rng, [3, 2, 3, 3]))] });
  assert.throws(() => buildTrainingGraph(m, { batchSize: 2 }), (e: unknown) => {
    assert.ok(isMaxqError(e));
    assert.ok(e.message.length <= 400, `${e.message.length} characters: ${e.message}`);
    assert.match(e.message, /^no gradient rule for 60 nodes on the training path: Elu ×6 \(\/blocks\/block\.0\/elu\/Elu, \/blocks\/block\.10\/elu\/Elu, …\); Softplus ×6 /);
    assert.match(e.message, /; and \d+ more op types \(--json lists every node\)$/);
    const listed = (e.details!.missingGradientRules as { nodes: string[] }[]).flatMap((g) => g.nodes);
    assert.equal(listed.length, 60);
    return true;
  });
});

test('an op without a rule on the gradient path is reported even when shapes are known', () => {
  const rng = new Rng(2);
  const m = model({
    inputs: [['input', [1, 2, 4, 4]]],
    outputs: ['logits'],
    nodes: [
      node('Conv', ['input', 'w'], ['a'], {}, 'conv'),
      node('GlobalMaxPool', ['a'], ['g'], {}, 'gmp'),
      node('Flatten', ['g'], ['logits']),
    ],
    inits: [floatTensor('w', [3, 2, 3, 3], randn(rng, [3, 2, 3, 3]))],
  });
  assert.throws(() => buildTrainingGraph(m, { batchSize: 2 }), /no gradient rule for 1 node on the training path: GlobalMaxPool ×1 \(gmp\) \(--json lists every node\)$/);
});

test('bad options are usage errors', () => {
  const m = smallCnn();
  for (const o of [{ batchSize: 0 }, { batchSize: 2, labelSmoothing: 1 }, { batchSize: 2, temperature: 0 }, { batchSize: 2, kdAlpha: 2 }, { batchSize: 2, inputShape: [3, 9, 9] }]) {
    assert.throws(() => buildTrainingGraph(m, o), (e: unknown) => isMaxqError(e) && e.kind === 'usage', JSON.stringify(o));
  }
});

test('BN with a single value per channel cannot train', () => {
  const m = model({
    inputs: [['input', [1, 2, 1, 1]]],
    outputs: ['logits'],
    nodes: [
      node('BatchNormalization', ['input', 's', 'b', 'm', 'v'], ['y']),
      node('Flatten', ['y'], ['logits']),
    ],
    inits: [floatTensor('s', [2], [1, 1]), floatTensor('b', [2], [0, 0]), floatTensor('m', [2], [0, 0]), floatTensor('v', [2], [1, 1])],
  });
  assert.throws(() => buildTrainingGraph(m, { batchSize: 1 }), (e: unknown) => isMaxqError(e) && /more than one value per channel/.test(e.message));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttrValue } from '../../../../src/core/onnx/builder';
import { onnx } from '../../../../src/core/onnx/proto';
import { ConvDwMode, ConvDxMode, FormulationOptions } from '../../../../src/core/training/graph/context';
import { buildVjpGraph } from '../../../../src/core/training/graph/vjp';
import { Rng, assertReports, checkVjp, f32, floatTensor, model, node, randn, session } from './helpers';

interface ConvCase {
  label: string;
  x: number[];
  w: number[];
  bias?: boolean;
  attrs: Record<string, AttrValue>;
}

function convModel(c: ConvCase, rng: Rng) {
  const inits = [floatTensor('W', c.w, randn(rng, c.w, 0.5))];
  const inputs = ['X', 'W'];
  if (c.bias) {
    inits.push(floatTensor('B', [c.w[0]], randn(rng, [c.w[0]])));
    inputs.push('B');
  }
  return model({ inputs: [['X', c.x]], outputs: ['Y'], nodes: [node('Conv', inputs, ['Y'], c.attrs, 'conv')], inits });
}

const cases: ConvCase[] = [
  { label: '3x3 s1 p1 + bias', x: [2, 3, 6, 6], w: [4, 3, 3, 3], bias: true, attrs: { pads: [1, 1, 1, 1] } },
  { label: '3x3 s2 p1 H8 (output_padding 1)', x: [2, 3, 8, 8], w: [4, 3, 3, 3], bias: true, attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: '3x3 s2 p1 H7 (output_padding 0)', x: [2, 3, 7, 7], w: [4, 3, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: '1x1 s2 (X cut in dW)', x: [2, 4, 6, 6], w: [5, 4, 1, 1], bias: true, attrs: { strides: [2, 2] } },
  { label: '1x1 s1', x: [2, 4, 5, 5], w: [3, 4, 1, 1], attrs: {} },
  { label: '3x3 s1 p1 H9 (map ≥ 64: the batched dW by default)', x: [2, 3, 9, 9], w: [4, 3, 3, 3], bias: true, attrs: { pads: [1, 1, 1, 1] } },
  { label: '3x3 s2 p1 H17 (map ≥ 64, strided: batched by default)', x: [2, 2, 17, 17], w: [3, 2, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: '3x3 s1 p1 H20 (20 rows and more: the split dW by default)', x: [2, 2, 20, 20], w: [3, 2, 3, 3], bias: true, attrs: { pads: [1, 1, 1, 1] } },
  { label: 'stride 1, asymmetric pads, dilations 2×1, 3x2 kernel', x: [2, 2, 9, 7], w: [3, 2, 3, 2], attrs: { dilations: [2, 1], pads: [2, 0, 1, 1] } },
  { label: '1x3 s1 p(0,1) H24 (one kernel row: batched, not split)', x: [2, 2, 24, 24], w: [3, 2, 1, 3], attrs: { pads: [0, 1, 0, 1] } },
  { label: '3x1 s1 p(1,0) H24 (one kernel column: batched, not split)', x: [2, 2, 24, 24], w: [3, 2, 3, 1], attrs: { pads: [1, 0, 1, 0] } },
  { label: '7x7 s2 p3 stem', x: [1, 3, 11, 11], w: [2, 3, 7, 7], attrs: { strides: [2, 2], pads: [3, 3, 3, 3] } },
  { label: 'asymmetric pads, rectangular kernel and strides', x: [2, 2, 7, 6], w: [3, 2, 3, 2], bias: true, attrs: { strides: [2, 1], pads: [0, 1, 2, 0] } },
  { label: 'dilation 2, p2', x: [2, 2, 7, 7], w: [3, 2, 3, 3], bias: true, attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] } },
  { label: 'dilation 2, stride 2, p1', x: [2, 2, 9, 8], w: [3, 2, 3, 3], attrs: { dilations: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: 'depthwise 3x3 s1 p1', x: [2, 4, 5, 5], w: [4, 1, 3, 3], bias: true, attrs: { group: 4, pads: [1, 1, 1, 1] } },
  { label: 'depthwise 3x3 s2 p1', x: [2, 4, 7, 7], w: [4, 1, 3, 3], attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: 'depthwise multiplier 2', x: [2, 3, 5, 5], w: [6, 1, 3, 3], bias: true, attrs: { group: 3, pads: [1, 1, 1, 1] } },
  { label: 'grouped g=2 3x3 s2', x: [2, 4, 7, 7], w: [6, 2, 3, 3], bias: true, attrs: { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: 'grouped g=2 dilated s1', x: [2, 4, 7, 7], w: [4, 2, 3, 3], attrs: { group: 2, dilations: [2, 2], pads: [2, 2, 2, 2] } },
  { label: 'auto_pad SAME_UPPER s2 H8', x: [2, 2, 8, 8], w: [3, 2, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { label: 'auto_pad SAME_LOWER s2 H7 k4', x: [2, 2, 7, 7], w: [3, 2, 4, 4], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] } },
  { label: 'auto_pad SAME_UPPER s1 k2', x: [2, 2, 5, 5], w: [3, 2, 2, 2], attrs: { auto_pad: 'SAME_UPPER' } },
  { label: 'auto_pad VALID s2', x: [2, 2, 8, 7], w: [3, 2, 3, 3], attrs: { auto_pad: 'VALID', strides: [2, 2] } },
];

const TOL = 1e-4;

for (const [ci, c] of cases.entries()) {
  test(`Conv ${c.label}: dX, dW, dB vs finite differences (default formulation)`, async () => {
    const rng = new Rng(100 + ci);
    const m = convModel(c, rng);
    const wrt = ['X', 'W', ...(c.bias ? ['B'] : [])];
    const reports = await checkVjp({ model: m, wrt, eps: 0.5, tol: TOL, seed: ci });
    assertReports(assert, reports, TOL, c.label);
  });
}

const dxModes: ConvDxMode[] = ['convtranspose', 'flip'];
const dwModes: ConvDwMode[] = ['conv', 'im2col', 'onehot', 'batched', 'split', 'kkgemm', 'slices'];
const byLabel = (prefix: string): ConvCase => cases.find((c) => c.label.startsWith(prefix))!;
const formCases = ['3x3 s1 p1 +', '3x3 s2 p1 H8', '1x1 s2', '1x1 s1', 'asymmetric', 'dilation 2, p2', 'dilation 2, stride 2', 'depthwise 3x3 s1', 'depthwise 3x3 s2', 'depthwise multiplier', 'grouped g=2 3x3', 'grouped g=2 dilated', 'auto_pad SAME_LOWER', 'stride 1, asymmetric', '1x3', '3x1'].map(byLabel);
for (const [ci, c] of formCases.entries()) {
  test(`Conv ${c.label}: every dX/dW formulation agrees with finite differences`, async () => {
    for (const dx of dxModes) {
      for (const dw of dwModes) {
        const rng = new Rng(300 + ci);
        const m = convModel(c, rng);
        const reports = await checkVjp({ model: m, wrt: ['X', 'W'], eps: 0.5, tol: TOL, seed: ci, probes: 24, formulation: { conv: { dx, dw } } });
        assertReports(assert, reports, TOL, `${c.label} dx=${dx} dw=${dw}`);
      }
    }
  });
}

// The batched and split dW cut the batch into chunks whose per-image tensors stay under a byte bound; a 1-byte
// bound gives one image per chunk: one chunk for one image (no Split), three chunks for three.
for (const [ci, c] of ['3x3 s1 p1 +', '3x3 s2 p1 H8', '1x1 s2', '1x1 s1', 'dilation 2, stride 2', 'asymmetric', 'stride 1, asymmetric'].map(byLabel).entries()) {
  test(`Conv ${c.label}: batched and split dW in chunks of one image agree with finite differences`, async () => {
    for (const dw of ['batched', 'split'] as const) {
      for (const n of [1, 3]) {
        const rng = new Rng(500 + ci);
        const m = convModel({ ...c, x: [n, ...c.x.slice(1)] }, rng);
        const reports = await checkVjp({ model: m, wrt: ['W'], eps: 0.5, tol: TOL, seed: ci, probes: 24, formulation: { conv: { dw }, batchedMaxBytes: 1 } });
        assertReports(assert, reports, TOL, `${c.label} ${dw} N=${n}`);
      }
    }
  });
}

/** The op types of the dW graph of `m` under `formulation`. */
function dwOpTypes(m: onnx.IModelProto, formulation: FormulationOptions = {}): string[] {
  return onnx.ModelProto.decode(buildVjpGraph(m, { wrt: ['W'], formulation }).modelBytes).graph!.node!.map((n) => n.opType!);
}

test('Conv: the batched dW splits the batch only past its byte bound', async () => {
  const rng = new Rng(9);
  const m = convModel(byLabel('3x3 s1 p1 H9'), rng);
  const ops = (formulation: FormulationOptions) => dwOpTypes(m, formulation);
  const whole = ops({ conv: { dw: 'batched' } });
  assert.equal(whole.filter((o) => o === 'FusedMatMul').length, 1);
  assert.ok(!whole.includes('Split'));
  const split = ops({ conv: { dw: 'batched' }, batchedMaxBytes: 1 });
  assert.equal(split.filter((o) => o === 'FusedMatMul').length, 2, 'one product per image');
  assert.equal(split.filter((o) => o === 'Split').length, 2, 'X and dY split once each');
  assert.deepEqual(ops({}), whole, 'a 9×9 map takes the batched dW by default');
});

test('Conv: the default dW form follows the output map and the kernel', () => {
  const ops = (label: string) => dwOpTypes(convModel(byLabel(label), new Rng(11)));
  // k×k on a map under 64 positions: the one-hot columns, one Transpose and one Gemm; no Pad, Slice or Concat.
  const small = ops('3x3 s1 p1 +');
  assert.equal(small.filter((o) => o === 'Conv').length, 2, 'the forward conv and the one-hot column conv');
  assert.ok(small.includes('Transpose') && small.includes('Gemm'));
  for (const o of ['Pad', 'Slice', 'Concat', 'FusedMatMul']) assert.ok(!small.includes(o), `no ${o} in ${small.join(' ')}`);
  // k×k on a map of 64 positions or more: image by image, the kh·kw one-hot column conv (9 rows: 2 extra rows
  // would be 22 % more arithmetic for the split form; stride 2 cannot take it).
  for (const label of ['3x3 s1 p1 H9', '3x3 s2 p1 H17']) {
    const b = ops(label);
    assert.equal(b.filter((o) => o === 'FusedMatMul').length, 1, label);
    assert.equal(b.filter((o) => o === 'Conv').length, 2, `${label}: the forward conv and one column conv`);
  }
  // From 20 rows: the split form, one 1×3 shift conv of X and one 3×1 shift conv of dY, and the [K, 3, C, 3] sum
  // transposed into place.
  const split = ops('3x3 s1 p1 H20');
  assert.equal(split.filter((o) => o === 'FusedMatMul').length, 1);
  assert.equal(split.filter((o) => o === 'Conv').length, 3, split.join(' '));
  assert.ok(split.includes('Transpose'));
  // 1×3 and 3×1 kernels on the same map: one side of the split would be a plain copy, so batched.
  for (const label of ['1x3', '3x1']) {
    const b = ops(label);
    assert.equal(b.filter((o) => o === 'Conv').length, 2, `${label}: ${b.join(' ')}`);
    assert.ok(!b.includes('Transpose'), `${label}: ${b.join(' ')}`);
  }
  // 1×1: one Gemm over the whole batch.
  for (const label of ['1x1 s1', '1x1 s2']) {
    const pw = ops(label);
    assert.ok(pw.includes('Gemm') && !pw.includes('FusedMatMul'), `${label}: ${pw.join(' ')}`);
  }
});

test('Conv: the onehot and im2col dW build the same column matrix, so their dW agree bit for bit', async () => {
  for (const label of ['3x3 s1 p1 +', '3x3 s2 p1 H8', 'asymmetric', 'dilation 2, stride 2']) {
    const m = convModel(byLabel(label), new Rng(21));
    const grads = async (dw: ConvDwMode): Promise<Float32Array> => {
      const g = buildVjpGraph(m, { wrt: ['W'], formulation: { conv: { dw } } });
      const rng = new Rng(5); // the same inputs and seed for both forms
      const feeds = Object.fromEntries(g.inputs.map((i) => [i.name, f32(randn(rng, i.dims), i.dims)]));
      for (const [out, seed] of Object.entries(g.seedInputs)) feeds[seed] = f32(randn(rng, g.outputDims[out]), g.outputDims[out]);
      return (await (await session(g.modelBytes, 2)).run(feeds))[g.gradOutputs.W].data as Float32Array;
    };
    assert.deepEqual(await grads('onehot'), await grads('im2col'), label);
  }
});

test('Conv: per-node formulation and the chooser callback are applied', async () => {
  const rng = new Rng(7);
  const c = cases[0];
  const m = convModel(c, rng);
  const seen: string[] = [];
  const reports = await checkVjp({
    model: m,
    wrt: ['X', 'W'],
    eps: 0.5,
    tol: TOL,
    formulation: {
      perNode: { conv: { dw: 'kkgemm' } },
      choose: (layer) => {
        seen.push(`${layer.node}:${layer.weightDims.join('x')}:${layer.pads.join(',')}`);
        return { dx: 'flip' };
      },
    },
  });
  assertReports(assert, reports, TOL, 'per-node');
  assert.deepEqual(seen, ['conv:4x3x3x3:1,1,1,1']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttrValue, floatTensor, int64Tensor, tensor } from '../../../../src/core/onnx/builder';
import { onnx } from '../../../../src/core/onnx/proto';
import { buildVjpGraph } from '../../../../src/core/training/graph/vjp';
import { prepareForward } from '../../../../src/core/training/graph/prepare';
import { Rng, assertReports, checkVjp, model, node, randn } from './helpers';

const TOL = 1e-4;
const BIG = 2 ** 62;

/** FD check of every tensor in wrt; all index ops are linear in each perturbed tensor, so eps 0.5 is exact. */
async function check(label: string, m: onnx.IModelProto, wrt: string[], seed = 1): Promise<void> {
  assertReports(assert, await checkVjp({ model: m, wrt, eps: 0.5, tol: TOL, seed, probes: 40 }), TOL, label);
}

/** One op on X (plus constant inputs) as a model. */
function one(op: string, x: number[], ins: (onnx.ITensorProto | '')[], attrs: Record<string, AttrValue> = {}, outputs = ['Y'], opset = 17): onnx.IModelProto {
  const names = ins.map((t) => (t === '' ? '' : t.name!));
  return model({
    inputs: [['X', x]],
    outputs,
    nodes: [node(op, ['X', ...names], outputs, attrs, 'op')],
    inits: ins.filter((t): t is onnx.ITensorProto => t !== ''),
    opset,
  });
}

const i64 = int64Tensor;
const f32 = (name: string, v: number[]) => floatTensor(name, [v.length], v);

const sliceCases: [string, number[], number[], number[], number[] | undefined, number[] | undefined][] = [
  ['channel split, second half (ShuffleNet)', [2, 4, 3, 3], [2], [4], [1], undefined],
  ['negative starts/ends on the last axis', [2, 3, 5], [-3], [-1], [-1], undefined],
  ['steps 2 on H and W, odd H overshoot (Swin patch merging)', [1, 2, 5, 6], [0, 1], [BIG, 6], [2, 3], [2, 2]],
  ['step 3 from 1, axes input omitted (\'\')', [7, 2], [1, 0], [7, 2], undefined, [3, 1]],
  ['plain prefix, no axes or steps', [5, 3], [0, 1], [3, 3], undefined, undefined],
  ['flip: step -1', [2, 4, 3], [-1], [-BIG], [1], [-1]],
  ['step -2 from 4 down to 1, and step 2 on another axis', [2, 6, 5], [4, 0], [0, 5], [1, 2], [-2, 2]],
];

for (const [label, x, starts, ends, axes, steps] of sliceCases) {
  test(`Slice ${label}: dX vs finite differences`, async () => {
    const ins: (onnx.ITensorProto | '')[] = [i64('s', starts), i64('e', ends)];
    if (axes || steps) ins.push(axes ? i64('a', axes) : '');
    if (steps) ins.push(i64('st', steps));
    await check(`Slice ${label}`, one('Slice', x, ins), ['X']);
  });
}

test('Split (opset 13 split input, both outputs) and equal split without sizes', async () => {
  await check('Split sizes', one('Split', [2, 4, 3], [i64('sp', [1, 3])], { axis: 1 }, ['A', 'B']), ['X']);
  await check('Split equal', one('Split', [2, 3, 4], [], { axis: -1 }, ['A', 'B']), ['X']);
});

test('Split opset 18 num_outputs, uneven (3,3,1), middle output unused (zero gradient)', async () => {
  const m = model({
    inputs: [['X', [2, 7]]],
    outputs: ['A', 'C'],
    nodes: [node('Split', ['X'], ['A', 'B', 'C'], { axis: 1, num_outputs: 3 }, 'split')],
    opset: 18,
  });
  await check('Split num_outputs', m, ['X']);
});

const gatherCases: [string, number[], onnx.ITensorProto, number][] = [
  ['scalar index 0 on axis 1 (ViT class token)', [2, 3, 4], i64('i', [0], []), 1],
  ['scalar index -1 on axis 0', [3, 2, 2], i64('i', [-1], []), 0],
  ['1-D range [1, 3] on axis 2', [2, 2, 5], i64('i', [1, 3]), 2],
  ['1-D descending [3, 1, -1] on axis 1', [2, 4], i64('i', [3, 1, -1]), 1],
  ['1-D repeated [2, 0, 2, -3] on axis 1', [2, 3, 2], i64('i', [2, 0, 2, -3]), 1],
  ['2-D indices on axis 0', [3, 4], i64('i', [0, 2, 2, 1], [2, 2]), 0],
];

for (const [label, x, idx, axis] of gatherCases) {
  test(`Gather ${label}: dX vs finite differences`, async () => {
    await check(`Gather ${label}`, one('Gather', x, [idx], { axis }), ['X']);
  });
}

test('Gather with 70 runtime-valued indices (int64 and int32, negatives): a relative-position-bias table', async () => {
  const rng = new Rng(9);
  const idx = Array.from({ length: 70 }, () => rng.int(10) - 5);
  const m = model({
    inputs: [['X', [5, 2]]],
    outputs: ['Y', 'Z'],
    nodes: [node('Gather', ['X', 'i'], ['Y'], { axis: 0 }), node('Gather', ['X', 'j'], ['Z'], { axis: 0 })],
    inits: [i64('i', idx, [7, 10]), tensor('j', [70], Int32Array.from(idx.reverse()))],
  });
  await check('Gather runtime indices', m, ['X']);
});

test('GatherElements and GatherND (repeated and negative indices accumulate)', async () => {
  await check('GatherElements', one('GatherElements', [3, 4], [i64('i', [0, 2, 2, 1, -1, 0], [3, 2])], { axis: 1 }), ['X']);
  await check('GatherND', one('GatherND', [3, 4, 2], [i64('i', [1, 3, 0, 2, 1, -1], [3, 2])]), ['X']);
});

test('Expand: [1,1,3] → [2,4,3], and [3,1] → [2,3,4] (rank grows)', async () => {
  await check('Expand same rank', one('Expand', [1, 1, 3], [i64('sh', [2, 4, 3])]), ['X']);
  await check('Expand rank grows', one('Expand', [3, 1], [i64('sh', [2, 1, 4])]), ['X']);
});

test('Tile: repeats [2, 1] and [3, 1, 2]', async () => {
  await check('Tile 2-D', one('Tile', [2, 3], [i64('r', [2, 1])]), ['X']);
  await check('Tile 3-D', one('Tile', [1, 2, 2], [i64('r', [3, 1, 2])]), ['X']);
});

function scatterModel(op: string, idx: onnx.ITensorProto, data: number[], upd: number[], attrs: Record<string, AttrValue> = {}): onnx.IModelProto {
  return model({
    inputs: [['D', data], ['U', upd]],
    outputs: ['Y'],
    nodes: [node(op, ['D', 'i', 'U'], ['Y'], attrs, 'scatter')],
    inits: [idx],
  });
}

test('ScatterND (reduction none and add): dData and dUpdates vs finite differences', async () => {
  // Swin-style window write: two [3]-rows of a [2,4,3] map.
  const idx = i64('i', [0, 1, 1, -1], [2, 2]);
  await check('ScatterND none', scatterModel('ScatterND', idx, [2, 4, 3], [2, 3]), ['D', 'U']);
  await check('ScatterND add', scatterModel('ScatterND', idx, [2, 4, 3], [2, 3], { reduction: 'add' }), ['D', 'U']);
  await check('ScatterND slabs', scatterModel('ScatterND', i64('i', [2, 0], [2, 1]), [3, 2, 3], [2, 2, 3]), ['D', 'U']);
});

test('ScatterElements (axis 1): dData and dUpdates vs finite differences', async () => {
  await check('ScatterElements', scatterModel('ScatterElements', i64('i', [2, 0, 1, 3], [2, 2]), [2, 4], [2, 2], { axis: 1 }), ['D', 'U']);
});

test('ScatterND with reduction mul has no gradient: the error names the node', () => {
  const m = scatterModel('ScatterND', i64('i', [0], [1, 1]), [2, 3], [1, 3], { reduction: 'mul' });
  assert.throws(() => buildVjpGraph(m, { wrt: ['U'] }), /scatter \(ScatterND\): no gradient rule for reduction "mul"/);
});

interface ResizeCase {
  label: string;
  x: number[];
  attrs: Record<string, AttrValue>;
  scales?: number[];
  sizes?: number[];
  opset?: number;
}

const resizeCases: ResizeCase[] = [
  { label: 'nearest ×2, PyTorch export (asymmetric, floor)', x: [2, 2, 3, 3], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, scales: [1, 1, 2, 2] },
  { label: 'nearest ×3 × 2, ONNX defaults (half_pixel, round_prefer_floor)', x: [1, 2, 2, 3], attrs: { mode: 'nearest' }, scales: [1, 1, 3, 2] },
  { label: 'nearest ×2, asymmetric, round_prefer_ceil (shifted blocks)', x: [1, 2, 3, 3], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'round_prefer_ceil' }, scales: [1, 1, 2, 2] },
  { label: 'nearest sizes 3×4 → 5×7 (non-integer)', x: [1, 2, 3, 4], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, sizes: [1, 2, 5, 7] },
  { label: 'nearest ×0.5 down, and sizes 6 → 4', x: [1, 2, 6, 6], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, sizes: [1, 2, 3, 4] },
  { label: 'linear ×2, align_corners', x: [2, 2, 3, 4], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, sizes: [2, 2, 6, 8] },
  { label: 'linear ×2, half_pixel', x: [1, 2, 3, 4], attrs: { mode: 'linear' }, scales: [1, 1, 2, 2] },
  { label: 'linear 3×4 → 7×5, pytorch_half_pixel', x: [1, 2, 3, 4], attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, sizes: [1, 2, 7, 5] },
  { label: 'linear ×0.5 down, asymmetric', x: [1, 2, 6, 4], attrs: { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }, scales: [1, 1, 0.5, 0.5] },
  { label: 'opset 18 axes [2, 3], nearest ×2 via scales', x: [1, 2, 3, 2], attrs: { mode: 'nearest', axes: [2, 3], coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, scales: [2, 2], opset: 18 },
  { label: 'nearest ×0.6 × 1.7, half_pixel, ceil', x: [1, 2, 5, 5], attrs: { mode: 'nearest', nearest_mode: 'ceil' }, scales: [1, 1, 0.6, 1.7] },
  { label: 'nearest 5-D ×2 on D, H, W', x: [1, 2, 2, 3, 2], attrs: { mode: 'nearest' }, scales: [1, 1, 2, 2, 2] },
  { label: 'nearest on the channel axis', x: [2, 3, 2, 2], attrs: { mode: 'nearest' }, scales: [1, 2, 1, 1] },
  { label: 'linear ×0.6 × 1.7, half_pixel_symmetric', x: [1, 2, 5, 5], attrs: { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' }, scales: [1, 1, 0.6, 1.7], opset: 19 },
  { label: 'linear ×1.1 on 4 (sizes unchanged: a copy)', x: [1, 1, 4, 4], attrs: { mode: 'linear' }, scales: [1, 1, 1.1, 1.1] },
  { label: 'linear rank 3, last axis ×2', x: [2, 3, 5], attrs: { mode: 'linear' }, scales: [1, 1, 2] },
  { label: 'linear NHWC ×2', x: [1, 3, 4, 2], attrs: { mode: 'linear' }, scales: [1, 2, 2, 1] },
  { label: 'nearest, opset 18 sizes on axes [2, 3] with keep_aspect_ratio_policy not_larger (2×3 → 3×4)', x: [1, 2, 2, 3], attrs: { mode: 'nearest', axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' }, sizes: [4, 4], opset: 18 },
  { label: 'linear, keep_aspect_ratio_policy not_smaller (2×3 → 4×6)', x: [1, 2, 2, 3], attrs: { mode: 'linear', axes: [2, 3], keep_aspect_ratio_policy: 'not_smaller' }, sizes: [4, 4], opset: 18 },
  { label: 'cubic ×2, half_pixel', x: [1, 2, 4, 4], attrs: { mode: 'cubic' }, scales: [1, 1, 2, 2] },
  { label: 'cubic 3×4 → 5×7, align_corners (PyTorch bicubic)', x: [1, 2, 3, 4], attrs: { mode: 'cubic', coordinate_transformation_mode: 'align_corners' }, sizes: [1, 2, 5, 7] },
  { label: 'cubic exclude_outside, a = -0.5, asymmetric, ×1.5 and ×0.5', x: [1, 1, 4, 6], attrs: { mode: 'cubic', exclude_outside: 1, cubic_coeff_a: -0.5, coordinate_transformation_mode: 'asymmetric' }, scales: [1, 1, 1.5, 0.5] },
];

function resizeModel(c: ResizeCase): onnx.IModelProto {
  const ins: (onnx.ITensorProto | '')[] = [''];
  ins.push(c.scales ? f32('sc', c.scales) : '');
  if (c.sizes) ins.push(i64('sz', c.sizes));
  return one('Resize', c.x, ins, c.attrs, ['Y'], c.opset ?? 17);
}

for (const [ci, c] of resizeCases.entries()) {
  test(`Resize ${c.label}: dX vs finite differences`, async () => {
    await check(`Resize ${c.label}`, resizeModel(c), ['X'], 20 + ci);
  });
}

test('Resize without a gradient rule (antialias, tf_crop_and_resize) fails naming the node', () => {
  const bad: Record<string, AttrValue>[] = [{ mode: 'cubic', antialias: 1 }, { mode: 'linear', antialias: 1 }, { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize' }];
  for (const attrs of bad) {
    const m = resizeModel({ label: '', x: [1, 1, 2, 2], attrs, scales: [1, 1, 2, 2], opset: 18 });
    assert.throws(() => buildVjpGraph(m, { wrt: ['X'] }), /op \(Resize\): no gradient rule for mode/, JSON.stringify(attrs));
  }
});

test('Shape arithmetic through Split, GatherND, Tile, Range, Expand and ScatterND folds to constants', async () => {
  // target = [N, C, W, -1] built from Shape(X) the long way round: every shape op folds, one Reshape is left.
  const m = model({
    inputs: [['X', [2, 3, 4, 5]]],
    outputs: ['Y'],
    nodes: [
      node('Shape', ['X'], ['s']),
      node('Split', ['s', 'two2'], ['nc', 'hw'], { axis: 0 }),
      node('GatherND', ['hw', 'ix10'], ['wh']),
      node('Tile', ['nc', 'two1'], ['ncnc']),
      node('Range', ['zero', 'two', 'one'], ['r']),
      node('Gather', ['ncnc', 'r'], ['nc2']),
      node('Expand', ['m1', 'one1'], ['upd']),
      node('ScatterND', ['wh', 'ix1', 'upd'], ['wm']),
      node('Concat', ['nc2', 'wm'], ['target'], { axis: 0 }),
      node('Reshape', ['X', 'target'], ['Y']),
    ],
    inits: [
      i64('two2', [2, 2]), i64('ix10', [1, 0], [2, 1]), i64('two1', [2]), i64('zero', [0], []), i64('two', [2], []),
      i64('one', [1], []), i64('m1', [-1]), i64('one1', [1]), i64('ix1', [1], [1, 1]),
    ],
  });
  const prep = prepareForward(m, { inputDims: new Map([['X', [2, 3, 4, 5]]]), lift: [], bnStats: false });
  assert.deepEqual(prep.infos.get('target')!.value, [2, 3, 5, -1]);
  assert.deepEqual(prep.infos.get('Y')!.dims, [2, 3, 5, 4]);
  assert.deepEqual(prep.nodes.map((n) => n.opType), ['Reshape']);
  await check('folded Reshape', m, ['X']);
});

const param = (rng: Rng, name: string, dims: number[]) => floatTensor(name, dims, randn(rng, dims, 0.5));

for (const splitBy of ['Split', 'Slice'] as const) {
  test(`ShuffleNetV2 unit (channel split by ${splitBy}, branch convs, Concat, channel shuffle): parameter gradients`, async () => {
    const rng = new Rng(splitBy === 'Split' ? 31 : 32);
    const split =
      splitBy === 'Split'
        ? [node('Split', ['y', 'half'], ['x1', 'x2'], { axis: 1 })]
        : [node('Slice', ['y', 'z1', 'h1', 'ax1'], ['x1']), node('Slice', ['y', 'h1', 'big', 'ax1'], ['x2'])];
    const m = model({
      inputs: [['X', [2, 4, 4, 4]]],
      outputs: ['Y'],
      nodes: [
        node('Conv', ['X', 'W0'], ['y'], { kernel_shape: [1, 1] }),
        ...split,
        node('Conv', ['x2', 'W1', 'B1'], ['b1'], { kernel_shape: [1, 1] }),
        node('Conv', ['b1', 'W2'], ['b2'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 4 }),
        node('Concat', ['x1', 'b2'], ['cat'], { axis: 1 }),
        node('Reshape', ['cat', 's5'], ['r5']),
        node('Transpose', ['r5'], ['t5'], { perm: [0, 2, 1, 3, 4] }),
        node('Reshape', ['t5', 's4'], ['Y']),
      ],
      inits: [
        param(rng, 'W0', [8, 4, 1, 1]), param(rng, 'W1', [4, 4, 1, 1]), param(rng, 'B1', [4]), param(rng, 'W2', [4, 1, 3, 3]),
        i64('half', [4, 4]), i64('z1', [0]), i64('h1', [4]), i64('big', [BIG]), i64('ax1', [1]),
        i64('s5', [2, 2, 4, 4, 4]), i64('s4', [2, 8, 4, 4]),
      ],
    });
    await check(`ShuffleNet unit (${splitBy})`, m, ['W0', 'W1', 'B1', 'W2']);
  });
}

test('ViT head: class token Expand + Concat with patch embeddings, token mixing, Gather index 0 → MatMul', async () => {
  const rng = new Rng(33);
  const m = model({
    inputs: [['P', [2, 3, 4]]],
    outputs: ['Y'],
    nodes: [
      node('MatMul', ['P', 'We'], ['e0']),
      node('Add', ['e0', 'be'], ['emb']),
      // token.expand(n, 1, D), the batch size read from the input's shape (folds to a constant).
      node('Shape', ['P'], ['ps']),
      node('Gather', ['ps', 'zero'], ['n']),
      node('Unsqueeze', ['n', 'ax0'], ['n1']),
      node('Concat', ['n1', 'oneD'], ['tshape'], { axis: 0 }),
      node('Expand', ['T', 'tshape'], ['tok']),
      node('Concat', ['tok', 'emb'], ['seq'], { axis: 1 }),
      node('Add', ['seq', 'Pos'], ['seqp']),
      // Token mixing (stands in for attention) so the class token sees the patches.
      node('MatMul', ['Mix', 'seqp'], ['mixed']),
      node('Gather', ['mixed', 'zero'], ['cls'], { axis: 1 }),
      node('MatMul', ['cls', 'Wh'], ['Y']),
    ],
    inits: [
      param(rng, 'We', [4, 4]), param(rng, 'be', [4]), param(rng, 'T', [1, 1, 4]), param(rng, 'Pos', [1, 4, 4]), param(rng, 'Mix', [4, 4]), param(rng, 'Wh', [4, 3]),
      i64('zero', [0], []), i64('ax0', [0]), i64('oneD', [1, 4]),
    ],
  });
  await check('ViT head', m, ['T', 'We', 'be', 'Pos', 'Mix', 'Wh']);
});

test('FPN: top-down Conv → Resize nearest to the lateral size (sizes from Shape) → Add lateral Conv → 3×3 Conv', async () => {
  const rng = new Rng(34);
  const m = model({
    inputs: [['C', [1, 2, 4, 4]], ['D', [1, 3, 2, 2]]],
    outputs: ['Y'],
    nodes: [
      node('Conv', ['D', 'Wt'], ['top'], { kernel_shape: [1, 1] }),
      node('Conv', ['C', 'Wl', 'Bl'], ['lat'], { kernel_shape: [1, 1] }),
      node('Shape', ['top'], ['st']),
      node('Slice', ['st', 'z1', 'two1'], ['nc']),
      node('Shape', ['lat'], ['sl']),
      node('Slice', ['sl', 'm2', 'big'], ['hw']),
      node('Concat', ['nc', 'hw'], ['sizes'], { axis: 0 }),
      node('Resize', ['top', 'roi', 'scales', 'sizes'], ['up'], {
        mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor', cubic_coeff_a: -0.75,
      }),
      node('Add', ['up', 'lat'], ['sum']),
      node('Conv', ['sum', 'Wo'], ['Y'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    ],
    inits: [
      param(rng, 'Wt', [2, 3, 1, 1]), param(rng, 'Wl', [2, 2, 1, 1]), param(rng, 'Bl', [2]), param(rng, 'Wo', [2, 2, 3, 3]),
      floatTensor('roi', [0], []), floatTensor('scales', [0], []), i64('z1', [0]), i64('two1', [2]), i64('m2', [-2]), i64('big', [BIG]),
    ],
  });
  await check('FPN', m, ['Wt', 'Wl', 'Bl', 'Wo']);
});

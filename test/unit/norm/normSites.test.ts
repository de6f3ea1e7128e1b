/** Which sparsified layers get a run normalisation, which already have BatchNorm, and why the rest get none. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { discoverLayers } from '../../../src/core/layers/layerDiscovery';
import { describeNormPlan, planRunNormalisation, prepareRunNormalisation } from '../../../src/core/norm/normSites';
import { summarizeModel } from '../../../src/core/inspect';
import { writeModel } from '../../../src/core/onnx/modelWriter';
import { tempDir, writeModelFile } from '../fixtures';
import { normCasesModel } from './bnFreeFixtures';

async function casesModel(): Promise<OnnxModel> {
  return OnnxModel.load(writeModelFile(tempDir('maxq-norm-sites-'), 'cases.onnx', normCasesModel()));
}

const ALL = ['bn_conv.weight', 'cat_a.weight', 'cat_b.weight', 'plain.weight', 'nobias.weight', 'shared_a.weight', 'shared_b.weight', 'mm.weight'];

describe('run normalisation plan', () => {
  it('BN after (directly or through a channel Concat), a site, or a reason; shared biases are to be untied', async () => {
    const m = await casesModel();
    const layers = discoverLayers(m, { m: 4, include: ALL });
    const selected = layers.filter((l) => l.selected);
    assert.deepEqual(selected.map((l) => l.name).sort(), [...ALL].sort());
    const plan = planRunNormalisation(m, selected);
    assert.deepEqual(plan.followedByBn.sort(), ['bn_conv.weight', 'cat_a.weight', 'cat_b.weight']);
    assert.deepEqual(plan.sites.map((s) => [s.layer, s.bias, s.output, s.channels]), [['plain.weight', 'plain.bias', 'plain.out', 8]]);
    assert.deepEqual(plan.skipped, [
      { layer: 'nobias.weight', reason: 'the layer has no bias to fold the normalisation’s shift into' },
      { layer: 'mm.weight', reason: 'a MatMul has no bias input to fold a normalisation into' },
    ]);
    assert.deepEqual(plan.untie.map((u) => [u.node.name, u.input]), [['shared_a', 2], ['shared_b', 2]]);
    assert.equal(describeNormPlan(plan, false), '5 of 8 sparsified layers had no BatchNorm: 3 could be normalised for the run with data; 2 left as they are (nobias.weight: the layer has no bias to fold the normalisation’s shift into, …)');
  });

  it('untying gives each layer its own copy of the shared bias; writing one never changes the other', async () => {
    const m = await casesModel();
    const selected = discoverLayers(m, { m: 4, include: ALL }).filter((l) => l.selected);
    const { model, plan, untied } = prepareRunNormalisation(m, selected);
    assert.equal(untied, 2);
    assert.equal(model.path, m.path, 'same file: external data resolves as before');
    assert.deepEqual(plan.sites.map((s) => [s.layer, s.bias]), [
      ['plain.weight', 'plain.bias'], ['shared_a.weight', 'shared.bias.shared_a'], ['shared_b.weight', 'shared.bias.shared_b'],
    ]);
    const shared = await m.readFloat32('shared.bias');
    assert.deepEqual(Array.from(await model.readFloat32('shared.bias.shared_a')), Array.from(shared));
    // Every other tensor keeps its bytes; the nodes read their copies.
    for (const t of m.tensorInfos) assert.deepEqual(Array.from(await model.readFloat32(t.name)), Array.from(await m.readFloat32(t.name)), t.name);
    assert.deepEqual(model.nodes.find((n) => n.name === 'shared_b')?.input, ['nobias.relu.out', 'shared_b.weight', 'shared.bias.shared_b']);
    const out = path.join(path.dirname(m.path), 'untied-edit.onnx');
    await writeModel(model, new Map([['shared.bias.shared_a', new Float32Array(8).fill(5)]]), out);
    const written = await OnnxModel.load(out);
    assert.deepEqual(Array.from(await written.readFloat32('shared.bias.shared_a')), new Array(8).fill(5));
    assert.deepEqual(Array.from(await written.readFloat32('shared.bias.shared_b')), Array.from(shared));
    assert.equal(written.nodes.length, m.nodes.length, 'the same graph structure');
  });

  it('inspect marks BN after each layer and says what a run will do', async () => {
    const m = await casesModel();
    const s = summarizeModel(m, { pattern: '2:4', include: ALL });
    const bnAfter = Object.fromEntries(s.layers.map((l) => [l.name, l.bnAfter]));
    assert.deepEqual(bnAfter, {
      'stem.weight': false, 'bn_conv.weight': true, 'cat_a.weight': true, 'cat_b.weight': true, 'plain.weight': false,
      'nobias.weight': false, 'shared_a.weight': false, 'shared_b.weight': false, 'mm.weight': false, 'fc.weight': false,
    });
    assert.equal(s.batchNorm.nodes, 2);
    assert.equal(s.batchNorm.bnFree, 5);
    assert.equal(s.batchNorm.normalisable, 3);
    assert.equal(s.batchNorm.folded, false);
    assert.match(s.batchNorm.message ?? '', /^5 of 8 selected layers have no BatchNorm after them\. With data, a run normalises 3 of them .* Left as they are: 2 \(nobias\.weight: /);
  });
});

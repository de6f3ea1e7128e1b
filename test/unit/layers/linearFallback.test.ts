/**
 * Vision transformers have no eligible conv but their patch embedding: the default policy then selects their
 * linear layers (never the classifier or a linear stem) and says so. "Eligible" (N:M can apply) and "selected"
 * (will be sparsified) mean the same everywhere, errors included.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { discoverLayers, linearFallbackNote } from '../../../src/core/layers/layerDiscovery';
import { selectedLayers } from '../../../src/core/sparsify/layerMasks';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { MaxqError } from '../../../src/core/errors';
import { convnextBlock, vitBlock } from '../zoo/familyFixtures';
import { tempDir, tinyCnn, writeModelFile } from '../fixtures';

async function load(name: string, bytes: Uint8Array): Promise<OnnxModel> {
  return OnnxModel.load(writeModelFile(tempDir('maxq-linear-'), name, bytes));
}

describe('linear layers when no conv is selected', () => {
  it('ViT: the attention and MLP linears are selected, the patch conv and the classifier stay dense', async () => {
    const m = await load('vit.onnx', vitBlock());
    const layers = discoverLayers(m, { m: 4 });
    const selected = layers.filter((l) => l.selected);
    assert.deepEqual(selected.map((l) => l.name), ['encoder.attn.in_proj.weight', 'encoder.attn.out_proj.weight', 'encoder.mlp.0.weight', 'encoder.mlp.3.weight']);
    assert.ok(selected.every((l) => l.linearFallback && l.eligible));
    assert.match(layers.find((l) => l.name === 'conv_proj.weight')?.reason ?? '', /^first conv/);
    assert.match(layers.find((l) => l.name === 'heads.weight')?.reason ?? '', /^final classifier/);
    assert.equal(linearFallbackNote(layers), 'no eligible conv: sparsifying the 4 linear layers; --exclude to narrow');
  });

  it('an include list turns the fallback off; --exclude narrows it', async () => {
    const m = await load('vit.onnx', vitBlock());
    const named = discoverLayers(m, { m: 4, include: ['encoder.mlp.0.weight'] }).filter((l) => l.selected);
    assert.deepEqual(named.map((l) => [l.name, l.linearFallback ?? false]), [['encoder.mlp.0.weight', false]]);
    const narrowed = discoverLayers(m, { m: 4, exclude: ['encoder.attn.*'] }).filter((l) => l.selected);
    assert.deepEqual(narrowed.map((l) => l.name), ['encoder.mlp.0.weight', 'encoder.mlp.3.weight']);
  });

  it('a model with a selected conv keeps the reference policy (linear layers opt-in)', async () => {
    const m = await load('tiny-mm.onnx', tinyCnn({ matmulHead: true }));
    const layers = discoverLayers(m, { m: 4 });
    assert.deepEqual(layers.filter((l) => l.selected).map((l) => l.name), ['conv2.weight']);
    assert.match(layers.find((l) => l.name === 'mm.weight')?.reason ?? '', /^linear layer \(opt-in/);
    assert.equal(linearFallbackNote(layers), null);
  });

  it('linear layers holding more weights than the selected convs are selected too (ConvNeXt\'s MLPs)', async () => {
    const m = await load('tiny-big-mm.onnx', tinyCnn({ matmulHead: true, mmOut: 80 }));
    const layers = discoverLayers(m, { m: 4 });
    assert.deepEqual(layers.filter((l) => l.selected).map((l) => [l.name, l.linearFallback ?? false]), [['conv2.weight', false], ['mm.weight', true]]);
    assert.equal(linearFallbackNote(layers), 'the linear layers hold most of the weights: sparsifying the 1 linear layer too; --exclude to narrow');
  });

  it('ConvNeXt-like blocks whose only convs are the stem and depthwise ones get their MLP linears', async () => {
    const m = await load('convnext.onnx', convnextBlock());
    const selected = discoverLayers(m, { m: 4 }).filter((l) => l.selected);
    assert.deepEqual(selected.map((l) => l.name), ['block.pwconv1.weight', 'block.pwconv2.weight']);
  });

  it('eligible but not selected is "no layer selected", not "no eligible layer"', async () => {
    const m = await load('vit.onnx', vitBlock());
    assert.throws(() => selectedLayers(m, { pattern: NmPattern.parse('2:4'), exclude: ['encoder.*'] }), (e: unknown) => {
      assert.ok(e instanceof MaxqError);
      assert.match(e.message, /no layer selected for 2:4: 6 eligible layers are left dense by the policy \(conv_proj\.weight: first conv .*; select them with --include$/);
      return true;
    });
  });
});

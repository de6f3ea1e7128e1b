/**
 * Issue 9's CI fixtures: one small model per op pattern of torchvision's families (no PyTorch needed). For
 * each, the whole-model gradients w.r.t. every trained parameter match central finite differences (the VJP
 * harness of the gradient-rule tests, probing each parameter tensor), and a 1-epoch label-free
 * MaxQ 2:4 fine-tune at default settings completes with finite losses and writes a model that validates.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { buildTrainingGraph } from '../../../src/core/training/graph';
import { onnx } from '../../../src/core/onnx/proto';
import { sparsify } from '../../../src/core/sparsify/sparsify';
import { RunEvent } from '../../../src/core/types';
import { assertReports, checkVjp } from '../training/graph/helpers';
import { syntheticImages, tempDir, writeModelFile, writeSyntheticNpy } from '../fixtures';
import { FAMILY_PATTERNS } from './familyFixtures';

const N = 4;

/** Every parameter the training graph trains: its initializer, as the VJP harness differentiates it. */
function parameterInitializers(model: onnx.IModelProto): string[] {
  const tg = buildTrainingGraph(model, { batchSize: N });
  return [...new Set(tg.params.map((p) => p.sourceInitializer))];
}

describe('torchvision family patterns (CI fixtures)', () => {
  for (const [label, build] of Object.entries(FAMILY_PATTERNS)) {
    it(`${label}: gradients match finite differences; 1-epoch label-free fine-tune validates`, async () => {
      const bytes = build();
      // Whole-model gradients of the logits (a random seed vector) w.r.t. every parameter vs central differences.
      const m = onnx.ModelProto.decode(bytes);
      m.graph!.input![0].type!.tensorType!.shape!.dim![0] = { dimValue: N };
      const wrt = parameterInitializers(m);
      const x = syntheticImages(N, 7);
      // Two step sizes, the better per tensor: a larger ε crosses ReLU/HardSigmoid kinks (biases feeding them),
      // a smaller one drowns small gradients in float32 cancellation (the error grows as ε shrinks: noise, not a
      // wrong rule). A wrong rule fails at both.
      const [a, b] = [await checkVjp({ model: m, wrt, feeds: { input: x.x }, eps: 1e-3, tol: 5e-2, probes: 12, seed: 3 }),
        await checkVjp({ model: m, wrt, feeds: { input: x.x }, eps: 3e-3, tol: 5e-2, probes: 12, seed: 3 })];
      const reports = a.map((r, i) => (b[i].relErr < r.relErr ? b[i] : r));
      assertReports(assert, reports.filter((r) => r.fdNorm > 1e-4), 5e-2, label);
      assert.ok(reports.filter((r) => r.fdNorm > 1e-4).length >= wrt.length / 2, 'most parameters get a non-trivial check');

      const dir = tempDir('maxq-family-');
      const name = label.split(':')[0];
      const model = writeModelFile(dir, `${name}.onnx`, bytes);
      const data = writeSyntheticNpy(dir, 48, 19, false, name);
      const events: RunEvent[] = [];
      const summary = await sparsify({ model, out: path.join(dir, `${name}.2of4.onnx`), pattern: '2:4', method: 'maxq', epochs: 1, batchSize: 8, data: { kind: 'npy', inputs: data.inputs } }, (e) => events.push(e));
      const steps = events.filter((e) => e.type === 'step');
      assert.ok(steps.length >= 5 && steps.every((e) => e.type === 'step' && Number.isFinite(e.loss)), `${steps.length} steps`);
      assert.ok(summary.sparsifiedLayers >= 1);
      assert.equal(summary.validationPass, true);
      assert.notEqual(summary.numeric?.verdict.kind, 'blown-up');
    });
  }
});

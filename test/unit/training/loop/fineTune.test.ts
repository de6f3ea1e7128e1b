/**
 * The MaxQ fine-tuning loop end to end through `sparsify` (issue 3 "Training loop", issue 5 "Schedule
 * defaults") on a tiny CNN and a small synthetic labelled .npy set: the written model validates, the epoch
 * events report coverage, the step events follow the dense-fraction schedule per step or per epoch,
 * label-free distillation works, cancellation leaves nothing behind, a checkpoint resumes, and an op without
 * a gradient rule is refused before training.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { sparsify } from '../../../../src/core/sparsify/sparsify';
import { SparsifyOptions } from '../../../../src/core/sparsify/options';
import { CancelledError } from '../../../../src/core/sparsify/cancellation';
import { runRecordPath } from '../../../../src/core/sparsify/runRecord';
import { validateModel } from '../../../../src/core/validate/validateModel';
import { OnnxModel } from '../../../../src/core/onnx/onnxModel';
import { MaxqError } from '../../../../src/core/errors';
import { RunEvent, RunRecord } from '../../../../src/core/types';
import { listDir, tempDir, tinyCnn, writeModelFile, writeSyntheticNpy } from '../../fixtures';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
const ofType = <T extends RunEvent['type']>(events: RunEvent[], t: T) => events.filter((e): e is Ev<T> => e.type === t);

let dir: string, model: string, data: { inputs: string; labels?: string }, unlabelled: { inputs: string };

before(() => {
  dir = tempDir('maxq-ft-');
  model = writeModelFile(dir, 'tiny.onnx', tinyCnn());
  data = writeSyntheticNpy(dir, 96, 17);
  unlabelled = writeSyntheticNpy(dir, 96, 18, false, 'unlabelled');
});

function options(out: string, extra: Partial<SparsifyOptions> = {}): SparsifyOptions {
  return {
    model, out, pattern: '2:4', method: 'maxq', epochs: 2, batchSize: 16, lr: 0.05, seed: 1, threads: 1,
    include: ['fc.weight'], data: { kind: 'npy', inputs: data.inputs, labels: data.labels }, ...extra,
  };
}

describe('fine-tune 2 epochs 2:4 maxq (labels, per-step schedule)', () => {
  let out: string;
  let events: RunEvent[];
  let summary: Awaited<ReturnType<typeof sparsify>>;
  before(async () => {
    out = path.join(dir, 'ft.onnx');
    events = [];
    summary = await sparsify(options(out), (e) => events.push(e));
  });

  it('writes a model that validates 2:4 on the selected layers', async () => {
    assert.equal(summary.validationPass, true);
    assert.equal(summary.sparsifiedLayers, 2);
    const report = await validateModel(out, { pattern: '2:4', include: ['fc.weight'] });
    assert.equal(report.pass, true);
    assert.deepEqual(report.layers.filter((l) => l.status === 'pass').map((l) => l.name), ['conv2.weight', 'fc.weight']);
    // Everything trains, not only the sparse layers: the dense stem moved too.
    const [a, b] = await Promise.all([model, out].map(async (f) => (await OnnxModel.load(f)).readFloat32('stem.conv.weight')));
    assert.ok(Array.from(a).some((v, i) => v !== b[i]));
  });

  it('start announces the layers and the steps per epoch (86 train samples after the 10 % hold-out)', () => {
    const [start] = ofType(events, 'start');
    assert.deepEqual([start.epochs, start.stepsPerEpoch, start.layers], [2, 5, ['conv2.weight', 'fc.weight']]);
  });

  it('step events: finite loss, and denseFraction = linear s=0, t=ceil(0.25·2)=1 evaluated at epoch + step/5', () => {
    const steps = ofType(events, 'step');
    assert.equal(steps.length, 10);
    steps.forEach((e, k) => {
      assert.equal(e.globalStep, k);
      assert.equal(e.epoch, Math.floor(k / 5));
      assert.equal(e.step, k % 5);
      assert.ok(Number.isFinite(e.loss) && e.loss > 0, `loss ${e.loss}`);
      const expected = e.epoch === 0 ? 1 - e.step / 5 : 0;
      assert.ok(Math.abs(e.denseFraction - expected) < 1e-12, `step ${k}: p ${e.denseFraction}, expected ${expected}`);
    });
    assert.deepEqual(steps.slice(0, 5).map((e) => e.denseFraction), [1, 0.8, 0.6, 0.4, 0.19999999999999996]);
    // Cosine learning rate per step from the base lr.
    assert.equal(steps[0].lr, 0.05);
    for (let k = 1; k < steps.length; k++) assert.ok(steps[k].lr < steps[k - 1].lr, `lr at step ${k}`);
  });

  it('epoch events: per-layer coverage, overall coverage reaching 1 once p is 0', () => {
    const epochs = ofType(events, 'epoch');
    assert.equal(epochs.length, 2);
    const [e0, e1] = epochs;
    assert.ok(Math.abs(e0.denseFraction - 0.2) < 1e-12);
    assert.ok(e0.coverage > 0 && e0.coverage < 1, `epoch 0 coverage ${e0.coverage}`);
    assert.deepEqual(Object.keys(e0.layerCoverage).sort(), ['conv2.weight', 'fc.weight']);
    assert.equal(e1.denseFraction, 0);
    assert.equal(e1.coverage, 1);
    assert.deepEqual(e1.layerCoverage, { 'conv2.weight': 1, 'fc.weight': 1 });
    for (const e of epochs) {
      assert.ok(Number.isFinite(e.trainLoss));
      assert.ok(e.trainAccuracy !== null && e.trainAccuracy >= 0 && e.trainAccuracy <= 1);
      assert.ok(e.valAccuracy !== null && e.valLoss !== null && Number.isFinite(e.valLoss));
      assert.deepEqual(Object.keys(e.importance ?? {}).sort(), ['conv2.weight', 'fc.weight']);
    }
    // Pruned weights are the small ones.
    const imp = e1.importance!['conv2.weight'];
    assert.ok(imp.keptMeanAbs > imp.prunedMeanAbs);
    assert.equal(summary.finalAccuracy, e1.valAccuracy);
  });

  it('the run record holds the epochs and ends with done', () => {
    const record = JSON.parse(fs.readFileSync(runRecordPath(out), 'utf8')) as RunRecord;
    assert.equal(record.events.filter((e) => e.type === 'epoch').length, 2);
    assert.equal(record.events[record.events.length - 1].type, 'done');
    assert.ok(ofType(events, 'phase').some((e) => e.phase === 'fine-tune' && /2 epochs, dense-fraction schedule linear 0→1, per step/.test(e.detail ?? '')));
  });
});

describe('BN statistics after the fine-tune: re-estimated on the final model or as trained, whichever validates better', () => {
  const choice = /^BN statistics: validation accuracy ([\d.]+) % re-estimated on the fine-tuned model, ([\d.]+) % with training's running statistics; writing the (re-estimated|running) ones$/;
  for (const [label, extra] of [['sparsify fc only', {}], ['every default layer', { include: undefined }]] as const) {
    it(`${label}: both candidates are evaluated, the better one (re-estimated on a tie) is written and reported`, async () => {
      const out = path.join(dir, `bnchoice-${label.replace(/\W+/g, '-')}.onnx`);
      const events: RunEvent[] = [];
      const summary = await sparsify(options(out, extra), (e) => events.push(e));
      assert.ok(ofType(events, 'phase').some((e) => e.phase === 'BN re-estimation' && /statistics of the fine-tuned model/.test(e.detail ?? '')));
      const logs = ofType(events, 'log').map((e) => choice.exec(e.message)).filter((m): m is RegExpExecArray => m !== null);
      assert.equal(logs.length, 1, 'one line says which statistics were written');
      const [, measured, asTrained, kept] = logs[0];
      assert.equal(kept, Number(measured) >= Number(asTrained) ? 're-estimated' : 'running');
      assert.equal((100 * (summary.finalAccuracy as number)).toFixed(2), kept === 're-estimated' ? measured : asTrained);
      // Whichever is written, it keeps the dense model's output scale.
      assert.ok(summary.numeric && summary.numeric.verdict.kind !== 'blown-up', `numeric verdict ${summary.numeric?.verdict.kind}`);
    });
  }

  it('--no-bn-recalibrate writes training\'s running statistics without measuring again', async () => {
    const out = path.join(dir, 'bnchoice-off.onnx');
    const events: RunEvent[] = [];
    const summary = await sparsify(options(out, { bnRecalibrate: false }), (e) => events.push(e));
    assert.equal(ofType(events, 'phase').some((e) => e.phase === 'BN re-estimation'), false);
    assert.equal(ofType(events, 'log').some((e) => choice.test(e.message)), false);
    assert.equal(summary.finalAccuracy, ofType(events, 'epoch').at(-1)!.valAccuracy);
  });
});

describe('fine-tune a MatMul layer stored [in, out]', () => {
  it('the mask runs down the columns during training and in the written model', async () => {
    const d = tempDir('maxq-ft-mm-');
    const m = writeModelFile(d, 'mm.onnx', tinyCnn({ matmulHead: true }));
    const out = path.join(d, 'mm-2of4.onnx');
    const events: RunEvent[] = [];
    const summary = await sparsify({ ...options(out), model: m, include: ['mm*'], method: 'srste' }, (e) => events.push(e));
    assert.equal(summary.validationPass, true);
    assert.deepEqual(ofType(events, 'start')[0].layers, ['conv2.weight', 'mm.weight']);
    assert.deepEqual(ofType(events, 'epoch')[1].layerCoverage, { 'conv2.weight': 1, 'mm.weight': 1 });
    const w = await (await OnnxModel.load(out)).readFloat32('mm.weight'); // [8 in, 12 out]
    for (let col = 0; col < 12; col++) for (let g = 0; g < 2; g++) {
      let nz = 0;
      for (let r = 0; r < 4; r++) nz += w[(4 * g + r) * 12 + col] !== 0 ? 1 : 0;
      assert.equal(nz, 2, `column ${col} group ${g}`);
    }
  });
});

describe('schedule granularity and windows', () => {
  it("'epoch' holds p for a whole epoch: default window of 5 epochs is t = ceil(1.25) = 2", async () => {
    const events: RunEvent[] = [];
    const small = writeSyntheticNpy(tempDir('maxq-ft-small-'), 40, 19);
    await sparsify(options(path.join(dir, 'ep.onnx'), {
      epochs: 5, scheduleGranularity: 'epoch', include: undefined, data: { kind: 'npy', inputs: small.inputs, labels: small.labels },
    }), (e) => events.push(e));
    const steps = ofType(events, 'step'); // 36 train samples, batch 16 → 2 steps per epoch
    assert.equal(steps.length, 10);
    assert.deepEqual(steps.map((e) => e.denseFraction), [1, 1, 0.5, 0.5, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(ofType(events, 'epoch').map((e) => e.coverage).slice(2), [1, 1, 1]);
  });

  it("'step' (default) on the same run: p decays within epochs", async () => {
    const events: RunEvent[] = [];
    const small = writeSyntheticNpy(tempDir('maxq-ft-small-'), 40, 19);
    await sparsify(options(path.join(dir, 'st.onnx'), {
      epochs: 5, include: undefined, data: { kind: 'npy', inputs: small.inputs, labels: small.labels },
    }), (e) => events.push(e));
    assert.deepEqual(ofType(events, 'step').map((e) => e.denseFraction), [1, 0.75, 0.5, 0.25, 0, 0, 0, 0, 0, 0]);
  });
});

describe('label-free distillation', () => {
  it('inputs without labels: distils from the dense model, accuracy is agreement with it', async () => {
    const out = path.join(dir, 'distil.onnx');
    const events: RunEvent[] = [];
    const summary = await sparsify(options(out, { epochs: 1, include: undefined, data: { kind: 'npy', inputs: unlabelled.inputs } }), (e) => events.push(e));
    assert.ok(ofType(events, 'phase').some((e) => e.phase === 'teacher logits'));
    const [epoch] = ofType(events, 'epoch');
    assert.equal(epoch.trainAccuracy, null);
    assert.ok(epoch.valAccuracy !== null && epoch.valAccuracy >= 0 && epoch.valAccuracy <= 1);
    assert.equal(summary.denseAccuracy, 1, 'the dense model agrees with itself');
    assert.ok(ofType(events, 'step').every((e) => Number.isFinite(e.loss) && e.loss >= 0));
    assert.equal(summary.validationPass, true);
    assert.equal((await validateModel(out, { pattern: '2:4' })).pass, true);
  });
});

describe('cancellation and resume', () => {
  it('abort mid-run: CancelledError, no output, no run record, no temp file', async () => {
    const d = tempDir('maxq-ft-cancel-');
    const before = listDir(d);
    const controller = new AbortController();
    const out = path.join(d, 'cancelled.onnx');
    const events: RunEvent[] = [];
    await assert.rejects(
      sparsify(options(out, { epochs: 3 }), (e) => {
        events.push(e);
        if (e.type === 'step' && e.globalStep === 6) controller.abort();
      }, controller.signal),
      (e: unknown) => e instanceof CancelledError,
    );
    assert.equal(ofType(events, 'step').length, 7, 'stops at the next step');
    assert.equal(events.some((e) => e.type === 'done'), false);
    assert.deepEqual(listDir(d), before);
  });

  it('resume from the checkpoint of an interrupted run gives the uninterrupted result', async () => {
    const d = tempDir('maxq-ft-resume-');
    const runDir = path.join(d, 'run');
    const controller = new AbortController();
    const opts = options(path.join(d, 'resumed.onnx'), { epochs: 3, runDir });
    await assert.rejects(sparsify(opts, (e) => {
      if (e.type === 'epoch' && e.epoch === 0) controller.abort();
    }, controller.signal), CancelledError);
    const state = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'state.json'), 'utf8'));
    assert.equal(state.epoch, 1);
    assert.ok(!fs.existsSync(opts.out));

    const events: RunEvent[] = [];
    const summary = await sparsify({ ...opts, resume: runDir } /* the run directory, as users pass it */, (e) => events.push(e));
    assert.equal(summary.validationPass, true);
    assert.ok(events.some((e) => e.type === 'log' && /resumed from .* after epoch 1/.test(e.message)));
    assert.deepEqual(ofType(events, 'epoch').map((e) => e.epoch), [1, 2]);
    assert.equal(ofType(events, 'step')[0].globalStep, 5);

    const straight = await sparsify({ ...opts, out: path.join(d, 'straight.onnx'), runDir: undefined });
    assert.equal(straight.validationPass, true);
    const [a, b] = await Promise.all([opts.out, path.join(d, 'straight.onnx')].map((f) => OnnxModel.load(f)));
    for (const name of ['conv2.weight', 'fc.weight', 'stem.conv.weight', 'stem.bn.running_mean']) {
      const [x, y] = await Promise.all([a.readFloat32(name), b.readFloat32(name)]);
      const diff = Math.max(...Array.from(x, (v, i) => Math.abs(v - y[i])));
      assert.ok(diff < 1e-5, `${name}: resumed differs from uninterrupted by ${diff}`);
    }
  });

  it('the same seed and thread count give the same bytes, run after run (2 threads: multi-threaded kernels and mask workers)', async () => {
    const d = tempDir('maxq-ft-repro-');
    const outs = [path.join(d, 'a.onnx'), path.join(d, 'b.onnx')];
    for (const out of outs) assert.equal((await sparsify(options(out, { threads: 2 }))).validationPass, true);
    const [a, b] = outs.map((f) => fs.readFileSync(f));
    assert.ok(a.equals(b), 'two runs with the same options wrote different models');
  });

  it('a checkpoint of another run is refused', async () => {
    const d = tempDir('maxq-ft-resume2-');
    const runDir = path.join(d, 'run');
    const controller = new AbortController();
    await assert.rejects(sparsify(options(path.join(d, 'a.onnx'), { epochs: 3, runDir }), (e) => {
      if (e.type === 'epoch') controller.abort();
    }, controller.signal), CancelledError);
    await assert.rejects(
      sparsify(options(path.join(d, 'b.onnx'), { epochs: 3, method: 'srste', resume: path.join(runDir, 'checkpoint') })),
      (e: unknown) => e instanceof MaxqError && /the checkpoint belongs to a different run/.test(e.message),
    );
    assert.ok(!fs.existsSync(path.join(d, 'b.onnx')));
  });
});

describe('ops without a gradient rule', () => {
  for (const op of ['Softplus', 'LRN'] as const) {
    it(`${op}: refused before the first step, naming the op and the node`, async () => {
      const d = tempDir('maxq-ft-op-');
      const m = writeModelFile(d, `with-${op}.onnx`, tinyCnn({ extraOp: op }));
      const events: RunEvent[] = [];
      await assert.rejects(
        sparsify({ ...options(path.join(d, 'out.onnx')), model: m }, (e) => events.push(e)),
        (e: unknown) => {
          assert.ok(e instanceof MaxqError, String(e));
          assert.equal(e.file, m);
          assert.match(e.message, new RegExp(`no gradient rule for 1 node on the training path: ${op} ×1 \\(extra_${op.toLowerCase()}\\)`));
          return true;
        },
      );
      assert.equal(ofType(events, 'step').length, 0);
      assert.deepEqual(listDir(d), [`with-${op}.onnx`]);
    });
  }
});

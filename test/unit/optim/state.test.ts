import { test, describe, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Sgd } from '../../../src/core/training/optim/sgd';
import { AdamW } from '../../../src/core/training/optim/adamw';
import { Optimizer, loadOptimizerState, saveOptimizerState } from '../../../src/core/training/optim/state';
import { OptimParam } from '../../../src/core/training/optim/param';
import { mulberry32 } from '../../../src/core/data/random';
import { writeSafetensors } from '../../../src/core/io/safetensors';
import { MaxqError } from '../../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-optstate-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function params(): OptimParam[] {
  const rng = mulberry32(3);
  const mk = (name: string, n: number, decay: boolean): OptimParam => ({
    name,
    data: Float32Array.from({ length: n }, () => rng() - 0.5),
    grad: new Float32Array(n),
    decay,
  });
  return [mk('conv.weight', 12, true), mk('conv.bias', 3, false)];
}

function setGrads(ps: OptimParam[], step: number): void {
  const rng = mulberry32(100 + step);
  for (const p of ps) for (let i = 0; i < p.grad.length; i++) p.grad[i] = rng() - 0.5;
}

/** Steps 0..4 straight through vs steps 0..1, checkpoint to disk, fresh optimizer, steps 2..4: bit-identical. */
function resumeMatches(make: () => Optimizer): void {
  const a = params();
  const straight = make();
  for (let s = 0; s < 5; s++) {
    setGrads(a, s);
    straight.step(a, 0.05);
  }
  const b = params();
  const first = make();
  for (let s = 0; s < 2; s++) {
    setGrads(b, s);
    first.step(b, 0.05);
  }
  const f = path.join(tmp, `${first.kind}.safetensors`);
  saveOptimizerState(f, first.state());
  const resumed = make();
  resumed.loadState(loadOptimizerState(f));
  for (let s = 2; s < 5; s++) {
    setGrads(b, s);
    resumed.step(b, 0.05);
  }
  for (let k = 0; k < a.length; k++) assert.deepEqual(b[k].data, a[k].data);
}

describe('optimizer state', () => {
  test('SGD resumes bit-identically from a saved state', () => resumeMatches(() => new Sgd({ momentum: 0.9, weightDecay: 1e-4, nesterov: true })));
  test('AdamW resumes bit-identically from a saved state', () => resumeMatches(() => new AdamW({ weightDecay: 0.05 })));

  test('the file is safetensors with one F32 buffer per parameter and JSON metadata', () => {
    const ps = params();
    const opt = new AdamW();
    setGrads(ps, 0);
    opt.step(ps, 0.01);
    const state = opt.state();
    assert.deepEqual(Object.keys(state.tensors).sort(), ['exp_avg/conv.bias', 'exp_avg/conv.weight', 'exp_avg_sq/conv.bias', 'exp_avg_sq/conv.weight']);
    const f = path.join(tmp, 'adam1.safetensors');
    saveOptimizerState(f, state);
    const loaded = loadOptimizerState(f);
    assert.equal(loaded.kind, 'adamw');
    assert.deepEqual(loaded.steps, { 'conv.weight': 1, 'conv.bias': 1 });
    assert.equal(loaded.hyper.beta2, 0.999);
    assert.deepEqual(loaded.tensors['exp_avg/conv.weight'], state.tensors['exp_avg/conv.weight']);
  });

  test('loading the wrong kind or a state for another model fails clearly', () => {
    const ps = params();
    const sgd = new Sgd();
    setGrads(ps, 0);
    sgd.step(ps, 0.1);
    assert.throws(() => new AdamW().loadState(sgd.state()), (e: unknown) => e instanceof MaxqError && /holds sgd optimizer state, but this run uses adamw/.test(e.message));
    const other = new Sgd();
    other.loadState(sgd.state());
    const wrong: OptimParam = { name: 'conv.weight', data: new Float32Array(5), grad: new Float32Array(5), decay: true };
    assert.throws(() => other.step([wrong], 0.1), (e: unknown) => e instanceof MaxqError && /has 12 elements but the parameter has 5/.test(e.message));
    const plain = path.join(tmp, 'weights.safetensors');
    writeSafetensors(plain, [{ name: 'w', dtype: 'F32', shape: [1], data: Float32Array.from([1]) }]);
    assert.throws(() => loadOptimizerState(plain), (e: unknown) => e instanceof MaxqError && e.file === plain && /not an optimizer state file/.test(e.message));
    const cut = path.join(tmp, 'cut.safetensors');
    saveOptimizerState(cut, sgd.state());
    fs.writeFileSync(cut, fs.readFileSync(cut).subarray(0, 20));
    assert.throws(() => loadOptimizerState(cut), (e: unknown) => e instanceof MaxqError && e.kind === 'input' && e.file === cut);
  });
});

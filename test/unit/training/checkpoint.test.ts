/**
 * Resuming from a checkpoint (`--resume DIR`): DIR may be the run directory or its checkpoint folder, and a
 * damaged checkpoint is refused naming the file, never partly restored (a fuzz of a real run directory found
 * "error: Unexpected end of JSON input" with no file, and NaN weights reported as the layer's own).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { loadCheckpoint, resolveCheckpointDir, restoreTensor, saveCheckpoint } from '../../../src/core/training/checkpoint';
import { MaxqError } from '../../../src/core/errors';
import { Sgd } from '../../../src/core/training/optim';
import { tempDir } from '../fixtures';

async function saved(): Promise<{ runDir: string; ckpt: string }> {
  const runDir = tempDir('maxq-ckpt-');
  const ckpt = path.join(runDir, 'checkpoint');
  const tensors = new Map([['param/w', Float32Array.of(1, 2, 3)], ['running/m', Float32Array.of(0.5)]]);
  await saveCheckpoint(ckpt, { epoch: 2, globalStep: 20, fingerprint: 'fp', history: [] }, tensors, new Sgd({ momentum: 0.9 }).state());
  return { runDir, ckpt };
}

function inputErrorFor(file: string, message: RegExp) {
  return (e: unknown) => e instanceof MaxqError && e.kind === 'input' && e.file === file && message.test(e.message);
}

describe('checkpoint resume', () => {
  it('takes the run directory or its checkpoint folder; anything else names the folder', async () => {
    const { runDir, ckpt } = await saved();
    assert.equal(resolveCheckpointDir(ckpt), ckpt);
    assert.equal(resolveCheckpointDir(runDir), ckpt);
    assert.equal(loadCheckpoint(runDir, 'fp').state.epoch, 2);
    const empty = tempDir('maxq-ckpt-empty-');
    assert.throws(() => resolveCheckpointDir(empty), inputErrorFor(empty, /no checkpoint to resume from \(neither state\.json nor checkpoint\/state\.json found\)/));
  });

  it('restores whole, finite tensors of the right length', async () => {
    const { ckpt } = await saved();
    const cp = loadCheckpoint(ckpt, 'fp');
    const w = new Float32Array(3);
    restoreTensor(cp, 'param/w', w);
    assert.deepEqual([...w], [1, 2, 3]);
    const weights = path.join(ckpt, 'epoch-2', 'weights.safetensors');
    assert.throws(() => restoreTensor(cp, 'param/other', new Float32Array(3)), inputErrorFor(weights, /no tensor 'param\/other'; it does not belong to this run/));
    assert.throws(() => restoreTensor(cp, 'param/w', new Float32Array(4)), inputErrorFor(weights, /'param\/w' has 3 values, the run needs 4/));
    cp.tensors.get('param/w')![1] = NaN;
    const before = new Float32Array(3);
    assert.throws(() => restoreTensor(cp, 'param/w', before), inputErrorFor(weights, /'param\/w' holds NaN at index 1; the checkpoint is damaged/));
    assert.deepEqual([...before], [0, 0, 0], 'nothing copied');
  });

  it('a damaged or foreign state.json is an input error naming it', async () => {
    const { ckpt } = await saved();
    const state = path.join(ckpt, 'state.json');
    assert.throws(() => loadCheckpoint(ckpt, 'other'), inputErrorFor(state, /belongs to a different run \(fp\)/));
    const good = fs.readFileSync(state, 'utf8');
    fs.writeFileSync(state, good.slice(0, 20));
    assert.throws(() => loadCheckpoint(ckpt, 'fp'), inputErrorFor(state, /not a readable checkpoint state \(.*JSON.*\); the run directory is damaged/));
    for (const bad of [{ ...JSON.parse(good), epoch: -1 }, { ...JSON.parse(good), files: '../../elsewhere' }, [1, 2]]) {
      fs.writeFileSync(state, JSON.stringify(bad));
      assert.throws(() => loadCheckpoint(ckpt, 'fp'), inputErrorFor(state, /not a checkpoint state/));
    }
  });
});

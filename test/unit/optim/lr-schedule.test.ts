import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { LrSchedule, LrScheduleConfig } from '../../../src/core/training/optim/lr-schedule';
import { MaxqError } from '../../../src/core/errors';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

describe('LrSchedule', () => {
  test('constant', () => {
    const s = new LrSchedule({ kind: 'constant', baseLr: 0.05, epochs: 3, stepsPerEpoch: 10 });
    close(s.at(0, 0), 0.05);
    close(s.at(2, 9), 0.05);
  });

  test('cosine per epoch is the reference recipe 0.1·½(1 + cos(π·e/120))', () => {
    const s = new LrSchedule({ kind: 'cosine', baseLr: 0.1, epochs: 120, stepsPerEpoch: 5000 });
    close(s.at(0), 0.1);
    close(s.at(30), 0.1 * 0.5 * (1 + Math.SQRT1_2));
    close(s.at(60, 4999), 0.05); // constant within the epoch
    close(s.at(90), 0.1 * 0.5 * (1 - Math.SQRT1_2));
    close(s.at(119), 0.1 * 0.5 * (1 + Math.cos((Math.PI * 119) / 120)));
  });

  test('cosine per step, with a floor', () => {
    const s = new LrSchedule({ kind: 'cosine', per: 'step', baseLr: 0.1, epochs: 2, stepsPerEpoch: 5 });
    close(s.at(0, 0), 0.1);
    close(s.at(1, 0), 0.05); // half way through 10 steps
    close(s.at(0, 1), 0.1 * 0.5 * (1 + Math.cos(Math.PI / 10)));
    const floored = new LrSchedule({ kind: 'cosine', per: 'step', baseLr: 0.1, minLr: 0.01, epochs: 2, stepsPerEpoch: 5 });
    close(floored.at(1, 0), 0.055);
  });

  test('step: gamma every k epochs', () => {
    const s = new LrSchedule({ kind: 'step', baseLr: 0.1, epochs: 90, stepsPerEpoch: 10, stepEvery: 30, gamma: 0.1 });
    close(s.at(0), 0.1);
    close(s.at(29, 9), 0.1);
    close(s.at(30), 0.01);
    close(s.at(60), 0.001);
  });

  test('linear warmup scales the first steps and then hands over', () => {
    const s = new LrSchedule({ kind: 'cosine', baseLr: 0.1, epochs: 10, stepsPerEpoch: 4, warmupEpochs: 1 });
    close(s.at(0, 0), 0.025);
    close(s.at(0, 1), 0.05);
    close(s.at(0, 3), 0.1);
    close(s.at(1, 0), 0.1 * 0.5 * (1 + Math.cos(Math.PI / 10)));
    const half = new LrSchedule({ kind: 'constant', baseLr: 0.2, epochs: 3, stepsPerEpoch: 4, warmupEpochs: 0.5 });
    close(half.at(0, 0), 0.1);
    close(half.at(0, 1), 0.2);
  });

  test('bad configurations are usage errors', () => {
    const bad = (cfg: LrScheduleConfig) =>
      assert.throws(() => new LrSchedule(cfg), (e: unknown) => e instanceof MaxqError && e.kind === 'usage');
    bad({ kind: 'step', baseLr: 0.1, epochs: 10, stepsPerEpoch: 1 });
    bad({ kind: 'step', baseLr: 0.1, epochs: 10, stepsPerEpoch: 1, stepEvery: 3, gamma: 2 });
    bad({ kind: 'cosine', baseLr: 0.1, epochs: 10, stepsPerEpoch: 1, minLr: 0.5 });
    bad({ kind: 'constant', baseLr: -1, epochs: 10, stepsPerEpoch: 1 });
    bad({ kind: 'constant', baseLr: 0.1, epochs: 0, stepsPerEpoch: 1 });
    bad({ kind: 'constant', baseLr: 0.1, epochs: 2, stepsPerEpoch: 1, warmupEpochs: 3 });
    bad({ kind: 'linear' as 'constant', baseLr: 0.1, epochs: 2, stepsPerEpoch: 1 });
  });
});

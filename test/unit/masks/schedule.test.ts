import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DenseFractionSchedule } from '../../../src/core/masks/denseFractionSchedule';
import { isMaxqError } from '../../../src/core/errors';
import { ScheduleKind } from '../../../src/core/types';

const sched = (kind: ScheduleKind, s: number, t: number, E = 120) => new DenseFractionSchedule({ kind, decayStart: s, decayEnd: t, totalEpochs: E });

function usageFails(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => isMaxqError(e) && e.kind === 'usage' && re.test(e.message), `expected usage error ${re}`);
}

test('§4.1 table for s = 0, t = 30 (within 1e-5)', () => {
  const epochs = [0, 1, 5, 10, 15, 20, 25, 29, 30, 31, 60, 119];
  const table: Record<ScheduleKind, number[]> = {
    linear: [1, 0.96667, 0.83333, 0.66667, 0.5, 0.33333, 0.16667, 0.03333, 0, 0, 0, 0],
    cubic: [1, 0.9033, 0.5787, 0.2963, 0.125, 0.03704, 0.00463, 0.00004, 0, 0, 0, 0],
    cos: [1, 0.99863, 0.96593, 0.86603, 0.70711, 0.5, 0.25882, 0.05234, 0, 0, 0, 0],
    exp: [1, 0.93628, 0.71101, 0.48595, 0.31067, 0.17416, 0.06785, 0, 0, 0, 0, 0],
  };
  for (const kind of Object.keys(table) as ScheduleKind[]) {
    const s = sched(kind, 0, 30);
    epochs.forEach((e, i) => {
      const p = s.at(e);
      assert.ok(Math.abs(p - table[kind][i]) <= 1e-5, `${kind} p(${e}) = ${p}, table ${table[kind][i]}`);
    });
  }
});

test('exact values the tables round: linear 0.5 at 15, cubic 0.125 at 15, vectors cubic p(10)', () => {
  assert.equal(sched('linear', 0, 30).at(15), 0.5);
  assert.equal(sched('cubic', 0, 30).at(15), 0.125);
  // The reference vector case conv_8x8x3x3_2of4_cubic_e10_of_0to30 stores this double.
  assert.ok(Math.abs(sched('cubic', 0, 30).at(10) - 0.2962962962962964) <= 1e-12);
  assert.equal(Math.floor(sched('cubic', 0, 30).at(10) * 144), 42);
});

test('s = t = 0: no schedule, p = 0 everywhere', () => {
  for (const kind of ['linear', 'cubic', 'cos', 'exp'] as ScheduleKind[]) {
    const s = sched(kind, 0, 0, 10);
    assert.ok(s.isNone);
    for (const e of [0, 0.5, 3, 9.99]) assert.equal(s.at(e), 0);
  }
  assert.equal(DenseFractionSchedule.none(5).at(0), 0);
});

test('before the window p = 1, from t p = 0', () => {
  for (const kind of ['linear', 'cubic', 'cos', 'exp'] as ScheduleKind[]) {
    const s = sched(kind, 30, 60);
    assert.equal(s.at(0), 1);
    assert.equal(s.at(29), 1);
    assert.equal(s.at(29.999), 1);
    assert.equal(s.at(30), 1);
    assert.equal(s.at(60), 0);
    assert.equal(s.at(61.5), 0);
  }
});

test('s == t != 0 is a step for every kind (no division by zero)', () => {
  for (const kind of ['linear', 'cubic', 'cos', 'exp'] as ScheduleKind[]) {
    const s = sched(kind, 10, 10, 20);
    assert.equal(s.at(0), 1);
    assert.equal(s.at(9), 1);
    assert.equal(s.at(9.99), 1);
    assert.equal(s.at(10), 0);
    assert.equal(s.at(15), 0);
    assert.ok(!s.isNone);
  }
});

test('exp with t − s == 1: p = 1 on [s, t), 0 from t (never NaN)', () => {
  const s = sched('exp', 5, 6, 10);
  assert.equal(s.at(4), 1);
  assert.equal(s.at(5), 1);
  assert.equal(s.at(5.5), 1);
  assert.equal(s.at(6), 0);
  const z = sched('exp', 0, 1, 3);
  assert.equal(z.at(0), 1);
  assert.equal(z.at(0.9), 1);
  assert.equal(z.at(1), 0);
});

test('exp reaches exactly 0 at t − 1 and stays 0 (also for fractional epochs)', () => {
  for (const [s, t] of [[0, 30], [0, 2], [3, 10], [30, 90]]) {
    const sc = sched('exp', s, t);
    assert.ok(Object.is(sc.at(t - 1), 0), `exp(${s},${t}) at t−1 = ${sc.at(t - 1)}`);
    assert.equal(sc.at(t - 0.5), 0);
    assert.equal(sc.at(s), 1);
    assert.ok(sc.at(t - 1.5) > 0);
  }
});

test('fractional epochs use the same formulas with a continuous x', () => {
  const lin = sched('linear', 0, 30);
  assert.ok(Math.abs(lin.at(7.5) - 0.75) < 1e-15);
  const cubic = sched('cubic', 0, 30);
  assert.ok(Math.abs(cubic.at(7.5) - 0.421875) < 1e-15);
  const cos = sched('cos', 0, 30);
  assert.ok(Math.abs(cos.at(15.5) - Math.cos((15.5 / 30) * Math.PI / 2)) < 1e-15);
  const exp = sched('exp', 0, 30);
  const expected = 1 - (1 - Math.exp(-0.05 * 2.5)) / (1 - Math.exp(-0.05 * 29));
  assert.ok(Math.abs(exp.at(2.5) - expected) < 1e-15);
  // Monotone non-increasing over the window.
  for (const kind of ['linear', 'cubic', 'cos', 'exp'] as ScheduleKind[]) {
    const sc = sched(kind, 0, 30);
    let prev = 1;
    for (let e = 0; e < 40; e += 0.25) {
      const p = sc.at(e);
      assert.ok(p <= prev && p >= 0 && p <= 1, `${kind} at ${e}: ${p}`);
      prev = p;
    }
  }
});

test('atStep: per step at step/stepsPerEpoch, or per epoch (reference)', () => {
  const s = sched('linear', 0, 30);
  assert.equal(s.atStep(150, 100), s.at(1.5));
  assert.equal(s.atStep(150, 100, 'epoch'), s.at(1));
  assert.equal(s.atStep(0, 100), 1);
  usageFails(() => s.atStep(1, 0), /steps per epoch/);
  usageFails(() => s.atStep(-1, 10), /step must be/);
  usageFails(() => s.atStep(1.5, 10), /step must be/);
  usageFails(() => s.atStep(120 * 100, 100), /outside/);
});

test('defaultForFineTune: linear, s = 0, t = ceil(0.25·epochs)', () => {
  const cases: [number, number][] = [[2, 1], [3, 1], [4, 1], [5, 2], [8, 2], [10, 3], [120, 30]];
  for (const [E, t] of cases) {
    const s = DenseFractionSchedule.defaultForFineTune(E);
    assert.equal(s.kind, 'linear');
    assert.equal(s.decayStart, 0);
    assert.equal(s.decayEnd, t, `E=${E}`);
    assert.equal(s.totalEpochs, E);
  }
  // E = 1 leaves no room for a window (t must be < E): no schedule.
  const one = DenseFractionSchedule.defaultForFineTune(1);
  assert.ok(one.isNone);
  assert.equal(one.at(0), 0);
  assert.equal(one.at(0.99), 0);
  usageFails(() => DenseFractionSchedule.defaultForFineTune(0), /epochs must be/);
  usageFails(() => DenseFractionSchedule.defaultForFineTune(2.5), /epochs must be/);
});

test('default window pinned per step: epochs = 8 → t = 2, p = 1 − k/200 at step k of 100 steps/epoch', () => {
  const s = DenseFractionSchedule.defaultForFineTune(8);
  for (const k of [0, 1, 37, 100, 150, 199]) {
    assert.ok(Math.abs(s.atStep(k, 100) - (1 - k / 200)) <= 1e-15, `step ${k}: ${s.atStep(k, 100)}`);
  }
  assert.equal(s.atStep(200, 100), 0);
  assert.equal(s.atStep(799, 100), 0);
  // Per-epoch stepping holds p for the whole epoch.
  assert.equal(s.atStep(150, 100, 'epoch'), 0.5);
});

test('validation: integers with 0 ≤ s ≤ t < E, 0 ≤ e < E, known kind', () => {
  usageFails(() => sched('linear', 30, 20), /after decay end/);
  usageFails(() => sched('linear', 0, 120, 120), /before the last epoch/);
  usageFails(() => sched('linear', -1, 5), /decay start/);
  usageFails(() => sched('linear', 0.5, 5), /decay start/);
  usageFails(() => sched('linear', 0, 5.5), /decay end/);
  usageFails(() => sched('linear', 0, 5, 0), /total epochs/);
  usageFails(() => sched('linear', 0, 5, 7.5), /total epochs/);
  usageFails(() => sched('quadratic' as ScheduleKind, 0, 5), /unknown schedule 'quadratic'/);
  usageFails(() => DenseFractionSchedule.parseKind('step'), /unknown schedule/);
  const s = sched('linear', 0, 30);
  for (const e of [-1, -0.001, 120, 121, Number.NaN, Number.POSITIVE_INFINITY]) usageFails(() => s.at(e), /outside/);
  assert.deepEqual(s.toJSON(), { kind: 'linear', decayStart: 0, decayEnd: 30, totalEpochs: 120 });
});

test('forRun: nothing given: the default window; some given: the rest from the default, fitted to a short run', () => {
  const d = DenseFractionSchedule.forRun({ epochs: 8 });
  assert.deepEqual([d.kind, d.decayStart, d.decayEnd], ['linear', 0, 2]);
  const cubic1 = DenseFractionSchedule.forRun({ epochs: 1, kind: 'cubic' });
  assert.deepEqual([cubic1.kind, cubic1.decayStart, cubic1.decayEnd], ['cubic', 0, 0]);
  const late = DenseFractionSchedule.forRun({ epochs: 8, decayStart: 3 });
  assert.deepEqual([late.decayStart, late.decayEnd], [3, 3]);
});
test('forRun: a given decay end at or past the last epoch is refused, never moved (spec §4.1)', () => {
  assert.throws(() => DenseFractionSchedule.forRun({ epochs: 3, decayEnd: 3 }), /decay end 3 must be before the last epoch \(0-based epochs < 3\)/);
  assert.throws(() => DenseFractionSchedule.forRun({ epochs: 3, kind: 'exp', decayStart: 2, decayEnd: 1 }), /decay start 2 is after decay end 1/);
});

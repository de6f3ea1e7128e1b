import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  PREPROCESSING_PRESETS, parseNormalization, resolveNormalize, describeNormalize, findPreset, channelAffine, sameNormalization,
} from '../../../src/core/data/normalize';
import { MaxqError } from '../../../src/core/errors';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≉ ${b}`);

describe('preprocessing presets', () => {
  test('the table: every preset is a valid SCALE,MEAN,STD string', () => {
    assert.deepEqual(PREPROCESSING_PRESETS.map((p) => p.name), ['none', 'unit', 'symmetric', 'imagenet', 'mnist']);
    for (const p of PREPROCESSING_PRESETS) assert.ok(parseNormalization(p.normalize));
  });

  test('a preset name parses as its string, case-insensitively', () => {
    assert.deepEqual(parseNormalization('mnist'), { scale: 1 / 255, mean: [0.1307], std: [0.3081] });
    assert.deepEqual(parseNormalization(' MNIST '), parseNormalization('1/255,0.1307,0.3081'));
    assert.deepEqual(parseNormalization('none'), { scale: 1, mean: [0], std: [1] });
    assert.deepEqual(parseNormalization('unit'), { scale: 1 / 255, mean: [0], std: [1] });
    const imagenet = parseNormalization('imagenet');
    assert.deepEqual(imagenet.mean, [0.485, 0.456, 0.406]);
    assert.deepEqual(imagenet.std, [0.229, 0.224, 0.225]);
  });

  test('the presets map bytes where they say', () => {
    const map = (name: string, x: number, c = 0, channels = 1) => {
      const { mul, add } = channelAffine(parseNormalization(name), channels);
      return mul[c] * x + add[c];
    };
    close(map('unit', 0), 0);
    close(map('unit', 255), 1);
    close(map('symmetric', 0), -1);
    close(map('symmetric', 255), 1);
    close(map('none', 37), 37);
    close(map('mnist', 0), -0.1307 / 0.3081);
    close(map('imagenet', 255, 2, 3), (1 - 0.406) / 0.225);
  });

  test('resolveNormalize and describeNormalize', () => {
    assert.equal(resolveNormalize('mnist'), '1/255,0.1307,0.3081');
    assert.equal(resolveNormalize(' 1/255,0.5,0.5 '), '1/255,0.5,0.5');
    assert.equal(describeNormalize('mnist'), 'MNIST mean/std');
    assert.equal(describeNormalize('1/255,0,1'), '[0,1]');
    assert.equal(describeNormalize('0.00392156862745098,0,1'), '[0,1]');
    assert.equal(describeNormalize('1/255,0.5,0.5'), '1/255,0.5,0.5');
    assert.equal(findPreset('nope'), undefined);
    assert.ok(sameNormalization(parseNormalization('1/255,0.1307:0.1307:0.1307,0.3081'), parseNormalization('mnist')));
  });

  test('an unknown name is a usage error listing the presets', () => {
    assert.throws(() => parseNormalization('mnsit'), (e: unknown) => e instanceof MaxqError && e.kind === 'usage' && /none, unit, symmetric, imagenet, mnist/.test(e.message));
    assert.throws(() => resolveNormalize('1/255,0'), (e: unknown) => e instanceof MaxqError && e.kind === 'usage');
  });
});

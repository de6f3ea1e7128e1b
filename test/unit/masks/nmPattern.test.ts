import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { isMaxqError } from '../../../src/core/errors';

function usageFails(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => isMaxqError(e) && e.kind === 'usage' && re.test(e.message));
}

test('parses N:M', () => {
  const p = NmPattern.parse('2:4');
  assert.equal(p.n, 2);
  assert.equal(p.m, 4);
  assert.equal(p.toString(), '2:4');
  assert.equal(p.drop, 0.5);
  assert.equal(p.density, 0.5);
  assert.deepEqual([NmPattern.parse(' 1 : 16 ').n, NmPattern.parse(' 1 : 16 ').m], [1, 16]);
  assert.equal(NmPattern.parse('3:8').drop, 5 / 8);
  assert.ok(NmPattern.parse('2:4').equals(new NmPattern(2, 4)));
  assert.equal(JSON.stringify({ p: NmPattern.parse('1:4') }), '{"p":"1:4"}');
});

test('rejects N ≥ M, N < 1, M < 2', () => {
  usageFails(() => NmPattern.parse('4:4'), /N must be smaller than M/);
  usageFails(() => NmPattern.parse('5:4'), /N must be smaller than M/);
  usageFails(() => NmPattern.parse('0:4'), /N must be at least 1/);
  usageFails(() => NmPattern.parse('-1:4'), /N must be at least 1/);
  usageFails(() => NmPattern.parse('1:1'), /M must be at least 2/);
  usageFails(() => NmPattern.parse('0:0'), /M must be at least 2/);
});

test('rejects non-integers and garbage with a clear message, never NaN', () => {
  usageFails(() => NmPattern.parse('2.5:4'), /must be integers/);
  usageFails(() => NmPattern.parse('2:4.0001'), /must be integers/);
  for (const bad of ['', '2', '2:', ':4', '2/4', '2:4:8', 'a:b', '2 4', 'NaN:4', '2:Infinity', '0x2:4', '1e1:20']) {
    usageFails(() => NmPattern.parse(bad), /invalid N:M pattern/);
  }
  usageFails(() => NmPattern.parse(undefined as unknown as string), /N:M pattern/);
  usageFails(() => new NmPattern(Number.NaN, 4), /must be integers/);
  usageFails(() => new NmPattern(2, 4.5), /must be integers/);
  usageFails(() => NmPattern.parse('2:100000'), /at most/);
});

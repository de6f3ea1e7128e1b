/**
 * The fused two-pass soft mask (collectRows + softLists) against (1) the masks of the implementation it replaced,
 * recorded as hashes in fixtures/previous-masks.json, and (2) the independent per-axis path (`axisTerms`) composed
 * as the spec writes S, bit for bit — including rows whose bracket guesses miss and fall back to a full selection.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { CanonicalWeight } from '../../../src/core/masks/canonicalWeight';
import { forceDenseBlocks } from '../../../src/core/masks/denseBlocks';
import { hardNmMask } from '../../../src/core/masks/hardMask';
import { computeLayerMask } from '../../../src/core/masks/layerMask';
import { NmPattern } from '../../../src/core/masks/nmPattern';
import { RankBoundary } from '../../../src/core/masks/rankBoundary';
import { axisTerms, maxqMasks } from '../../../src/core/masks/softMask';
import { MaskWorkspace } from '../../../src/core/masks/workspace';
import { heNormalWeights, resnet50ConvShapes } from '../../../bench/masks.bench';
import { firstMismatch, randomWeight, WeightKind } from './helpers';

interface PreviousMasks {
  cases: [number, string, WeightKind | 'rowscaled', number, string, number, number][];
  resnet50: Record<string, number[]>;
}

function loadPrevious(): PreviousMasks {
  const file = path.join(__dirname, '..', '..', '..', '..', 'test', 'unit', 'masks', 'fixtures', 'previous-masks.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as PreviousMasks;
}

/** FNV-1a 32 over the hard mask bytes, then the soft mask bytes (the fixture's hash). */
function maskHash(hard: Uint8Array, soft: Float32Array): number {
  let h = 2166136261;
  for (const bytes of [hard, new Uint8Array(soft.buffer, soft.byteOffset, soft.byteLength)]) {
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619);
  }
  return h >>> 0;
}

const ROW_SCALES = [1, 40, 0.02];

/** randomWeight, plus 'rowscaled': normal weights whose rows alternate in scale, so the per-row bracket hints miss. */
function weight(seed: number, [O, I, Kh, Kw]: number[], kind: WeightKind | 'rowscaled', scale: number): CanonicalWeight {
  if (kind !== 'rowscaled') return randomWeight(seed, O, I, Kh, Kw, kind, scale);
  const w = randomWeight(seed, O, I, Kh, Kw, 'normal', scale);
  const L = I * Kh * Kw;
  for (let i = 0; i < w.data.length; i++) w.data[i] = Math.fround(w.data[i] * ROW_SCALES[Math.floor(i / L) % 3]);
  return w;
}

/** S = fround(fround(1 + F) + P) · H from the per-axis reference path. */
function composed(w: CanonicalWeight, pattern: NmPattern, p: number): { hard: Uint8Array; soft: Float32Array } {
  const hard = hardNmMask(w, pattern);
  forceDenseBlocks(w, pattern, hard, p);
  const t = axisTerms(w, pattern, new MaskWorkspace());
  return { hard, soft: Float32Array.from(hard, (h, i) => Math.fround(Math.fround(1 + t.filter[i]) + t.position[i]) * h) };
}

function assertSameMasks(a: { hard: Uint8Array; soft: Float32Array }, b: { hard: Uint8Array; soft: Float32Array }, label: string): void {
  const h = firstMismatch(a.hard, b.hard);
  assert.equal(h, -1, `${label}: H differs at ${h}`);
  // Compare bits, so that −0 vs +0 would show.
  const sa = new Uint32Array(a.soft.buffer, a.soft.byteOffset, a.soft.length);
  const sb = new Uint32Array(b.soft.buffer, b.soft.byteOffset, b.soft.length);
  const s = firstMismatch(sa, sb);
  assert.equal(s, -1, `${label}: S differs at ${s}: ${a.soft[s]} vs ${b.soft[s]}`);
}

test('masks equal the previous implementation bit for bit (recorded hashes, 580 random layers)', () => {
  const prev = loadPrevious();
  for (const [seed, shape, kind, scale, pat, p, hash] of prev.cases) {
    const w = weight(seed, shape.split('x').map(Number), kind, scale);
    const r = computeLayerMask(w, NmPattern.parse(pat), 'maxq', p);
    assert.equal(maskHash(r.hard, r.soft), hash, `seed ${seed} ${shape} ${kind} ${pat} p=${p}`);
  }
});

test('masks of the ResNet-50 bench layers equal the previous implementation (2:4 at p = 0 and 0.5, 1:4)', () => {
  const prev = loadPrevious();
  const layers = heNormalWeights(resnet50ConvShapes());
  for (const [key, hashes] of Object.entries(prev.resnet50)) {
    const [pat, p] = key.split('@');
    const pattern = NmPattern.parse(pat);
    layers.forEach((w, i) => {
      const r = computeLayerMask(w, pattern, 'maxq', Number(p));
      assert.equal(maskHash(r.hard, r.soft), hashes[i], `${key} layer ${i} [${w.O}, ${w.I}, ${w.Kh}, ${w.Kw}]`);
    });
  }
});

test('fused passes equal the per-axis terms composed as the spec writes S, ties and all', () => {
  const shapes: [number, number, number, number][] = [[6, 16, 3, 3], [16, 64, 3, 3], [9, 24, 1, 1], [4, 8, 2, 3], [3, 12, 5, 5], [24, 256, 1, 1]];
  const kinds: (WeightKind | 'rowscaled')[] = ['normal', 'quantized', 'sparse', 'rowscaled'];
  let seed = 9000;
  for (const shape of shapes) {
    for (const pat of ['2:4', '1:4', '3:4', '1:2', '2:8']) {
      const pattern = NmPattern.parse(pat);
      if (shape[1] % pattern.m !== 0) continue;
      for (const kind of kinds) {
        const w = weight(seed++, shape, kind, 0.04);
        for (const p of [0, 0.45]) {
          const label = `${pat} ${kind} [${shape}] p=${p}`;
          const r = computeLayerMask(w, pattern, 'maxq', p, undefined, { workspace: new MaskWorkspace() });
          assertSameMasks(r, composed(w, pattern, p), label);
        }
      }
    }
  }
});

/** A workspace whose boundary finders guess a useless bracket, so every collected bracket misses. */
function missingWorkspace(): MaskWorkspace {
  class Blind extends RankBoundary {
    override guess(len: number, k: number, src: Int32Array, start: number, stride = 1): void {
      super.guess(len, k, src, start, stride);
      this.lo = 0x7f000000; // far above any weight here
      this.hi = 0x7f000001;
    }
  }
  const ws = new MaskWorkspace();
  Object.assign(ws, { filterBoundary: new Blind(), positionBoundary: new Blind() });
  return ws;
}

test('bracket misses fall back to a full selection with the same result (filter and position axes)', () => {
  let seed = 9500;
  for (const shape of [[8, 16, 3, 3], [40, 128, 3, 3], [12, 32, 1, 1]] as [number, number, number, number][]) {
    for (const pat of ['2:4', '1:2']) {
      const pattern = NmPattern.parse(pat);
      const w = weight(seed++, shape, 'normal', 0.05);
      for (const p of [0, 0.3]) {
        const expected = computeLayerMask(w, pattern, 'maxq', p, undefined, { workspace: new MaskWorkspace() });
        const blind = computeLayerMask(w, pattern, 'maxq', p, undefined, { workspace: missingWorkspace() });
        assertSameMasks(blind, expected, `${pat} [${shape}] p=${p}`);
      }
    }
  }
});

test('maxqMasks reports k of both axes and reuses one workspace across layer shapes', () => {
  const ws = new MaskWorkspace();
  const pattern = NmPattern.parse('2:4');
  for (const [i, shape] of ([[8, 64, 3, 3], [4, 8, 1, 1], [16, 32, 3, 3], [2, 4, 1, 1]] as [number, number, number, number][]).entries()) {
    const w = weight(9700 + i, shape, 'normal', 0.05);
    const r = maxqMasks(w, pattern, undefined, undefined, ws);
    assert.equal(r.filterTopk, (shape[1] * shape[2] * shape[3]) / 2);
    assert.equal(r.positionTopk, shape[2] * shape[3] > 1 ? (shape[0] * shape[1]) / 2 : null);
    assertSameMasks(r, composed(w, pattern, 0), `[${shape}]`);
  }
});

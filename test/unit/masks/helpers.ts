/**
 * Test helpers for the mask core: the spec's input generator, seeded random weights (including tie-heavy ones),
 * and naive sort-based implementations written straight from the spec text, which the fast paths are compared
 * against.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CanonicalWeight } from '../../../src/core/masks/canonicalWeight';
import { mulberry32 } from '../../../src/core/data/random';

/** Spec §10 input generator: 32-bit LCG, update before each draw, float32((2·(s/2^32) − 1)·scale). */
export function lcgWeights(seed: number, scale: number, n: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (1664525 * s + 1013904223) % 4294967296;
    out[i] = Math.fround((2 * (s / 4294967296) - 1) * scale);
  }
  return out;
}

/** Small deterministic PRNG for test data: the core's own mulberry32. */
export const rng = mulberry32;

export type WeightKind = 'normal' | 'uniform' | 'quantized' | 'sparse';

/**
 * Random weights. 'quantized' draws from a handful of magnitudes with random signs, so equal |w| (ties) occur at
 * every ranking boundary; 'sparse' zeroes about half the values (ties at 0, including −0).
 */
export function randomWeight(seed: number, O: number, I: number, Kh = 1, Kw = 1, kind: WeightKind = 'normal', scale = 0.05): CanonicalWeight {
  const r = rng(seed);
  const n = O * I * Kh * Kw;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const sign = r() < 0.5 ? -1 : 1;
    switch (kind) {
      case 'normal':
        data[i] = scale * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
        break;
      case 'uniform':
        data[i] = (2 * r() - 1) * scale;
        break;
      case 'quantized':
        data[i] = sign * scale * Math.floor(r() * 5) / 4;
        break;
      case 'sparse':
        data[i] = r() < 0.5 ? sign * 0 : (2 * r() - 1) * scale;
        break;
    }
  }
  return { data, O, I, Kh, Kw };
}

export function loadVectors(): VectorFile {
  const file = path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'maxq-vectors.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as VectorFile;
}

export interface VectorCase {
  name: string;
  layer: 'conv' | 'linear';
  shape: number[];
  N: number;
  M: number;
  kernel_size: number;
  seed: number;
  scale: number;
  tau: number;
  schedule: { type: string; cur_epoch: number; total_epochs: number; decay_start: number; decay_end: number; dense_fraction: number };
  num_blocks: number;
  num_dense_blocks: number;
  filter_topk_dropped_per_row: number;
  position_topk_dropped_per_row: number | null;
  weight: number[];
  hard_mask: number[];
  filter_term: number[];
  position_term: number[];
  soft_mask: number[];
  folded_weight: number[];
}

export interface VectorFile {
  cases: VectorCase[];
  tolerances: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------
// Naive references (sorts, Math.exp, float64) — deliberately simple and independent of the fast code.

const idx = (w: CanonicalWeight, o: number, i: number, h: number, x: number) => ((o * w.I + i) * w.Kh + h) * w.Kw + x;

/** §3 by sorting each block by (|w| desc, channel asc) and keeping the first N. */
export function naiveHard(w: CanonicalWeight, n: number, m: number): Uint8Array {
  const out = new Uint8Array(w.data.length);
  for (let o = 0; o < w.O; o++) {
    for (let h = 0; h < w.Kh; h++) {
      for (let x = 0; x < w.Kw; x++) {
        for (let g = 0; g < w.I / m; g++) {
          const members = Array.from({ length: m }, (_, j) => idx(w, o, g * m + j, h, x));
          members.sort((p, q) => Math.abs(w.data[q]) - Math.abs(w.data[p]) || p - q);
          for (let j = 0; j < n; j++) out[members[j]] = 1;
        }
      }
    }
  }
  return out;
}

/** §4.2 by sorting blocks by (fp32 L1, block index) and forcing the first floor(p·blocks) dense. */
export function naiveDense(w: CanonicalWeight, m: number, hard: Uint8Array, p: number): number {
  const blocks: { l1: number; b: number; members: number[] }[] = [];
  for (let o = 0; o < w.O; o++) {
    for (let h = 0; h < w.Kh; h++) {
      for (let x = 0; x < w.Kw; x++) {
        for (let g = 0; g < w.I / m; g++) {
          const members = Array.from({ length: m }, (_, j) => idx(w, o, g * m + j, h, x));
          let l1 = 0;
          for (const e of members) l1 = Math.fround(l1 + Math.abs(w.data[e]));
          blocks.push({ l1, b: ((o * w.Kh + h) * w.Kw + x) * (w.I / m) + g, members });
        }
      }
    }
  }
  const count = Math.floor(p * blocks.length);
  blocks.sort((a, c) => a.l1 - c.l1 || a.b - c.b);
  for (let i = 0; i < count; i++) for (const e of blocks[i].members) hard[e] = 1;
  return count;
}

/** §5 term of one row given as flat indices in ascending order: sort (|w| asc, index desc), drop the first k. */
function naiveRowTerm(w: CanonicalWeight, row: number[], k: number, out: Float64Array): void {
  const sorted = [...row].sort((p, q) => Math.abs(w.data[p]) - Math.abs(w.data[q]) || q - p);
  const thr = (Math.abs(w.data[sorted[k - 1]]) + Math.abs(w.data[sorted[k]])) / 2;
  for (let r = 0; r < sorted.length; r++) {
    const e = sorted[r];
    out[e] = r < k ? 0 : 1 / (1 + Math.exp(-(Math.abs(w.data[e]) - thr) / 0.01));
  }
}

export function naiveTerms(w: CanonicalWeight, n: number, m: number): { filter: Float64Array; position: Float64Array; kF: number; kP: number | null } {
  const drop = (m - n) / m;
  const KK = w.Kh * w.Kw;
  const filter = new Float64Array(w.data.length);
  const position = new Float64Array(w.data.length);
  const LF = w.I * KK;
  const kF = Math.max(1, Math.floor(drop * LF));
  for (let o = 0; o < w.O; o++) naiveRowTerm(w, Array.from({ length: LF }, (_, j) => o * LF + j), kF, filter);
  let kP: number | null = null;
  if (KK > 1) {
    const LP = w.O * w.I;
    kP = Math.max(1, Math.floor(drop * LP));
    for (let p = 0; p < KK; p++) naiveRowTerm(w, Array.from({ length: LP }, (_, oi) => oi * KK + p), kP, position);
  }
  return { filter, position, kF, kP };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

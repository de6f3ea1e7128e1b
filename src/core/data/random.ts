/**
 * Seeded randomness for data order. Runs must be reproducible from their seed on any machine and Node
 * version, so we use our own small generator (mulberry32: 32-bit state, integer-only arithmetic) rather than
 * Math.random, whose algorithm and seed are not ours to fix.
 */

export type Rng = () => number;

/** mulberry32: returns floats uniform in [0, 1) with 32 bits of resolution. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** murmur3's 32-bit finaliser: a bijection on uint32 that spreads every input bit over the output. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Derives an independent seed from a base seed and a few integers (e.g. seed, epoch), so every epoch gets
 * its own order without the caller having to carry RNG state across checkpoints. Each part is hashed before
 * it is combined, so (seed, epoch) pairs do not collide the way seed ^ epoch would.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = fmix32(seed ^ 0x9e3779b9);
  for (const p of parts) h = fmix32(h ^ fmix32(p + 0x7f4a7c15));
  return h;
}

/** In-place Fisher–Yates shuffle driven by `rng`. */
export function shuffleInPlace<T>(items: T[], rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}

/** 0..n-1 in an order fixed by `seed`. */
export function shuffledIndices(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, mulberry32(seed));
  return order;
}

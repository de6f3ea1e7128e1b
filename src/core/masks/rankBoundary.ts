/**
 * Finds where the k smallest magnitudes of one axis row end (spec §5): the k-th and (k+1)-th smallest magnitude
 * and how many values are ≤ the k-th (which exposes ties at the boundary). That is all the soft terms need; no
 * row is ever sorted.
 *
 * How, in linear time and mostly without branches:
 * 1. Guess a key bracket [lo, hi] that should contain both boundary values: from the previous row of the same
 *    axis (rows of one layer have similar magnitude distributions), from a sample of a long row, or the full
 *    key range.
 * 2. One branch-free pass over the row counts the keys below `lo` and appends the keys inside the bracket to a
 *    scratch buffer (write always, advance the cursor by 0 or 1).
 * 3. If the boundary is not inside the bracket, shift/widen it and repeat (rare); the last attempt uses the full
 *    range, so the loop always terminates with the exact answer.
 * 4. Refine inside the buffer with a histogram of ~nb/4 buckets over the bracket: one counting pass, then keep the
 *    bucket(s) of the k-th and (k+1)-th key (ping-ponging between two scratch buffers), repeated while it
 *    shrinks; quickselect finishes the last few keys, or the whole buffer when the keys are too clumped (ties)
 *    to separate. Interpolating a sub-bracket from the rank, as a uniform spread would allow, misses on
 *    a fifth of real rows (the density varies across the bracket) and leaves hundreds of keys to quickselect.
 *
 * `find` does all of this on its own. The fused mask passes (`collectRows.ts`) take step 1 from `guess`, do
 * step 2 while they read the weights for the hard mask anyway, and hand the result to `resolve` (step 4; on a
 * miss the caller falls back to `find`).
 *
 * Keys are `float bits & 0x7fffffff` (see `magnitudeKeys`): non-negative int32 that order like |w|, so
 * `(a − b) >>> 31` is the branch-free `a < b`.
 */
import { MAGNITUDE_MASK } from './canonicalWeight';
import { quickselectInt32 } from './select';

const MAX_KEY = 0x7fffffff;
/** Rows at least this long get a sampled bracket when there is no hint; shorter rows just use the full range. */
const SAMPLE_MIN_LEN = 4096;
const SAMPLE_SIZE = 512;
/** Narrowed attempts before falling back to the full key range. */
const MAX_ATTEMPTS = 3;
/** Hint half-width bounds in key units (2^23 key units = one octave of magnitude). */
const MIN_HALF_WIDTH = 1 << 13;
const INITIAL_HALF_WIDTH = 1 << 21;
/** Buffers at most this long are finished by quickselect instead of another refinement pass. */
const REFINE_MIN = 16;
/** Most histogram buckets per refinement round. */
const MAX_BUCKETS = 4096;

export class RankBoundary {
  /** Magnitude key of the k-th smallest value (1-based k). */
  vk = 0;
  /** Magnitude key of the (k+1)-th smallest value; equals `vk` when the boundary falls inside a run of ties. */
  vk1 = 0;
  /** Number of values with key ≤ vk (≥ k; > k exactly when there is a tie across the boundary). */
  countLE = 0;
  /** Bracket set by `guess`: the keys a collecting pass should keep (inclusive). */
  lo = 0;
  hi = MAX_KEY;

  private buf = new Int32Array(1024);
  private spare = new Int32Array(1024);
  private sample = new Int32Array(SAMPLE_SIZE);
  private hist = new Int32Array(MAX_BUCKETS + 1);
  private cnt = 0;
  private nb = 0;
  private hasHint = false;
  private center = 0;
  private devEma = 0;

  /** Forget the previous row: call when moving to another layer or axis, whose magnitudes may differ. */
  resetHint(): void {
    this.hasHint = false;
  }

  /**
   * Sets [lo, hi] to a bracket that should hold the k-th and (k+1)-th smallest of a row of `len` keys: around the
   * previous row's boundary when there is one, else from a sample of the row when it is long (the row is
   * `src[start + j·stride]`, j < len), else the full key range. Fused passes collect this bracket while they do
   * other work and then call `resolve`.
   */
  guess(len: number, k: number, src: Int32Array, start: number, stride = 1): void {
    if (this.hasHint) {
      const half = Math.max(MIN_HALF_WIDTH, Math.round(4 * this.devEma));
      this.lo = Math.max(0, this.center - half);
      this.hi = Math.min(MAX_KEY, this.center + half);
    } else if (len >= SAMPLE_MIN_LEN) {
      this.sampleBracket(src, start, len, k, stride);
    } else {
      this.lo = 0;
      this.hi = MAX_KEY;
    }
  }

  /**
   * Boundary of the `k` smallest magnitude keys among `src[start, start + len)` (each read as `src[i] & 0x7fffffff`,
   * so raw float bits can be passed directly). Requires 1 ≤ k < len.
   */
  find(src: Int32Array, start: number, len: number, k: number): void {
    if (!(k >= 1 && k < len)) throw new RangeError(`boundary rank ${k} needs 1 <= k < ${len}`);
    if (this.buf.length < len) this.buf = new Int32Array(Math.max(len, this.buf.length * 2));
    this.guess(len, k, src, start);
    let lo = this.lo;
    let hi = this.hi;
    for (let attempt = 0; ; attempt++) {
      this.bracketPass(src, start, len, lo, hi);
      const cnt = this.cnt;
      if (cnt < k && cnt + this.nb >= k + 1) break;
      if (attempt >= MAX_ATTEMPTS) {
        lo = 0;
        hi = MAX_KEY;
        continue;
      }
      const width = hi - lo + 1;
      if (cnt >= k) {
        // Both boundary values are below lo: everything from lo up is excluded.
        hi = lo - 1;
        lo = Math.max(0, lo - 4 * width);
      } else if (cnt + this.nb <= k - 1) {
        // Both are above hi.
        lo = hi + 1;
        hi = Math.min(MAX_KEY, hi + 4 * width);
      } else {
        // The k-th is inside, only the (k+1)-th is above: extend upwards.
        hi = Math.min(MAX_KEY, hi + 4 * width);
      }
    }
    this.finish(this.buf, this.nb, this.cnt, lo, hi, k);
  }

  /**
   * Finishes a row from a bracket collected elsewhere: `below` keys of the row are < lo and `buf[0, nb)` holds
   * the keys in [lo, hi] (magnitude keys, order irrelevant; `buf` is used as scratch). Returns false, changing
   * nothing, when the bracket does not contain both boundary values; the caller then falls back to `find`.
   */
  resolve(buf: Int32Array, nb: number, below: number, lo: number, hi: number, k: number): boolean {
    if (!(below < k && below + nb >= k + 1)) return false;
    this.finish(buf, nb, below, lo, hi, k);
    return true;
  }

  /** Exact boundary inside a bracket known to contain it; updates the hint for the next row. */
  private finish(first: Int32Array, nb: number, below: number, lo: number, hi: number, k: number): void {
    // Narrow the buffer with a histogram over [lo, hi] (buckets of 2^shift keys, about 4 keys per bucket): keep
    // only the buckets holding the k-th and (k+1)-th key, and repeat while that shrinks the buffer; quickselect
    // finishes the last few keys, or the whole buffer when they are too clumped (ties) for buckets to separate.
    let buf: Int32Array = first;
    if (this.spare.length < nb) this.spare = new Int32Array(Math.max(nb, this.spare.length * 2));
    let other: Int32Array = this.spare;
    const hist = this.hist;
    while (nb > REFINE_MIN) {
      const r = k - below; // 1-based rank of the k-th inside buf; r + 1 ≤ nb
      const span = hi - lo + 1; // ≤ 2^31 − 1 keys
      const want = Math.min(MAX_BUCKETS, nb >> 2);
      let shift = 0;
      while (span >>> shift > want) shift++;
      hist.fill(0, 0, ((span - 1) >>> shift) + 1);
      for (let i = 0; i < nb; i++) hist[(buf[i] - lo) >>> shift]++;
      let b = 0;
      let before = 0; // keys in the buckets below b
      while (before + hist[b] < r) before += hist[b++];
      let b2 = b;
      let upTo = before + hist[b];
      while (upTo < r + 1) upTo += hist[++b2];
      const n2 = upTo - before;
      if (n2 * 2 > nb) break;
      // Keys of buckets b..b2 (int32 arithmetic: every offset is < span ≤ 2^31 − 1).
      const nlo = lo + (b << shift);
      const nhi = lo + Math.min(hi - lo, (b2 << shift) | ((1 << shift) - 1));
      for (let i = 0, m = 0; i < nb; i++) {
        const key = buf[i];
        other[m] = key;
        m += 1 ^ (((key - nlo) | (nhi - key)) >>> 31);
      }
      below += before;
      nb = n2;
      lo = nlo;
      hi = nhi;
      const t = buf;
      buf = other;
      other = t;
    }

    const r = k - below; // 1-based rank inside the buffer
    const vk = quickselectInt32(buf, 0, nb, r - 1);
    // After selection buf[0, r−1) ≤ vk ≤ buf(r−1, nb): the first r are ≤ vk; count the ties after them and
    // find the next larger key.
    let le = r;
    let above = MAX_KEY;
    for (let i = r; i < nb; i++) {
      const x = buf[i];
      if (x === vk) le++;
      else if (x < above) above = x;
    }
    this.vk = vk;
    this.countLE = below + le;
    this.vk1 = this.countLE > k ? vk : above;

    // Next row's bracket: centred on this boundary, half-width ~4× the typical row-to-row movement.
    if (this.hasHint) this.devEma = 0.75 * this.devEma + 0.25 * Math.abs(vk - this.center);
    else this.devEma = INITIAL_HALF_WIDTH / 4;
    this.center = vk;
    this.hasHint = true;
  }

  /** Bracket from a jittered systematic sample: the sample quantiles ±3 standard deviations of the sample rank. */
  private sampleBracket(src: Int32Array, start: number, len: number, k: number, stride: number): void {
    const s = SAMPLE_SIZE;
    const sample = this.sample;
    const step = len / s;
    let seed = 0x9e3779b9 ^ len;
    for (let j = 0; j < s; j++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
      const u = (seed >>> 8) / 16777216; // [0, 1)
      const pos = start + stride * Math.min(len - 1, Math.floor((j + u) * step));
      sample[j] = src[pos] & MAGNITUDE_MASK;
    }
    sample.sort();
    const q = k / len;
    const rank = q * s;
    const d = 3 * Math.sqrt(s * q * (1 - q)) + 2;
    const loIdx = Math.floor(rank - d);
    const hiIdx = Math.ceil(rank + d);
    this.lo = loIdx < 0 ? 0 : sample[loIdx];
    this.hi = hiIdx >= s ? MAX_KEY : sample[hiIdx];
  }

  /** Branch-free: count keys < lo, append keys in [lo, hi] to the buffer. */
  private bracketPass(src: Int32Array, start: number, len: number, lo: number, hi: number): void {
    const buf = this.buf;
    const end = start + len;
    let cnt = 0;
    let nb = 0;
    for (let i = start; i < end; i++) {
      const key = src[i] & MAGNITUDE_MASK;
      cnt += (key - lo) >>> 31;
      buf[nb] = key;
      nb += 1 ^ (((key - lo) | (hi - key)) >>> 31);
    }
    this.cnt = cnt;
    this.nb = nb;
  }
}

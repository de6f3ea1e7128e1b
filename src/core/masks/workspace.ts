/**
 * Scratch memory reused across layers and steps: mask computation runs for every layer at every training step,
 * and re-allocating row buffers each time would churn the GC for nothing. Not thread-safe by design — one
 * workspace per thread (the default one belongs to the thread that imports this module).
 */
import { PositionBrackets } from './collectRows';
import { RankBoundary } from './rankBoundary';
import { thresholdOf } from './softTerm';

/** Per-row parameters of one axis: boundary key, threshold, and how many boundary ties stay kept. */
export class AxisRows {
  vk = new Int32Array(0);
  thr = new Float64Array(0);
  keepEq = new Int32Array(0);
  seen = new Int32Array(0);

  ensure(rows: number): this {
    if (this.vk.length < rows) {
      this.vk = new Int32Array(rows);
      this.thr = new Float64Array(rows);
      this.keepEq = new Int32Array(rows);
      this.seen = new Int32Array(rows);
    }
    this.seen.fill(0, 0, rows);
    return this;
  }

  /** Row r from a resolved boundary of rank k. */
  set(r: number, b: RankBoundary, k: number): void {
    this.vk[r] = b.vk;
    this.thr[r] = thresholdOf(b.vk, b.vk1);
    this.keepEq[r] = b.countLE - k;
  }
}

export class MaskWorkspace {
  readonly filterBoundary = new RankBoundary();
  readonly positionBoundary = new RankBoundary();
  readonly blockBoundary = new RankBoundary();
  readonly filterRows = new AxisRows();
  readonly positionRows = new AxisRows();
  readonly positionBrackets = new PositionBrackets();
  private posKeys = new Int32Array(0);
  private bracketKeys = new Int32Array(0);
  private list = new Int32Array(0);
  private counts = new Int32Array(0);
  private norms = new Float32Array(0);

  /** Buffer for the position-axis keys, laid out one contiguous row per kernel position. */
  positionKeys(n: number): Int32Array {
    if (this.posKeys.length < n) this.posKeys = new Int32Array(n);
    return this.posKeys;
  }

  /** Buffer for the keys inside one filter row's bracket. */
  filterBracket(n: number): Int32Array {
    if (this.bracketKeys.length < n) this.bracketKeys = new Int32Array(n);
    return this.bracketKeys;
  }

  /** Index list of the H = 1 weights (one row, or one layer when Kh·Kw > 1). */
  softList(n: number): Int32Array {
    if (this.list.length < n) this.list = new Int32Array(n);
    return this.list;
  }

  /** Per-(row, kernel position) counters. */
  listCounts(n: number): Int32Array {
    if (this.counts.length < n) this.counts = new Int32Array(n);
    return this.counts;
  }

  /** Buffer for per-block L1 norms (dense-block selection). */
  blockNorms(n: number): Float32Array {
    if (this.norms.length < n) this.norms = new Float32Array(n);
    return this.norms;
  }

  /** Drop the big buffers (e.g. after the last layer of a model). */
  release(): void {
    this.posKeys = new Int32Array(0);
    this.norms = new Float32Array(0);
    this.bracketKeys = new Int32Array(0);
    this.list = new Int32Array(0);
    this.counts = new Int32Array(0);
    this.positionBrackets.release();
  }
}

let shared: MaskWorkspace | undefined;

/** The workspace used when a caller does not pass one. */
export function defaultWorkspace(): MaskWorkspace {
  shared ??= new MaskWorkspace();
  return shared;
}

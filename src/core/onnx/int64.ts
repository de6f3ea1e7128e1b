/**
 * protobufjs returns int64 fields as `Long` objects (the `long` package is installed) or as plain numbers
 * (when built without it, or for values set from JS). These helpers turn either into number or bigint.
 */
import { protobuf } from './proto';

export type LongLike = number | string | protobuf.Long | { low: number; high: number; unsigned?: boolean } | null | undefined;

function isLong(v: unknown): v is { low: number; high: number; unsigned?: boolean } {
  return typeof v === 'object' && v !== null && typeof (v as { low?: unknown }).low === 'number' && typeof (v as { high?: unknown }).high === 'number';
}

/** Exact value as bigint. */
export function toBigInt(v: LongLike, unsigned = false): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string') return BigInt(v);
  if (isLong(v)) {
    const lo = BigInt(v.low >>> 0);
    const hi = BigInt(v.high >>> 0);
    const u = (hi << 32n) | lo;
    return unsigned || v.unsigned ? u : BigInt.asIntN(64, u);
  }
  return BigInt(String(v));
}

/** Value as a number; `undefined` when it is outside ±2^53 and would lose precision. */
export function toSafeNumber(v: LongLike, unsigned = false): number | undefined {
  const b = toBigInt(v, unsigned);
  return b > BigInt(Number.MAX_SAFE_INTEGER) || b < -BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(b);
}

/** Value as a number, rounded when beyond 2^53 (for values that only need to be approximately right). */
export function toNumber(v: LongLike, unsigned = false): number {
  return Number(toBigInt(v, unsigned));
}

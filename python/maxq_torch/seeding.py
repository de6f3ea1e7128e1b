"""The TypeScript engine's seeded data order (src/core/data/random.ts, split.ts, batches.ts), ported bit for bit:
mulberry32, the murmur3 finaliser behind deriveSeed, Fisher-Yates. A held-out split and the batches of epoch e are
pure functions of (count, seed, epoch), identical in both engines and between a run and its resume."""
from typing import List

from .errors import UsageError

_M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & _M32


def mulberry32(seed: int):
    state = [seed & _M32]

    def rng() -> float:
        state[0] = (state[0] + 0x6D2B79F5) & _M32
        t = state[0]
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & _M32
        return ((t ^ (t >> 14)) & _M32) / 4294967296

    return rng


def _fmix32(x: int) -> int:
    h = x & _M32
    h ^= h >> 16
    h = _imul(h, 0x85EBCA6B)
    h ^= h >> 13
    h = _imul(h, 0xC2B2AE35)
    h ^= h >> 16
    return h & _M32


def derive_seed(seed: int, *parts: int) -> int:
    h = _fmix32((seed ^ 0x9E3779B9) & _M32)
    for p in parts:
        h = _fmix32(h ^ _fmix32((p + 0x7F4A7C15) & _M32))
    return h


def shuffle_in_place(items: list, rng) -> None:
    for i in range(len(items) - 1, 0, -1):
        j = int(rng() * (i + 1))
        items[i], items[j] = items[j], items[i]


def shuffled_indices(n: int, seed: int) -> List[int]:
    order = list(range(n))
    shuffle_in_place(order, mulberry32(seed))
    return order


def train_val_split(count: int, val_fraction: float, seed: int):
    """(train, val) index lists: the first round(count * fraction) of a seeded shuffle are held out (both sorted)."""
    if not (0 <= val_fraction < 1):
        raise UsageError(f"validation fraction must be in [0, 1), got {val_fraction}")
    val_count = _js_round(count * val_fraction)
    if val_count >= count:
        raise UsageError(f"cannot hold out {val_count} of {count} samples for validation "
                         "(leave at least one for training)")
    order = shuffled_indices(count, seed)
    return sorted(order[val_count:]), sorted(order[:val_count])


def _js_round(x: float) -> int:
    """Math.round: halves round up."""
    import math
    return math.floor(x + 0.5)


def epoch_batches(count: int, batch_size: int, seed: int, epoch: int, drop_last: bool = True) -> List[List[int]]:
    """The batches of epoch `epoch` over 0..count-1, shuffled with deriveSeed(seed, epoch), as the TS epochBatches."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch size must be a positive integer, got {batch_size}")
    order = list(range(count))
    shuffle_in_place(order, mulberry32(derive_seed(seed, epoch)))
    out = []
    for start in range(0, count, batch_size):
        end = start + batch_size
        if end > count and drop_last:
            break
        out.append(order[start:min(end, count)])
    return out

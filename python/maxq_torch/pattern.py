"""An N:M pattern (spec §1): in every group of M consecutive input channels at most N weights are non-zero.

Same rules and messages as the TypeScript `NmPattern` (src/core/masks/nmPattern.ts): two integers 1 <= N < M,
M <= 1024, written "N:M" with optional spaces around the colon.
"""
import re
from dataclasses import dataclass

from .errors import UsageError

MAX_M = 1024
_PATTERN_RE = re.compile(r"^\s*([+-]?[0-9]*\.?[0-9]+)\s*:\s*([+-]?[0-9]*\.?[0-9]+)\s*$")


@dataclass(frozen=True)
class NmPattern:
    n: int
    m: int

    def __post_init__(self):
        _check(self.n, self.m, f"{self.n}:{self.m}")

    @staticmethod
    def parse(text) -> "NmPattern":
        if isinstance(text, NmPattern):
            return text
        if not isinstance(text, str):
            raise UsageError(f'N:M pattern must be text like "2:4", got {text!r}')
        match = _PATTERN_RE.match(text)
        if not match:
            raise UsageError(f'invalid N:M pattern "{text}": expected two integers like "2:4"')
        n, m = float(match.group(1)), float(match.group(2))
        _check(n, m, text.strip())
        return NmPattern(int(n), int(m))

    @property
    def drop(self) -> float:
        """(M - N) / M as an IEEE double (spec §1)."""
        return (self.m - self.n) / self.m

    @property
    def density(self) -> float:
        return self.n / self.m

    def __str__(self) -> str:
        return f"{self.n}:{self.m}"


def _check(n, m, text):
    if isinstance(n, bool) or isinstance(m, bool) or float(n) != int(n) or float(m) != int(m):
        raise UsageError(f'invalid N:M pattern "{text}": N and M must be integers')
    if m < 2:
        raise UsageError(f'invalid N:M pattern "{text}": M must be at least 2')
    if m > MAX_M:
        raise UsageError(f'invalid N:M pattern "{text}": M must be at most {MAX_M}')
    if n < 1:
        raise UsageError(f'invalid N:M pattern "{text}": N must be at least 1')
    if n >= m:
        raise UsageError(f'invalid N:M pattern "{text}": N must be smaller than M (N = M keeps every weight)')

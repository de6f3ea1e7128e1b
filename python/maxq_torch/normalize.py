"""Input preprocessing `x' = (x * scale - mean[c]) / std[c]`, written `SCALE,MEAN,STD` exactly like the TypeScript
`--normalize` (src/core/data/normalize.ts): numbers may be fractions `a/b`, per-channel lists use `:`, and the
preset names none, unit, symmetric, imagenet and mnist are accepted."""
import math
from dataclasses import dataclass
from typing import List

from .errors import UsageError

PRESETS = {
    "none": "1,0,1",
    "unit": "1/255,0,1",
    "symmetric": "2/255,1,1",
    "imagenet": "1/255,0.485:0.456:0.406,0.229:0.224:0.225",
    "mnist": "1/255,0.1307,0.3081",
}


@dataclass(frozen=True)
class Normalization:
    scale: float
    mean: List[float]
    std: List[float]

    def per_channel(self, channels: int):
        """(mul, add) lists such that x' = mul[c] * x + add[c]."""
        for what, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels):
                raise UsageError(f"normalisation {what} has {len(values)} values but the inputs have {channels} "
                                 f"channels (give 1 or {channels})")
        mean = self.mean * channels if len(self.mean) == 1 else self.mean
        std = self.std * channels if len(self.std) == 1 else self.std
        return [self.scale / s for s in std], [-m / s for m, s in zip(mean, std)]

    def __str__(self):
        return f"{self.scale},{':'.join(str(m) for m in self.mean)},{':'.join(str(s) for s in self.std)}"


def _number(text: str, what: str, spec: str) -> float:
    t = text.strip()
    try:
        if "/" in t:
            a, b = t.split("/")
            value = float(a.strip()) / float(b.strip())
        else:
            value = float(t)
    except (ValueError, ZeroDivisionError):
        value = math.nan
    if not math.isfinite(value):
        raise UsageError(f"bad {what} '{text}' in normalisation '{spec}' (expected a number or a fraction like 1/255)")
    return value


def parse_normalization(spec: str) -> Normalization:
    if not isinstance(spec, str):
        raise UsageError(f"normalisation must be text like 1/255,0.1307,0.3081, got {spec!r}")
    spec = PRESETS.get(spec.strip().lower(), spec)
    parts = spec.split(",")
    if len(parts) != 3:
        raise UsageError(f"normalisation '{spec}' must be SCALE,MEAN,STD (e.g. 1/255,0.1307,0.3081; per-channel "
                         f"mean/std separated by ':') or a preset: {', '.join(PRESETS)}")
    scale = _number(parts[0], "scale", spec)
    mean = [_number(p, "mean", spec) for p in parts[1].split(":")]
    std = [_number(p, "std", spec) for p in parts[2].split(":")]
    if scale == 0:
        raise UsageError(f"normalisation scale must be a non-zero number, got {scale}")
    if any(s <= 0 for s in std):
        raise UsageError(f"normalisation std must be positive, got {':'.join(str(s) for s in std)}")
    return Normalization(scale, mean, std)

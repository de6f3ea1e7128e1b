"""The dense-fraction schedule p (spec §4.1) and the learning-rate schedules, ported from the TypeScript engine
(src/core/masks/denseFractionSchedule.ts, src/core/training/optim/lr-schedule.ts, src/core/sparsify/sparsify.ts
`scheduleFor`). Both are pure functions of the (global) step, so a resumed run gets the values an uninterrupted
run would have."""
import math
from dataclasses import dataclass

from .errors import UsageError

SCHEDULE_KINDS = ("linear", "cubic", "cos", "exp")
GRANULARITIES = ("step", "epoch")
LR_SCHEDULES = ("cosine", "step", "constant")
EXP_RATE = 0.05


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_kind(name) -> str:
    if name not in SCHEDULE_KINDS:
        raise UsageError(f"unknown schedule '{name}' (use {', '.join(SCHEDULE_KINDS)})")
    return name


def _exp_ramp(d: float) -> float:
    return 1 - math.exp(-EXP_RATE * d)


@dataclass(frozen=True)
class DenseFractionSchedule:
    """p = 1 before decay_start (s), decays to 0 at decay_end (t), then 0; s = t = 0 means no schedule."""
    kind: str
    decay_start: int
    decay_end: int
    total_epochs: int

    def __post_init__(self):
        parse_kind(self.kind)
        s, t, e = self.decay_start, self.decay_end, self.total_epochs
        if not _is_int(e) or e < 1:
            raise UsageError(f"total epochs must be an integer >= 1, got {e}")
        if not _is_int(s) or s < 0:
            raise UsageError(f"decay start must be an integer >= 0, got {s}")
        if not _is_int(t) or t < 0:
            raise UsageError(f"decay end must be an integer >= 0, got {t}")
        if s > t:
            raise UsageError(f"decay start {s} is after decay end {t}")
        if t >= e:
            raise UsageError(f"decay end {t} must be before the last epoch (0-based epochs < {e})")

    @staticmethod
    def none(total_epochs: int, kind: str = "linear") -> "DenseFractionSchedule":
        return DenseFractionSchedule(kind, 0, 0, total_epochs)

    @staticmethod
    def default_for_fine_tune(epochs: int) -> "DenseFractionSchedule":
        """Product default (spec §8.2): linear, s = 0, t = ceil(0.25 * epochs); none when t >= epochs."""
        if not _is_int(epochs) or epochs < 1:
            raise UsageError(f"epochs must be an integer >= 1, got {epochs}")
        t = math.ceil(0.25 * epochs)
        if t >= epochs:
            return DenseFractionSchedule.none(epochs)
        return DenseFractionSchedule("linear", 0, t, epochs)

    @property
    def is_none(self) -> bool:
        return self.decay_start == 0 and self.decay_end == 0

    def at(self, e: float) -> float:
        """p at epoch e (0 <= e < E, fractional allowed), in doubles."""
        if not isinstance(e, (int, float)) or not math.isfinite(e) or e < 0 or e >= self.total_epochs:
            raise UsageError(f"epoch {e} is outside [0, {self.total_epochs})")
        s, t = self.decay_start, self.decay_end
        if s == 0 and t == 0:
            return 0.0
        if e < s:
            return 1.0
        if e >= t:
            return 0.0
        x = (e - s) / (t - s)
        if self.kind == "linear":
            return 1 - x
        if self.kind == "cubic":
            return math.pow(1 - x, 3)
        if self.kind == "cos":
            return math.cos((x * math.pi) / 2)
        if t - s == 1:
            return 1.0
        if e >= t - 1:
            return 0.0
        return 1 - _exp_ramp(e - s) / _exp_ramp(t - s - 1)

    def at_step(self, global_step: int, steps_per_epoch: int, granularity: str = "step") -> float:
        """p for optimizer step `global_step`: at the fractional epoch step / steps_per_epoch ('step', the product
        default) or constant within an epoch ('epoch', the reference)."""
        if granularity not in GRANULARITIES:
            raise UsageError(f"unknown schedule granularity '{granularity}' (use step or epoch)")
        if not _is_int(steps_per_epoch) or steps_per_epoch < 1:
            raise UsageError(f"steps per epoch must be an integer >= 1, got {steps_per_epoch}")
        if not _is_int(global_step) or global_step < 0:
            raise UsageError(f"step must be an integer >= 0, got {global_step}")
        if granularity == "epoch":
            return self.at(global_step // steps_per_epoch)
        epoch, step = divmod(global_step, steps_per_epoch)
        return self.at(epoch + step / steps_per_epoch)


def schedule_for(epochs: int, kind=None, decay_start=None, decay_end=None) -> DenseFractionSchedule:
    """The run's schedule from the options, as the TS `scheduleFor`: nothing given -> the product default; else the
    missing values default to linear, s = 0, t = ceil(0.25 * epochs), and t is clamped to epochs - 1."""
    if kind is None and decay_start is None and decay_end is None:
        return DenseFractionSchedule.default_for_fine_tune(epochs)
    s = 0 if decay_start is None else decay_start
    t = math.ceil(0.25 * epochs) if decay_end is None else decay_end
    return DenseFractionSchedule(kind or "linear", s, epochs - 1 if t >= epochs else t, epochs)


@dataclass(frozen=True)
class LrSchedule:
    """constant; cosine per step, lr = base * (1 + cos(pi * step / (E * S))) / 2 (the TS fine-tune's choice);
    step, lr = base * 0.1 ** floor(epoch / max(1, ceil(E / 3)))."""
    kind: str
    base_lr: float
    epochs: int
    steps_per_epoch: int

    def __post_init__(self):
        if self.kind not in LR_SCHEDULES:
            raise UsageError(f"unknown learning-rate schedule '{self.kind}' (constant, cosine or step)")
        if not (isinstance(self.base_lr, (int, float)) and math.isfinite(self.base_lr) and self.base_lr >= 0):
            raise UsageError(f"learning rate must be a finite number >= 0, got {self.base_lr}")
        if not _is_int(self.epochs) or self.epochs < 1:
            raise UsageError(f"epochs must be a positive integer, got {self.epochs}")
        if not _is_int(self.steps_per_epoch) or self.steps_per_epoch < 1:
            raise UsageError(f"steps per epoch must be a positive integer, got {self.steps_per_epoch}")

    def at(self, global_step: int) -> float:
        epoch = global_step // self.steps_per_epoch
        if self.kind == "constant":
            return float(self.base_lr)
        if self.kind == "cosine":
            tau = global_step / (self.epochs * self.steps_per_epoch)
            return self.base_lr * 0.5 * (1 + math.cos(math.pi * min(1.0, tau)))
        every = max(1, math.ceil(self.epochs / 3))
        return self.base_lr * 0.1 ** (epoch // every)

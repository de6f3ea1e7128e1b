"""MaxQ training on an ordinary nn.Module (spec §6).

`MaxQSparsifier(model, "2:4")` finds the layers under the TS engine's policy (policy.py) and puts a parametrization
on each selected weight: every forward recomputes H and S from the current dense weight at the sparsifier's dense
fraction p (outside autograd) and feeds W * S with a straight-through gradient (dL/dW = dL/dW_eff, not multiplied
by S, not masked). After backward, `add_srste_decay()` adds lambda * (1 - H) * W to each gradient (maxq and srste;
magnitude trains with the plain STE). The masks are a deterministic function of the weights, and DDP keeps the
weights equal on every rank, so every rank computes identical masks.

    sp = MaxQSparsifier(model, "2:4", example_input=x)
    for step ...:
        sp.set_dense_fraction(schedule.at_step(global_step, steps_per_epoch))
        loss = criterion(model(x), y); loss.backward()
        sp.add_srste_decay(); optimizer.step(); optimizer.zero_grad()
    fold(model)   # fold.py: W * S(p = 0) written into the weights, masks removed
"""
from typing import Dict, Optional

import torch
from torch import nn
from torch.nn.utils import parametrize

from .errors import UsageError
from .masks import canonical_view, check_method, compute_layer_mask, from_canonical
from .pattern import NmPattern
from .policy import LayerInfo, discover_layers

SRSTE_LAMBDA = 2e-4


class _StraightThrough(torch.autograd.Function):
    """W * S forward; the gradient passes to W unchanged (spec §6)."""

    @staticmethod
    def forward(ctx, weight, soft):
        return weight * soft

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class MaskedWeight(nn.Module):
    """The parametrization of one sparsified weight. Holds this step's H and S in the stored layout."""

    def __init__(self, owner: "MaxQSparsifier", info: LayerInfo):
        super().__init__()
        self._owner = [owner]  # a list, so the sparsifier is not registered as a submodule
        self.layer_name = info.name
        self.transposed = info.transposed
        self.hard: Optional[torch.Tensor] = None
        self.soft: Optional[torch.Tensor] = None
        self.last = None

    def masks(self, weight: torch.Tensor, dense_fraction: float):
        owner = self._owner[0]
        with torch.no_grad():
            w4 = canonical_view(weight.detach().float(), self.transposed, self.layer_name)
            m = compute_layer_mask(w4, owner.pattern, owner.method, dense_fraction, self.layer_name)
            shape = list(weight.shape)
            hard = from_canonical(m.hard, shape, self.transposed)
            soft = from_canonical(m.soft, shape, self.transposed).to(weight.dtype)
        return m, hard, soft

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        m, self.hard, self.soft = self.masks(weight, self._owner[0].dense_fraction)
        self.last = m
        return _StraightThrough.apply(weight, self.soft)


class MaxQSparsifier:
    def __init__(self, model: nn.Module, pattern="2:4", method: str = "maxq", include=(), exclude=(),
                 example_input: Optional[torch.Tensor] = None, srste_lambda: float = SRSTE_LAMBDA):
        if isinstance(model, nn.parallel.DistributedDataParallel):
            raise UsageError("wrap the model in DistributedDataParallel after MaxQSparsifier, not before")
        self.model = model
        self.pattern = NmPattern.parse(pattern)
        self.method = check_method(method)
        if not (srste_lambda >= 0):
            raise UsageError(f"SR-STE lambda must be a finite number >= 0, got {srste_lambda}")
        self.srste_lambda = srste_lambda
        self.dense_fraction = 0.0
        self.layers = discover_layers(model, self.pattern.m, list(include or ()), list(exclude or ()), example_input)
        self.selected = [l for l in self.layers if l.selected]
        self._masks: Dict[str, MaskedWeight] = {}
        for info in self.selected:
            mw = MaskedWeight(self, info)
            parametrize.register_parametrization(info.module, "weight", mw)
            self._masks[info.name] = mw

    def set_dense_fraction(self, p: float) -> None:
        if not isinstance(p, (int, float)) or not (0 <= p <= 1):
            raise UsageError(f"dense fraction must be a number in [0, 1], got {p}")
        self.dense_fraction = float(p)

    def dense_weight(self, info: LayerInfo) -> torch.Tensor:
        """The dense fp32 weight the optimizer updates (the parametrization's original)."""
        return info.module.parametrizations.weight.original

    def current_masks(self):
        """{layer name: (hard, soft)} of the last forward, stored layout."""
        return {name: (mw.hard, mw.soft) for name, mw in self._masks.items()}

    def masks_at(self, dense_fraction: float):
        """{layer name: LayerMask} recomputed from the current weights at `dense_fraction` (no forward needed)."""
        out = {}
        for info in self.selected:
            m, _, _ = self._masks[info.name].masks(self.dense_weight(info), dense_fraction)
            out[info.name] = m
        return out

    def add_srste_decay(self) -> None:
        """G += lambda * (1 - H) * W with this step's H (maxq and srste)."""
        if self.method == "magnitude" or self.srste_lambda == 0:
            return
        with torch.no_grad():
            for info in self.selected:
                mw = self._masks[info.name]
                w = self.dense_weight(info)
                if mw.hard is None or w.grad is None:
                    continue
                w.grad.add_((1 - mw.hard.to(w.dtype)) * w, alpha=self.srste_lambda)

    def summary(self):
        return [l.to_json() for l in self.layers]

"""Folding for export (spec §7): W_inf = W * S(W_final, p = 0), written into each sparsified weight, the masks
removed. Zeros are written as +0; every N:M group is checked before the weights are replaced."""
from typing import Dict

import torch
from torch import nn
from torch.nn.utils import parametrize

from .masks import nm_violations
from .sparsifier import MaskedWeight


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def fold(model: nn.Module) -> Dict[str, int]:
    """Folds every MaxQ-masked weight of `model` (or of the module a DDP wrapper holds) in place and returns
    {layer name: N:M groups checked}. Raises RuntimeError naming the layer if a folded weight breaks the pattern
    (it cannot, short of a bug)."""
    model = _unwrap(model)
    folded = {}
    for _, mod in list(model.named_modules()):
        if not parametrize.is_parametrized(mod, "weight"):
            continue
        plist = mod.parametrizations.weight
        masked = [p for p in plist if isinstance(p, MaskedWeight)]
        if not masked:
            continue
        if len(plist) != 1:
            raise RuntimeError(f"layer '{masked[0].layer_name}' has other parametrizations on its weight; "
                               "fold only handles the MaxQ mask")
        mw = masked[0]
        owner = mw._owner[0]
        with torch.no_grad():
            w = plist.original.detach()
            _, _, soft = mw.masks(w, 0.0)
            value = (w * soft) + 0.0  # +0 instead of -0 where H = 0
            bad = nm_violations(value, owner.pattern, mw.transposed)
            if bad:
                raise RuntimeError(f"internal: folded weight of {mw.layer_name} breaks {owner.pattern} in {bad} groups")
            groups = value.numel() // owner.pattern.m
        parametrize.remove_parametrizations(mod, "weight", leave_parametrized=False)
        with torch.no_grad():
            mod.weight.copy_(value)
        folded[mw.layer_name] = groups
    return folded

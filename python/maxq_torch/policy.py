"""Which Conv2d / Linear layers get sparsified: the TS engine's layer policy (src/core/layers/layerPolicy.ts and
layerDiscovery.ts, spec §8) over an nn.Module.

Structural eligibility (cannot be overridden): a 2-D conv with groups == 1 (depthwise / grouped convs are left
dense), input channels (features) a multiple of M, a weight not shared with an earlier layer. Policy roles (the
user may opt these back in with include): the first conv (consumes the model input), a linear stem, the final
classifier (only when named exactly), other linear layers (opt-in; a glob opts them in as a group). When nothing
is included by name and the model has no selected conv, or its linear layers hold more weights than its selected
convs, the linear layers are selected too (never the classifier or a linear stem).

Layer names are the weight's name: the ONNX initializer name for models built from an .onnx file (the names the
TS engine reports), `<module path>.weight` for a PyTorch module. Roles come from the ONNX graph for .onnx models
and from one probe forward pass otherwise (first executed conv = first conv; the last executed layer, when it is
a Linear, or a Linear whose output is the model output = final classifier).
"""
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import torch
from torch import nn

ROLE_REASON = {
    "first-conv": "first conv (consumes the model input; the MaxQ reference keeps it dense)",
    "stem-linear": "linear stem (patch embedding of the model input; kept dense like the first conv)",
    "final-classifier": "final classifier (kept dense unless named with --include)",
    "linear": "linear layer (opt-in: name it with --include)",
}


@dataclass
class LayerInfo:
    name: str
    node_name: str
    op: str  # Conv | Gemm | MatMul (Linear modules report Gemm, as their ONNX export)
    module: nn.Module = field(repr=False)
    shape: List[int]
    transposed: bool
    params: int
    eligible: bool
    selected: bool
    reason: Optional[str] = None
    role: Optional[str] = None
    linear_fallback: bool = False

    def to_json(self):
        out = {"name": self.name, "nodeName": self.node_name, "op": self.op, "shape": self.shape,
               "eligible": self.eligible, "selected": self.selected}
        if self.reason:
            out["reason"] = self.reason
        return out


def glob_to_regex(pattern: str):
    escaped = re.sub(r"[.+^${}()|\[\]\\]", lambda m: "\\" + m.group(0), pattern)
    return re.compile("^" + escaped.replace("*", ".*").replace("?", ".") + "$")


def _matches(patterns: Optional[Sequence[str]], name: str, node: str):
    hit = None
    for p in patterns or ():
        if p == name or p == node:
            return "exact"
        rx = glob_to_regex(p)
        if rx.match(name) or rx.match(node):
            hit = "glob"
    return hit


def apply_policy(name: str, node: str, structural: Optional[str], role: Optional[str], include, exclude):
    if structural:
        return False, structural
    if _matches(exclude, name, node):
        return False, "excluded by --exclude"
    if role is None:
        return True, None
    inc = _matches(include, name, node)
    if inc == "exact" or (inc == "glob" and role != "final-classifier"):
        return True, None
    return False, ROLE_REASON[role]


def _layer_modules(model: nn.Module):
    for qual, mod in model.named_modules():
        if getattr(mod, "maxq_op", None) in ("Conv", "Gemm", "MatMul"):
            yield qual, mod
        elif isinstance(mod, (nn.Conv2d, nn.Linear)):
            yield qual, mod


def probe_roles(model: nn.Module, example_input: torch.Tensor):
    """Roles from one forward pass in eval mode (no gradient, model state restored)."""
    order, outputs = [], {}
    hooks = []
    for qual, mod in _layer_modules(model):
        def hook(m, inp, out, q=qual):
            order.append(q)
            outputs[q] = out
        hooks.append(mod.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            result = model(example_input)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    mods = dict(_layer_modules(model))
    roles = {}
    if order:
        first = order[0]
        roles[first] = "first-conv" if _op(mods[first]) == "Conv" else "stem-linear"
        last = order[-1]
        if _op(mods[last]) != "Conv":
            roles[last] = "final-classifier"
    for q, out in outputs.items():
        if out is result and _op(mods[q]) != "Conv":
            roles[q] = "final-classifier"
    return roles


def _op(mod) -> str:
    op = getattr(mod, "maxq_op", None)
    if op:
        return op
    return "Conv" if isinstance(mod, nn.Conv2d) else "Gemm"


def discover_layers(model: nn.Module, m: int, include=(), exclude=(), example_input=None) -> List[LayerInfo]:
    """Every Conv2d / Linear (and ONNX-built layer) with its eligibility for M = m and the policy's decision."""
    roles = None
    if example_input is not None and not any(hasattr(mod, "maxq_role") for _, mod in _layer_modules(model)):
        roles = probe_roles(model, example_input)
    mods = list(_layer_modules(model))
    if roles is None and not any(hasattr(mod, "maxq_role") for _, mod in mods):
        # No probe: registration order (first conv first, last linear last), which holds for the usual CNNs.
        roles = {}
        if mods:
            roles[mods[0][0]] = "first-conv" if _op(mods[0][1]) == "Conv" else "stem-linear"
            if _op(mods[-1][1]) != "Conv":
                roles[mods[-1][0]] = "final-classifier"
    layers, seen = [], {}
    for qual, mod in mods:
        op = _op(mod)
        name = getattr(mod, "maxq_name", f"{qual}.weight" if qual else "weight")
        node = getattr(mod, "maxq_node", qual)
        transposed = bool(getattr(mod, "maxq_transposed", False))
        weight = mod.weight
        shape = list(weight.shape)
        role = getattr(mod, "maxq_role", None) if roles is None else roles.get(qual)
        if op != "Conv" and role is None:
            role = "linear"
        structural = None
        if op == "Conv":
            groups = getattr(mod, "groups", 1)
            if weight.dim() != 4:
                structural = f"not a 2-D conv (weight rank {weight.dim()})"
            elif groups > 1:
                structural = "depthwise conv" if shape[1] == 1 else f"grouped conv (group={groups})"
            in_ch = shape[1] if len(shape) > 1 else 0
            what = "Cin"
        else:
            if weight.dim() != 2:
                structural = f"weight is {weight.dim()}-D, not a 2-D matrix"
            in_ch = (shape[0] if transposed else shape[1]) if weight.dim() == 2 else 0
            what = "in-features"
        if structural is None and not weight.is_floating_point():
            structural = f"unsupported weight dtype {weight.dtype}"
        if structural is None and id(weight) in seen:
            structural = f"weight shared with {seen[id(weight)]}"
        if structural is None and in_ch % m != 0:
            structural = f"{what} {in_ch} is not a multiple of M={m}"
        seen.setdefault(id(weight), node)
        if structural is not None and op == "Conv":
            role = None
        selected, reason = apply_policy(name, node, structural, role, include, exclude)
        layers.append(LayerInfo(name, node, op, mod, shape, transposed, weight.numel(), structural is None,
                                selected, reason, role))
    _linear_fallback(layers, include)
    return layers


def _linear_fallback(layers: List[LayerInfo], include) -> None:
    if include:
        return
    conv = sum(l.params for l in layers if l.selected and l.op == "Conv")
    linear = sum(l.params for l in layers if l.role == "linear" and l.eligible)
    if conv > 0 and linear <= conv:
        return
    for l in layers:
        if l.role != "linear" or not l.eligible or l.selected or "--exclude" in (l.reason or ""):
            continue
        l.selected, l.reason, l.linear_fallback = True, None, True

"""The TypeScript engine's run normalisation and post-fine-tune BN re-estimation (src/core/norm/,
src/core/training/fineTune.ts), mirrored so both engines train a BN-folded model the same way.

`torch.onnx.export` in eval mode folds every BatchNorm into its conv, so most models users bring have no BN left.
N:M pruning and MaxQ's S = H·(1 + F + P) then change every channel's output scale with nothing to absorb it. A
sparsified layer with no BatchNorm after it gets a BatchNorm that is the identity on the dense model (γ = √(σ² + ε),
β = μ, running statistics μ, σ², measured on the training data), trains like any BN, and is folded back into the
layer's weight and bias before export: a per-output-channel scale keeps every N:M zero and the written graph has
the source's structure. After training, every BN's statistics are measured again on the final sparse model; the
validation split picks them or training's running averages (the re-estimated ones on a tie or without validation
data), as the TypeScript engine does.
"""
from typing import Dict, List, Tuple

import torch
from torch import nn

from .seeding import epoch_batches

NORM_EPSILON = 1e-5  # src/core/norm/normSites.ts NORM_EPSILON
BN_BATCHES = 20  # src/core/sparsify/defaults.ts RUN_DEFAULTS.bnBatches


def _alpha_beta(mod):
    """(alpha, beta) of the layer's output = alpha·A·W + beta·b (Conv: 1, 1)."""
    return float(getattr(mod, "alpha", 1.0)), float(getattr(mod, "beta", 1.0))


def plan_sites(model, selected) -> Tuple[List[Tuple[str, nn.Module]], List[Tuple[str, str]]]:
    """([(module key, layer)] that get a run normalisation, [(layer name, why not)]) among the selected layers of an
    ONNX-imported model with no BatchNorm after them (the rules of normSites.ts). Models built in PyTorch keep their
    own BatchNorms and get none."""
    keys = {id(m): k for k, m in getattr(model, "layers", {}).items()} if hasattr(model, "run_norms") else {}
    sites, skipped = [], []
    for info in selected:
        mod = info.module
        if getattr(mod, "maxq_bn_after", None) is not False or id(mod) not in keys:
            continue
        alpha, beta = _alpha_beta(mod)
        if info.op == "MatMul":
            skipped.append((info.name, "a MatMul has no bias input to fold a normalisation into"))
        elif getattr(mod, "bias", None) is None:
            skipped.append((info.name, "the layer has no bias to fold the normalisation\u2019s shift into"))
        elif alpha == 0 or beta == 0:
            skipped.append((info.name, f"Gemm with alpha {alpha:g}, beta {beta:g}"))
        else:
            sites.append((keys[id(mod)], mod))
    return sites, skipped


def _channel_stats(y: torch.Tensor):
    """Per-channel (axis 1) batch mean and unbiased batch variance."""
    dims = [0] + list(range(2, y.dim()))
    per = y.numel() // y.shape[1]
    mean = y.mean(dim=dims, dtype=torch.float64)
    var = y.double().var(dim=dims, unbiased=per > 1)
    return mean, var


def _plan(data, batch, batches, seed, d):
    """The first `batches` training batches of epoch 0's shuffle (bnRecalibration.ts), this rank's share of each."""
    size = min(batch, len(data))
    per = max(1, size // d.world)
    plan = epoch_batches(len(data), size, seed, 0)[:batches]
    return [idx[d.rank * per:(d.rank + 1) * per] or idx for idx in plan]


def batch_count(data, batch, batches) -> int:
    """How many batches `measure_outputs` and `reestimate` read: `batches`, or fewer when the data ends first."""
    return min(batches, len(data) // max(1, min(batch, len(data))))


def measure_outputs(model, modules: List[nn.Module], data, batch, batches, seed, d) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """Each module's output statistics on the dense model: the batch mean and unbiased variance per channel,
    averaged over the batches and the processes."""
    sums = [[None, None] for _ in modules]

    def hook(i):
        def f(_m, _inp, out):
            mean, var = _channel_stats(out.detach())
            s = sums[i]
            s[0] = mean if s[0] is None else s[0] + mean
            s[1] = var if s[1] is None else s[1] + var
        return f

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(modules)]
    was = model.training
    model.eval()
    plan = _plan(data, batch, batches, seed, d)
    try:
        with torch.no_grad():
            for idx in plan:
                model(data.batch(idx)[0].to(d.device))
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    flat = torch.cat([torch.cat([s[0], s[1]]) for s in sums]).cpu() / len(plan)
    flat = torch.tensor(d.sum(flat.tolist()), dtype=torch.float64) / d.world
    out, at = [], 0
    for m, s in zip(modules, sums):
        c = s[0].numel()
        out.append((flat[at:at + c].float(), flat[at + c:at + 2 * c].float()))
        at += 2 * c
    return out


def insert_run_norms(model, sites, stats: Dict[int, Tuple[torch.Tensor, torch.Tensor]]) -> int:
    """A BatchNorm after every site's layer, the identity on that layer's dense output statistics (`stats`, by
    id of the layer module, from `measure_outputs`). Returns how many were inserted."""
    for key, mod in sites:
        mean, var = stats[id(mod)]
        c = mean.numel()
        bn = (nn.BatchNorm2d if getattr(mod, "maxq_op", "Conv") == "Conv" else nn.BatchNorm1d)(c, eps=NORM_EPSILON, momentum=0.1)
        var = var.clamp(min=0)
        with torch.no_grad():
            bn.weight.copy_(torch.sqrt(var + NORM_EPSILON))
            bn.bias.copy_(mean)
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
        model.run_norms[key] = bn.to(mod.weight.device)
    return len(sites)


def candidates(model) -> List[nn.Module]:
    """The layers of an ONNX-imported model with no BatchNorm after them: where a run normalisation may go."""
    if not hasattr(model, "run_norms"):
        return []
    return [m for m in model.layers.values() if getattr(m, "maxq_bn_after", None) is False]


def fold_run_norms(model) -> int:
    """Folds every run normalisation into its layer's weight and bias (foldNormalisation.ts) and removes it; call
    after the MaxQ fold. Returns how many were folded."""
    norms = getattr(model, "run_norms", None)
    if not norms:
        return 0
    count = 0
    for key in list(norms.keys()):
        bn, mod = norms[key], model.layers[key]
        alpha, beta = _alpha_beta(mod)
        with torch.no_grad():
            s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            w = mod.weight
            if w.dim() == 4:
                w.mul_(s.view(-1, 1, 1, 1))
            elif getattr(mod, "trans_b", 1):
                w.mul_(s.view(-1, 1))  # Gemm [out, in]
            else:
                w.mul_(s.view(1, -1))  # Gemm [in, out]: a channel is a column
            mod.bias.copy_((s * (beta * mod.bias - bn.running_mean) + bn.bias) / beta)
        del norms[key]
        count += 1
    return count


def batch_norms(model) -> List[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def reestimate(model, data, batch, batches, seed, d) -> List[Tuple]:
    """Every BatchNorm's running statistics measured again on the model as it is (cumulative average over
    `batches` training batches, averaged over the processes). Returns what it replaced, for `restore`."""
    bns = batch_norms(model)
    saved = [(bn, bn.running_mean.clone(), bn.running_var.clone(), bn.momentum) for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative: the mean of the batch statistics, as bnRecalibration.ts
    was = model.training
    model.train()
    try:
        with torch.no_grad():
            for idx in _plan(data, batch, batches, seed, d):
                model(data.batch(idx)[0].to(d.device))
    finally:
        model.train(was)
        for bn, _, _, momentum in saved:
            bn.momentum = momentum
    if d.world > 1 and bns:
        flat = torch.cat([torch.cat([bn.running_mean, bn.running_var]) for bn in bns]).double().cpu()
        flat = torch.tensor(d.sum(flat.tolist()), dtype=torch.float64) / d.world
        at = 0
        for bn in bns:
            c = bn.running_mean.numel()
            bn.running_mean.copy_(flat[at:at + c])
            bn.running_var.copy_(flat[at + c:at + 2 * c])
            at += 2 * c
    return saved


def restore(saved) -> None:
    with torch.no_grad():
        for bn, mean, var, _ in saved:
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)


def validates_at_least_as_well(a, b) -> bool:
    """(accuracy, loss) `a` at least as good as `b`: higher accuracy, then lower loss (fineTune.ts)."""
    if a[0] is None or b[0] is None:
        return True
    if a[0] != b[0]:
        return a[0] > b[0]
    return a[1] is None or b[1] is None or a[1] <= b[1]


def describe(inserted: int, followed: int, skipped: List[Tuple[str, str]]) -> str:
    parts = [f"{inserted} normalised for the run, folded back at export"] if inserted else []
    if followed:
        parts.append(f"{followed} followed by a BatchNorm")
    if skipped:
        parts.append(f"{len(skipped)} left as they are ({skipped[0][0]}: {skipped[0][1]}{', …' if len(skipped) > 1 else ''})")
    return "sparsified layers: " + "; ".join(parts)


__all__ = ["NORM_EPSILON", "BN_BATCHES", "batch_count", "candidates", "plan_sites", "measure_outputs", "insert_run_norms", "fold_run_norms",
           "batch_norms", "reestimate", "restore", "validates_at_least_as_well", "describe"]

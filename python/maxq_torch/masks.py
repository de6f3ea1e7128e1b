"""The masks of one layer (spec §2-§5), in PyTorch, matching the TypeScript engine (src/core/masks/*).

- Hard mask H (§3): in every block of M consecutive input channels at a fixed (o, h, w) keep the N largest |w|;
  on equal |w| the lower channel index wins.
- Dense blocks (§4.2): with dense fraction p, the floor(p * num_blocks) blocks of smallest fp32 L1 norm (summed
  in channel order; ties: lower block index b = ((o*Kh + h)*Kw + w)*(I/M) + g first) get H = 1.
- Soft terms (§5): per filter row (all I*Kh*Kw weights of output o) and, when Kh*Kw > 1, per kernel-position row
  (all O*I weights at (h, w)), drop the k = max(1, floor(drop*L)) smallest |w| (on equal |w| the higher flat
  index is dropped first), thr = midpoint of the largest dropped and the smallest kept (in doubles), and every
  kept weight gets fp32(sigmoid((|w| - thr) / tau)), tau = 0.01.
- S = H * ((1 + F) + P) in fp32 for maxq; S = H for magnitude and srste.

Everything is computed on the canonical OIHW view ([out, in] linear weights are [out, in, 1, 1]) outside autograd,
and is a deterministic function of the weight values, so every DDP rank computes the same masks.
"""
import math
from dataclasses import dataclass
from typing import Optional

import torch

from .errors import UsageError
from .pattern import NmPattern

SOFT_TAU = 0.01
METHODS = ("maxq", "magnitude", "srste")


def check_method(method: str) -> str:
    if method not in METHODS:
        raise UsageError(f"unknown mask method '{method}' (use maxq, magnitude or srste)")
    return method


def _where(name: Optional[str]) -> str:
    return f"layer '{name}': " if name else ""


def canonical_view(weight: torch.Tensor, transposed: bool = False, name: Optional[str] = None) -> torch.Tensor:
    """The OIHW view of a stored weight: conv OIHW as is, linear [out, in] as [out, in, 1, 1], and a linear weight
    stored [in, out] (ONNX Gemm transB=0, MatMul) transposed first."""
    if weight.dim() == 4:
        if transposed:
            raise UsageError(f"{_where(name)}a 4-D conv weight is stored OIHW and cannot be transposed")
        return weight
    if weight.dim() == 2:
        w = weight.t() if transposed else weight
        return w.reshape(w.shape[0], w.shape[1], 1, 1)
    raise UsageError(f"{_where(name)}weight shape {list(weight.shape)} is neither 2-D (linear) nor 4-D (conv)")


def from_canonical(t: torch.Tensor, storage_shape, transposed: bool = False) -> torch.Tensor:
    """A canonical OIHW mask back in the stored layout."""
    if len(storage_shape) == 4:
        return t
    t2 = t.reshape(t.shape[0], t.shape[1])
    return t2.t().contiguous() if transposed else t2


def check_groupable(w4: torch.Tensor, pattern: NmPattern, name: Optional[str] = None) -> None:
    in_ch = w4.shape[1]
    if in_ch % pattern.m != 0:
        raise UsageError(f"{_where(name)}input channels {in_ch} are not a multiple of M={pattern.m} "
                         f"(N:M groups run along the input channels; {in_ch} % {pattern.m} = {in_ch % pattern.m})")


def check_finite(w4: torch.Tensor, name: Optional[str] = None) -> None:
    bad = ~torch.isfinite(w4)
    if bool(bad.any()):
        o, i, h, x = (int(v) for v in bad.nonzero()[0])
        where = f"layer '{name}'" if name else "weight"
        raise UsageError(f"{where} has a non-finite value ({float(w4[o, i, h, x])}) at [{o}, {i}, {h}, {x}]; "
                         "N:M masks need finite weights")


def topk_dropped(drop: float, row_length: int) -> int:
    """k of spec §5: max(1, floor(drop * L)) with the double product."""
    return max(1, math.floor(drop * row_length))


def num_dense_blocks(p: float, num_blocks: int) -> int:
    if not isinstance(p, (int, float)) or not math.isfinite(p) or p < 0 or p > 1:
        raise UsageError(f"dense fraction must be a number in [0, 1], got {p}")
    return math.floor(p * num_blocks)


def _blocks(a: torch.Tensor, m: int) -> torch.Tensor:
    """|W| as [num_blocks, M] rows in block order b (OHWI)."""
    return a.permute(0, 2, 3, 1).reshape(-1, m)


def _unblocks(blocks: torch.Tensor, shape) -> torch.Tensor:
    o, i, kh, kw = shape
    return blocks.reshape(o, kh, kw, i).permute(0, 3, 1, 2).contiguous()


def _keep_n_largest(blocks: torch.Tensor, n: int, pairwise: bool) -> torch.Tensor:
    """uint8 [R, M]: 1 for the N largest of every row, the lower index first on equal values (the order of a
    stable descending sort). `pairwise` counts, over the M(M-1)/2 pairs of columns as the TS engine does, how
    many entries are ahead of each one: on CPU 4-10x faster than sorting the rows; elsewhere (a GPU) one sort
    kernel beats M(M-1)/2 small ones. Both give the same mask."""
    if not pairwise:
        order = torch.sort(blocks, dim=1, descending=True, stable=True).indices
        keep = torch.zeros(blocks.shape, dtype=torch.uint8, device=blocks.device)
        return keep.scatter_(1, order[:, :n], 1)
    m = blocks.shape[1]
    ahead = torch.zeros(blocks.shape, dtype=torch.int16, device=blocks.device)
    for i in range(m):
        a_i = blocks[:, i]
        for j in range(i + 1, m):
            i_first = a_i >= blocks[:, j]
            ahead[:, j] += i_first
            ahead[:, i] += ~i_first
    return (ahead < n).to(torch.uint8)


def hard_nm_mask(w4: torch.Tensor, pattern: NmPattern, dense_fraction: float = 0.0) -> torch.Tensor:
    """H after the schedule (uint8 0/1, OIHW). Assumes the shape and finiteness were checked."""
    n, m = pattern.n, pattern.m
    blocks = _blocks(w4.abs(), m)
    keep = _keep_n_largest(blocks, n, pairwise=blocks.device.type == "cpu")
    total = blocks.shape[0]
    count = num_dense_blocks(dense_fraction, total)
    if count >= total:
        keep.fill_(1)
    elif count > 0:
        l1 = blocks[:, 0].clone()
        for j in range(1, m):  # fp32 sum in channel order, as the reference and the TS engine
            l1 = l1 + blocks[:, j]
        dense = torch.sort(l1, stable=True).indices[:count]
        keep[dense] = 1
    return _unblocks(keep, w4.shape)


def _axis_terms(rows: torch.Tensor, k: int) -> torch.Tensor:
    """T of spec §5 for every row of |W| values `rows` [R, L] (fp32 result).

    The k dropped entries of a row are its k smallest, on equal |w| the higher index first (what a stable
    ascending sort of the reversed row puts first). Found by selection, not sorting: the k-th and (k+1)-th
    smallest values (kthvalue, linear time) give the threshold; every entry below the k-th is dropped, and of the
    entries equal to it, the ones of highest index until k are dropped."""
    lo = torch.kthvalue(rows, k, dim=1).values
    hi = torch.kthvalue(rows, k + 1, dim=1).values
    thr = (lo.double() + hi.double()) / 2
    below = rows < lo[:, None]
    equal = rows == lo[:, None]
    need = k - below.sum(dim=1, keepdim=True)  # how many of the equal entries are dropped
    if bool((equal.sum(dim=1, keepdim=True) == need).all()):
        kept = ~(below | equal)  # no row has more entries equal to its k-th smallest than it drops
    else:
        from_right = equal.flip(1).cumsum(dim=1).flip(1)  # equal entries at this index or after it
        kept = ~(below | (equal & (from_right <= need)))
    z = (rows.double() - thr[:, None]) / SOFT_TAU
    terms = torch.sigmoid(z.clamp_min(0)).float()
    return torch.where(kept, terms, torch.zeros_like(terms))


def axis_terms(w4: torch.Tensor, pattern: NmPattern):
    """(F, P, filter k, position k or None) for a canonical weight; P is all 0 when Kh*Kw == 1."""
    o, i, kh, kw = w4.shape
    a = w4.abs().float()
    kf = topk_dropped(pattern.drop, i * kh * kw)
    f = _axis_terms(a.reshape(o, i * kh * kw), kf).reshape(w4.shape)
    if kh * kw > 1:
        kp = topk_dropped(pattern.drop, o * i)
        rows = a.permute(2, 3, 0, 1).reshape(kh * kw, o * i)
        p = _axis_terms(rows, kp).reshape(kh, kw, o, i).permute(2, 3, 0, 1).contiguous()
        return f, p, kf, kp
    return f, torch.zeros_like(f), kf, None


@dataclass
class LayerMask:
    """H after the schedule and the forward factor (S for maxq, H for magnitude/srste), canonical OIHW."""
    hard: torch.Tensor
    soft: torch.Tensor
    num_blocks: int
    num_dense_blocks: int
    filter_topk: int
    position_topk: Optional[int]


def compute_layer_mask(w4: torch.Tensor, pattern, method: str = "maxq", dense_fraction: float = 0.0,
                       name: Optional[str] = None) -> LayerMask:
    """Masks of a canonical OIHW weight (see module doc). Raises UsageError for a bad shape, I % M != 0 or a
    non-finite weight, naming `name`."""
    pattern = NmPattern.parse(pattern)
    check_method(method)
    if w4.dim() != 4:
        raise UsageError(f"{_where(name)}canonical weight must be 4-D OIHW, got shape {list(w4.shape)}")
    check_groupable(w4, pattern, name)
    with torch.no_grad():
        w = w4.detach().float()
        check_finite(w, name)
        o, i, kh, kw = w.shape
        num_blocks = o * kh * kw * i // pattern.m
        dense = num_dense_blocks(dense_fraction, num_blocks)
        hard = hard_nm_mask(w, pattern, dense_fraction)
        kf = topk_dropped(pattern.drop, i * kh * kw)
        kp = topk_dropped(pattern.drop, o * i) if kh * kw > 1 else None
        if method == "maxq":
            f, p, kf, kp = axis_terms(w, pattern)
            soft = ((1.0 + f) + p) * hard.float()
        else:
            soft = hard.float()
    return LayerMask(hard, soft, num_blocks, dense, kf, kp)


def layer_masks(weight, pattern="2:4", method: str = "maxq", dense_fraction: float = 0.0,
                transposed: bool = False, name: Optional[str] = None):
    """(hard, soft) for one layer's weight, both in the weight's own layout (OIHW for a conv, [out, in] for a
    linear layer; [in, out] with transposed=True). hard is uint8 0/1, soft float32 (S for maxq, H for the others).

    >>> hard, soft = layer_masks(torch.randn(8, 16, 3, 3), "2:4")
    """
    w = torch.as_tensor(weight)
    if not w.is_floating_point():
        raise UsageError(f"{_where(name)}weight must be a floating-point tensor, got {w.dtype}")
    w4 = canonical_view(w, transposed, name)
    mask = compute_layer_mask(w4, pattern, method, dense_fraction, name)
    shape = list(w.shape)
    return from_canonical(mask.hard, shape, transposed), from_canonical(mask.soft, shape, transposed)


def nm_violations(weight: torch.Tensor, pattern, transposed: bool = False) -> int:
    """How many N:M groups of a stored weight hold more than N non-zeros (0 = the pattern holds)."""
    pattern = NmPattern.parse(pattern)
    w4 = canonical_view(torch.as_tensor(weight), transposed)
    check_groupable(w4, pattern)
    nonzero = (_blocks(w4.detach(), pattern.m) != 0).sum(dim=1)
    return int((nonzero > pattern.n).sum())

"""The ONNX ops an exported transformer or a shape-computing CNN adds to the usual CNN set (shape arithmetic,
indexing, padding, normalisation, GELU), as PyTorch functions with ONNX's semantics, so `OnnxModule` imports what
`torch.onnx.export` writes for ViT, Swin, ConvNeXt, ShuffleNet, DenseNet and Inception. Each takes the node's
attributes and its input values (None for an omitted optional input) and returns the output value.
"""
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F

from .errors import UsageError

# ONNX TensorProto data types -> torch dtypes.
DTYPES = {1: torch.float32, 2: torch.uint8, 3: torch.int8, 5: torch.int16, 6: torch.int32, 7: torch.int64,
          9: torch.bool, 10: torch.float16, 11: torch.float64, 16: torch.bfloat16}


def _ints(t) -> List[int]:
    return [int(v) for v in t.reshape(-1).tolist()]


def _axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def shape(a, xs):
    dims = list(xs[0].shape)
    start, end = int(a.get("start", 0)), a.get("end")
    return torch.tensor(dims[start:None if end is None else int(end)], dtype=torch.int64)


def gather(a, xs):
    data, idx = xs
    axis = _axis(int(a.get("axis", 0)), data.dim())
    idx = idx.long()
    idx = torch.where(idx < 0, idx + data.shape[axis], idx)
    out = data.index_select(axis, idx.reshape(-1))
    return out.reshape(list(data.shape[:axis]) + list(idx.shape) + list(data.shape[axis + 1:]))


def slice_(a, xs):
    data = xs[0]
    starts, ends = _ints(xs[1]), _ints(xs[2])
    axes = _ints(xs[3]) if len(xs) > 3 and xs[3] is not None else list(range(len(starts)))
    steps = _ints(xs[4]) if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = _axis(axis, data.dim())
        n = data.shape[axis]
        if step == 0:
            raise UsageError("Slice with step 0")
        # ONNX clamps: [0, n] for positive steps, [-1, n - 1] for negative ones.
        start = start + n if start < 0 else start
        end = end + n if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), n), min(max(end, 0), n)
        else:
            start, end = min(max(start, -1), n - 1), min(max(end, -1), n - 1)
        idx = torch.arange(start, end, step, device=data.device)
        data = data.index_select(axis, idx)
    return data


def pad(a, xs):
    x = xs[0]
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = _ints(xs[1]) if len(xs) > 1 and xs[1] is not None else list(a.get("pads", []))
    value = float(xs[2].reshape(-1)[0]) if len(xs) > 2 and xs[2] is not None and xs[2].numel() else float(a.get("value", 0.0))
    axes = _ints(xs[3]) if len(xs) > 3 and xs[3] is not None else list(range(x.dim()))
    axes = [_axis(v, x.dim()) for v in axes]
    k = len(axes)
    per_axis = {ax: (pads[i], pads[i + k]) for i, ax in enumerate(axes)}
    # F.pad takes (begin, end) pairs from the last axis backwards.
    flat = []
    for ax in reversed(range(x.dim())):
        flat += list(per_axis.get(ax, (0, 0)))
    while len(flat) > 2 and flat[-2:] == [0, 0]:
        flat = flat[:-2]
    torch_mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}.get(mode)
    if torch_mode is None:
        raise UsageError(f"Pad mode '{mode}' is not supported")
    if torch_mode == "constant":
        return F.pad(x, flat, mode="constant", value=value)
    k = len(flat) // 2
    if k > 3:
        raise UsageError(f"Pad mode '{mode}' on more than 3 axes is not supported")
    # torch pads the last k axes of a (k + 2)-D input in these modes: view the others as [batch, channel].
    rest = tuple(x.shape[:x.dim() - k])
    batch = 1
    for d in rest[:-1]:
        batch *= d
    y = F.pad(x.reshape((batch, rest[-1] if rest else 1) + tuple(x.shape[x.dim() - k:])), flat, mode=torch_mode)
    return y.reshape(rest + tuple(y.shape[2:]))


def cast(a, xs):
    to = int(a["to"])
    if to not in DTYPES:
        raise UsageError(f"Cast to ONNX type {to} is not supported")
    return xs[0].to(DTYPES[to])


def constant_of_shape(a, xs):
    value = a.get("value")
    dims = _ints(xs[0])
    if value is None:
        return torch.zeros(dims, dtype=torch.float32)
    from onnx import numpy_helper
    v = torch.from_numpy(numpy_helper.to_array(value).copy())
    return torch.full(dims, v.reshape(-1)[0].item(), dtype=v.dtype)


def expand(a, xs):
    x, dims = xs[0], _ints(xs[1])
    # ONNX Expand broadcasts both ways (a 1 in the shape keeps the input's dim).
    rank = max(x.dim(), len(dims))
    dims = [1] * (rank - len(dims)) + dims
    xdims = [1] * (rank - x.dim()) + list(x.shape)
    target = [max(d, s) if 1 in (d, s) else d for d, s in zip(dims, xdims)]
    return x.reshape(xdims).expand(target)


def where(a, xs):
    return torch.where(xs[0].bool(), xs[1], xs[2])


def range_(a, xs):
    start, limit, delta = (v.reshape(-1)[0].item() for v in xs)
    return torch.arange(start, limit, delta, dtype=xs[0].dtype)


def mod(a, xs):
    if int(a.get("fmod", 0)):
        return torch.fmod(xs[0], xs[1])
    return torch.remainder(xs[0], xs[1])


def scatter_nd(a, xs):
    data, indices, updates = xs
    if a.get("reduction", b"none") not in (b"none", "none"):
        raise UsageError("ScatterND with a reduction is not supported")
    out = data.clone()
    k = indices.shape[-1]
    idx = indices.reshape(-1, k).long()
    upd = updates.reshape(idx.shape[0], *data.shape[k:])
    out[tuple(idx[:, i] for i in range(k))] = upd
    return out


def layer_normalization(a, xs, weight: Optional[torch.Tensor] = None, bias: Optional[torch.Tensor] = None):
    x = xs[0]
    axis = _axis(int(a.get("axis", -1)), x.dim())
    w = weight if weight is not None else xs[1]
    b = bias if bias is not None else (xs[2] if len(xs) > 2 else None)
    return F.layer_norm(x, tuple(x.shape[axis:]), w, b, float(a.get("epsilon", 1e-5)))


def split(a, xs):
    x = xs[0]
    axis = _axis(int(a.get("axis", 0)), x.dim())
    sizes = _ints(xs[1]) if len(xs) > 1 and xs[1] is not None else a.get("split")
    if sizes is None:
        n = int(a.get("num_outputs", 0)) or None
        if n is None:
            raise UsageError("Split without sizes or num_outputs")
        size = -(-x.shape[axis] // n)
        sizes = [min(size, x.shape[axis] - i * size) for i in range(n)]
    return list(torch.split(x, list(sizes), dim=axis))


def reduce_sum(a, xs):
    axes = _ints(xs[1]) if len(xs) > 1 and xs[1] is not None else a.get("axes")
    keep = bool(a.get("keepdims", 1))
    if not axes:
        return xs[0].sum() if not int(a.get("noop_with_empty_axes", 0)) else xs[0]
    return xs[0].sum(dim=tuple(axes), keepdim=keep)


OPS: Dict[str, Callable] = {
    "Shape": shape, "Gather": gather, "Slice": slice_, "Pad": pad, "Cast": cast, "ConstantOfShape": constant_of_shape,
    "Expand": expand, "Where": where, "Range": range_, "Mod": mod, "ScatterND": scatter_nd,
    "LayerNormalization": layer_normalization, "Split": split, "ReduceSum": reduce_sum,
    "Equal": lambda a, xs: torch.eq(xs[0], xs[1]),
    "Not": lambda a, xs: torch.logical_not(xs[0]),
    "Erf": lambda a, xs: torch.erf(xs[0]),
    "Pow": lambda a, xs: torch.pow(xs[0], xs[1]),
    "Sqrt": lambda a, xs: torch.sqrt(xs[0]),
    "Neg": lambda a, xs: torch.neg(xs[0]),
    "Exp": lambda a, xs: torch.exp(xs[0]),
    "Gelu": lambda a, xs: F.gelu(xs[0], approximate="tanh" if a.get("approximate", b"none") in (b"tanh", "tanh") else "none"),
}

#!/usr/bin/env python3
"""PyTorch reference for bench/modelIo.bench.ts: the MaxQ mask computation (spec sections 2 and 5) of every
conv MaxQ sparsifies in an ONNX model, the way a PyTorch implementation computes it: per layer, the hard N:M
mask by topk over groups of M input channels, the soft filter and kernel-position terms by sorting each axis
row's magnitudes (k = max(1, floor(drop * L)) smallest dropped, threshold midway between the largest dropped and
the smallest kept, sigmoid((|w| - thr) / 0.01) for the kept), and S = H * ((1 + F) + P).

Only the computation is timed (weights are read from the ONNX file once, before timing): it is the reference the
end-to-end `maxq masks` run (file in, safetensors out) is compared to.

usage: pytorchMasks.py MODEL.onnx [--pattern 2:4] [--runs 3] [--threads T]
prints one JSON line: {"torch", "threads", "layers", "weights", "ms": [...], "median_ms", "min_ms", "cpu_ms"}
(cpu_ms: the median CPU time of a pass, all threads of the process)
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

TAU = 0.01


def conv_weights(path):
    """Weights of the Conv nodes MaxQ selects by default: 4-D, groups = 1, input channels a multiple of 4, and
    not the first conv (the stem stays dense)."""
    model = onnx.load(path)
    inits = {t.name: t for t in model.graph.initializer}
    out = []
    first = True
    for node in model.graph.node:
        if node.op_type != 'Conv' or len(node.input) < 2 or node.input[1] not in inits:
            continue
        group = next((a.i for a in node.attribute if a.name == 'group'), 1)
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        if first:
            first = False
            continue
        if w.ndim == 4 and group == 1 and w.shape[1] % 4 == 0:
            out.append(torch.from_numpy(np.ascontiguousarray(w)))
    return out


def axis_term(mag, drop):
    """F or P for a [rows, L] matrix of magnitudes: per row, drop the k smallest, sigmoid for the kept."""
    L = mag.shape[1]
    k = max(1, int(drop * L))
    s, _ = torch.sort(mag, dim=1)
    largest_dropped = s[:, k - 1:k]
    smallest_kept = s[:, k:k + 1] if k < L else s[:, k - 1:k]
    thr = (largest_dropped + smallest_kept) / 2
    kept = mag > largest_dropped
    return torch.where(kept, torch.sigmoid((mag - thr) / TAU), torch.zeros((), dtype=mag.dtype))


def get_mask(w, n, m):
    O, I, Kh, Kw = w.shape
    mag = w.abs()
    # Hard N:M: groups of m input channels at a fixed (o, h, w).
    groups = mag.permute(0, 2, 3, 1).reshape(-1, m)
    idx = torch.topk(groups, n, dim=1).indices
    hard = torch.zeros_like(groups).scatter_(1, idx, 1.0).reshape(O, Kh, Kw, I).permute(0, 3, 1, 2)
    drop = (m - n) / m
    f = axis_term(mag.reshape(O, -1), drop).reshape(O, I, Kh, Kw)
    if Kh * Kw > 1:
        p = axis_term(mag.reshape(O * I, Kh * Kw).t().contiguous(), drop).t().reshape(O, I, Kh, Kw)
    else:
        p = torch.zeros_like(mag)
    return hard.to(torch.uint8), hard * ((1 + f) + p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model')
    ap.add_argument('--pattern', default='2:4')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--threads', type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    n, m = (int(x) for x in a.pattern.split(':'))
    weights = conv_weights(a.model)
    with torch.no_grad():
        get_mask(weights[0], n, m)  # warm-up
        times = []
        cpu = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            c0 = time.process_time()
            for w in weights:
                get_mask(w, n, m)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    print(json.dumps({
        'torch': torch.__version__, 'threads': torch.get_num_threads(), 'layers': len(weights),
        'weights': int(sum(w.numel() for w in weights)), 'ms': times,
        'median_ms': statistics.median(times), 'min_ms': min(times), 'cpu_ms': statistics.median(cpu),
    }))


if __name__ == '__main__':
    main()

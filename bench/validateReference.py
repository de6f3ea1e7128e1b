#!/usr/bin/env python3
"""Python reference for bench/modelIo.bench.ts: what `maxq validate MODEL --pattern N:M` checks, done with
onnx + numpy as a hand-written script would: load the model, and for every Conv/Gemm/MatMul with a constant
weight whose input channels are a multiple of M (the stem conv and the final classifier stay dense, as in
maxq), count the non-zeros of every group of M input channels at each (o, h, w), count the violating groups,
find the tightest N:M among M in 4, 8, 16, and the share of zeros.

usage: validateReference.py MODEL.onnx [--pattern 2:4]
prints one JSON line: {"layers", "checked", "violating_groups", "pass", "cpu_ms", "max_rss_kb"} (this process's CPU time and peak RSS)
"""
import argparse
import json
import resource

import numpy as np
import onnx
from onnx import numpy_helper

from peak_rss import peak_rss_kb


def layer_weights(model):
    inits = {t.name: t for t in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.op_type in ('Conv', 'Gemm', 'MatMul')]
    out = []
    for k, node in enumerate(nodes):
        wname = node.input[1] if len(node.input) > 1 else None
        if wname not in inits:
            continue
        w = numpy_helper.to_array(inits[wname])
        if node.op_type == 'Conv':
            group = next((a.i for a in node.attribute if a.name == 'group'), 1)
            if group != 1 or w.ndim != 4:
                continue
        else:
            trans_b = next((a.i for a in node.attribute if a.name == 'transB'), 0) if node.op_type == 'Gemm' else 0
            if w.ndim != 2:
                continue
            w = (w if trans_b else w.T)[:, :, None, None]  # canonical [out, in, 1, 1]
        final = k == len(nodes) - 1 and node.op_type != 'Conv'
        out.append((wname, w, final))
    return out


def max_group_nonzeros(nz, m):
    O, I, Kh, Kw = nz.shape
    return int(nz.reshape(O, I // m, m, Kh, Kw).sum(axis=2).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model')
    ap.add_argument('--pattern', default='2:4')
    a = ap.parse_args()
    n, m = (int(x) for x in a.pattern.split(':'))
    model = onnx.load(a.model)
    layers = layer_weights(model)
    checked = 0
    violating = 0
    first = True
    for name, w, final in layers:
        stem = first and w.shape[1] % m != 0
        first = False
        if stem or final or w.shape[1] % m != 0:
            continue
        nz = w != 0
        O, I, Kh, Kw = w.shape
        counts = nz.reshape(O, I // m, m, Kh, Kw).sum(axis=2)
        violating += int((counts > n).sum())
        best = None
        for mm in (4, 8, 16):
            if I % mm:
                continue
            nn = max(1, max_group_nonzeros(nz, mm))
            if nn < mm and (best is None or nn * best[1] < best[0] * mm):
                best = (nn, mm)
        float(1.0 - nz.mean())  # share of zeros
        checked += 1
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({'layers': len(layers), 'checked': checked, 'violating_groups': violating, 'pass': violating == 0,
                      'cpu_ms': (ru.ru_utime + ru.ru_stime) * 1000, 'max_rss_kb': peak_rss_kb()}))


if __name__ == '__main__':
    main()

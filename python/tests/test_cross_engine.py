"""Cross-engine: the same random weights through both engines, the TypeScript one via
scripts/cross-engine/ts-masks.js (compiled core in out/src/core): hard masks exact, soft masks within 1e-6."""
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import pytest
import torch

from conftest import REPO
from maxq_torch.errors import UsageError
from maxq_torch.masks import compute_layer_mask, canonical_view, layer_masks

SCRIPT = os.path.join(REPO, "scripts", "cross-engine", "ts-masks.js")
NODE = shutil.which("node")


def _weights(seed, shape, kind="normal", scale=0.05):
    g = torch.Generator().manual_seed(seed)
    if kind == "normal":
        return (torch.randn(shape, generator=g) * scale).float()
    # 'quantized': a handful of magnitudes with random signs, so ties sit at every ranking boundary.
    levels = torch.tensor([0.0, 0.01, 0.02, 0.03, 0.05])
    idx = torch.randint(0, len(levels), shape, generator=g)
    sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
    return (levels[idx] * sign).float()


CASES = [
    # name, shape, transposed, pattern, method, dense fraction, kind
    ("conv3x3_2of4", [16, 16, 3, 3], False, "2:4", "maxq", 0.0, "normal"),
    ("conv3x3_1of4", [8, 32, 3, 3], False, "1:4", "maxq", 0.0, "normal"),
    ("conv3x3_2of8", [8, 32, 3, 3], False, "2:8", "maxq", 0.0, "normal"),
    ("conv1x1_2of4", [32, 16, 1, 1], False, "2:4", "maxq", 0.0, "normal"),
    ("conv5x5_2of4", [8, 8, 5, 5], False, "2:4", "maxq", 0.0, "normal"),
    ("conv3x3_2of4_p0.5", [16, 16, 3, 3], False, "2:4", "maxq", 0.5, "normal"),
    ("conv3x3_1of4_p0.3", [8, 32, 3, 3], False, "1:4", "maxq", 0.3, "normal"),
    ("conv3x3_2of8_p0.77", [8, 32, 3, 3], False, "2:8", "maxq", 0.77, "normal"),
    ("conv3x3_3of7", [6, 14, 3, 3], False, "3:7", "maxq", 0.0, "normal"),
    ("conv3x3_2of4_p1", [4, 8, 3, 3], False, "2:4", "maxq", 1.0, "normal"),
    ("conv3x3_2of4_ties", [8, 16, 3, 3], False, "2:4", "maxq", 0.0, "quantized"),
    ("conv3x3_2of4_ties_p0.4", [8, 16, 3, 3], False, "2:4", "maxq", 0.4, "quantized"),
    ("conv1x1_2of8_ties", [16, 16, 1, 1], False, "2:8", "maxq", 0.0, "quantized"),
    ("linear_2of4", [10, 64], False, "2:4", "maxq", 0.0, "normal"),
    ("linear_1of4_p0.25", [24, 32], False, "1:4", "maxq", 0.25, "normal"),
    ("linear_2of8", [12, 64], False, "2:8", "maxq", 0.0, "normal"),
    ("linear_in_out_2of4", [32, 12], True, "2:4", "maxq", 0.0, "normal"),
    ("conv3x3_2of4_magnitude_p0.5", [16, 16, 3, 3], False, "2:4", "magnitude", 0.5, "normal"),
    ("linear_2of4_srste", [10, 64], False, "2:4", "srste", 0.0, "normal"),
]


@pytest.fixture(scope="module")
def ts_results():
    if NODE is None:
        pytest.fail("node is not on PATH; the cross-engine test needs it (and the compiled core: npx tsc -p .)")
    spec = {"cases": []}
    for i, (name, shape, transposed, pattern, method, p, kind) in enumerate(CASES):
        w = _weights(100 + i, shape, kind)
        spec["cases"].append({"name": name, "shape": shape, "transposed": transposed, "pattern": pattern,
                              "method": method, "denseFraction": p, "weight": [float(v) for v in w.flatten()]})
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "cases.json"), os.path.join(d, "masks.json")
        with open(src, "w") as f:
            json.dump(spec, f)
        run = subprocess.run([NODE, SCRIPT, src, dst], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, f"ts-masks.js failed: {run.stderr}"
        out = json.load(open(dst))
    return {c["name"]: c for c in out["cases"]}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_masks_match_typescript(case, ts_results):
    name, shape, transposed, pattern, method, p, kind = case
    w = _weights(100 + CASES.index(case), shape, kind)
    ts = ts_results[name]
    assert "error" not in ts, ts.get("error")
    hard, soft = layer_masks(w, pattern, method, p, transposed=transposed)
    assert list(hard.shape) == shape
    ts_hard = np.asarray(ts["hard"], dtype=np.uint8).reshape(shape)
    assert np.array_equal(hard.numpy(), ts_hard), f"{name}: {(hard.numpy() != ts_hard).sum()} hard-mask entries differ"
    diff = np.abs(soft.numpy().astype(np.float64) - np.asarray(ts["soft"], dtype=np.float64).reshape(shape)).max()
    assert diff <= 1e-6, f"{name}: soft masks differ by {diff}"
    m = compute_layer_mask(canonical_view(w, transposed), pattern, method, p)
    assert (m.num_blocks, m.num_dense_blocks, m.filter_topk, m.position_topk) == \
        (ts["numBlocks"], ts["numDenseBlocks"], ts["filterTopk"], ts["positionTopk"])
    if p > 0:
        assert m.num_dense_blocks > 0, "a dense-fraction case must actually force blocks dense"


def test_channels_not_multiple_of_m_is_an_error():
    with pytest.raises(ValueError, match=r"input channels 6 are not a multiple of M=4"):
        layer_masks(torch.randn(8, 6, 3, 3), "2:4", name="conv")


@pytest.mark.parametrize("text,msg", [("4:4", "N must be smaller than M"), ("5:4", "N must be smaller than M"),
                                      ("0:4", "N must be at least 1"), ("2.5:4", "must be integers"),
                                      ("2-4", "expected two integers"), ("1:1", "M must be at least 2")])
def test_bad_patterns(text, msg):
    with pytest.raises(UsageError, match=msg):
        layer_masks(torch.randn(4, 8, 3, 3), text)


def test_non_finite_weight_is_named():
    w = torch.randn(4, 8, 3, 3)
    w[1, 2, 0, 1] = float("nan")
    with pytest.raises(UsageError, match=r"layer 'x' has a non-finite value \(nan\) at \[1, 2, 0, 1\]"):
        layer_masks(w, "2:4", name="x")

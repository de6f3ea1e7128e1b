"""The reference vectors (spec §10): regenerate every input with the spec's LCG, check it bit for bit, then compare
every output with the authors' values at the tolerances the file gives."""
import json
import os

import numpy as np
import pytest
import torch

from conftest import REPO
from maxq_torch.masks import axis_terms, canonical_view, compute_layer_mask, layer_masks
from maxq_torch.pattern import NmPattern
from maxq_torch.schedule import DenseFractionSchedule


def _vectors_path():
    for p in (os.path.join(REPO, "test", "fixtures", "maxq-vectors.json"),
              os.path.join(os.path.dirname(REPO), "shared", "reference", "maxq-vectors.json")):
        if os.path.exists(p):
            return p
    pytest.fail("maxq-vectors.json not found in test/fixtures or ../shared/reference")


VECTORS = json.load(open(_vectors_path()))
TOL = VECTORS["tolerances"]


def lcg_weights(seed, scale, n):
    out = np.empty(n, dtype=np.float32)
    s = seed
    for i in range(n):
        s = (1664525 * s + 1013904223) % 4294967296
        out[i] = np.float32((2 * (s / 4294967296) - 1) * scale)
    return out


def test_lcg_check_value():
    assert float(lcg_weights(1, 0.1, 1)[0]) == -0.05270889401435852


def test_seven_cases():
    assert len(VECTORS["cases"]) == 7


def _max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_reference_vector(case):
    shape = case["shape"]
    n = int(np.prod(shape))
    w = lcg_weights(case["seed"], case["scale"], n)
    assert np.array_equal(w.astype(np.float64), np.asarray(case["weight"], dtype=np.float64)), "generated weights differ"
    weight = torch.from_numpy(w.reshape(shape))
    s = case["schedule"]
    sched = DenseFractionSchedule(s["type"], s["decay_start"], s["decay_end"], s["total_epochs"])
    p = sched.at(s["cur_epoch"])
    assert abs(p - s["dense_fraction"]) <= TOL["dense_fraction_abs"]

    pattern = NmPattern(case["N"], case["M"])
    mask = compute_layer_mask(canonical_view(weight), pattern, "maxq", p, case["name"])
    assert mask.num_blocks == case["num_blocks"]
    assert mask.num_dense_blocks == case["num_dense_blocks"]
    assert mask.filter_topk == case["filter_topk_dropped_per_row"]
    assert mask.position_topk == case["position_topk_dropped_per_row"]

    hard, soft = layer_masks(weight, pattern, "maxq", p)
    assert list(hard.shape) == shape and list(soft.shape) == shape
    assert hard.flatten().tolist() == [int(v) for v in case["hard_mask"]], "hard mask differs"

    f, q, kf, kp = axis_terms(canonical_view(weight), pattern)
    assert _max_abs(f.flatten(), case["filter_term"]) <= TOL["filter_term_abs"]
    assert _max_abs(q.flatten(), case["position_term"]) <= TOL["position_term_abs"]
    assert _max_abs(soft.flatten(), case["soft_mask"]) <= TOL["soft_mask_abs"]
    # The float64 port the file describes stays far inside the tolerance; so must this one.
    assert _max_abs(soft.flatten(), case["soft_mask"]) <= 1e-6

    folded = (weight * soft).flatten()
    assert _max_abs(folded, case["folded_weight"]) <= TOL["folded_weight_abs"]
    ref_hard = np.asarray(case["hard_mask"])
    assert np.array_equal(soft.flatten().numpy() == 0, ref_hard == 0), "soft mask must be 0 exactly where H is 0"
    assert np.all(folded.numpy()[np.asarray(case["folded_weight"]) == 0] == 0)

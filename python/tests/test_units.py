"""Schedules, seeded data order, normalisation, recipes, layer policy, STE / SR-STE and fold: each against the
spec's numbers or the TypeScript engine's own functions (compiled core in out/src/core)."""
import json
import math
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch
from torch import nn

from conftest import REPO
from maxq_torch import MaxQSparsifier, fold, layer_masks, nm_violations
from maxq_torch.errors import UsageError
from maxq_torch.normalize import parse_normalization
from maxq_torch.recipe import read_recipe
from maxq_torch.schedule import DenseFractionSchedule, LrSchedule, schedule_for
from maxq_torch.seeding import epoch_batches, train_val_split
from maxq_torch.sparsifier import SRSTE_LAMBDA

NODE = shutil.which("node")
CORE = os.path.join(REPO, "out", "src", "core")


def node_json(code):
    if NODE is None:
        pytest.fail("node is not on PATH")
    p = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


# Spec §4.1 table, s = 0, t = 30.
TABLE = {
    "linear": {0: 1, 1: .96667, 5: .83333, 10: .66667, 15: .5, 20: .33333, 25: .16667, 29: .03333, 30: 0},
    "cubic": {0: 1, 1: .90330, 5: .57870, 10: .29630, 15: .125, 20: .03704, 25: .00463, 29: .00004, 30: 0},
    "cos": {0: 1, 1: .99863, 5: .96593, 10: .86603, 15: .70711, 20: .5, 25: .25882, 29: .05234, 30: 0},
    "exp": {0: 1, 1: .93628, 5: .71101, 10: .48595, 15: .31067, 20: .17416, 25: .06785, 29: 0, 30: 0},
}


@pytest.mark.parametrize("kind", list(TABLE))
def test_schedule_table(kind):
    s = DenseFractionSchedule(kind, 0, 30, 120)
    for e, v in TABLE[kind].items():
        assert abs(s.at(e) - v) <= 5e-6, (kind, e, s.at(e), v)
    assert s.at(29) == 0 if kind == "exp" else s.at(29) > 0


def test_schedule_edges_and_errors():
    assert DenseFractionSchedule("linear", 0, 0, 5).at(0) == 0
    step = DenseFractionSchedule("cubic", 2, 2, 5)
    assert (step.at(1), step.at(2)) == (1, 0)
    e1 = DenseFractionSchedule("exp", 3, 4, 6)
    assert (e1.at(3), e1.at(3.5), e1.at(4)) == (1, 1, 0)
    with pytest.raises(UsageError, match="decay end 5 must be before the last epoch"):
        DenseFractionSchedule("linear", 0, 5, 5)
    with pytest.raises(UsageError, match="unknown schedule 'quadratic'"):
        DenseFractionSchedule("quadratic", 0, 1, 5)
    assert schedule_for(3) == DenseFractionSchedule("linear", 0, 1, 3)
    assert schedule_for(1).is_none
    assert schedule_for(4, "cos", None, 9) == DenseFractionSchedule("cos", 0, 3, 4)


def test_schedule_and_lr_match_typescript():
    steps = list(range(0, 40, 3))
    ts = node_json(f"""
      const {{ DenseFractionSchedule }} = require('{CORE}/masks/denseFractionSchedule.js');
      const {{ LrSchedule }} = require('{CORE}/training/optim/lr-schedule.js');
      const out = {{}};
      for (const kind of ['linear', 'cubic', 'cos', 'exp']) {{
        const s = new DenseFractionSchedule({{ kind, decayStart: 1, decayEnd: 3, totalEpochs: 4 }});
        out[kind] = {{ step: {steps}.map((g) => s.atStep(g, 10, 'step')), epoch: {steps}.map((g) => s.atStep(g, 10, 'epoch')) }};
      }}
      const cos = new LrSchedule({{ kind: 'cosine', baseLr: 0.1, epochs: 4, stepsPerEpoch: 10, per: 'step' }});
      const st = new LrSchedule({{ kind: 'step', baseLr: 0.1, epochs: 4, stepsPerEpoch: 10, stepEvery: 2 }});
      out.cosine = {steps}.map((g) => cos.at(Math.floor(g / 10), g % 10));
      out.stepLr = {steps}.map((g) => st.at(Math.floor(g / 10), g % 10));
      console.log(JSON.stringify(out));
    """)
    for kind in ("linear", "cubic", "cos", "exp"):
        s = DenseFractionSchedule(kind, 1, 3, 4)
        for gran in ("step", "epoch"):
            py = [s.at_step(g, 10, gran) for g in steps]
            assert max(abs(a - b) for a, b in zip(py, ts[kind][gran])) <= 1e-15, (kind, gran)
    cos, st = LrSchedule("cosine", 0.1, 4, 10), LrSchedule("step", 0.1, 4, 10)
    assert max(abs(cos.at(g) - v) for g, v in zip(steps, ts["cosine"])) <= 1e-15
    assert max(abs(st.at(g) - v) for g, v in zip(steps, ts["stepLr"])) <= 1e-15


def test_data_order_and_split_match_typescript():
    ts = node_json(f"""
      const {{ epochBatches }} = require('{CORE}/data/batches.js');
      const {{ trainValSplit }} = require('{CORE}/data/split.js');
      console.log(JSON.stringify({{
        e0: epochBatches(103, {{ batchSize: 10, seed: 7, epoch: 0 }}),
        e3: epochBatches(103, {{ batchSize: 10, seed: 7, epoch: 3 }}),
        split: trainValSplit(57, {{ valFraction: 0.1, seed: 0 }}),
        split2: trainValSplit(1000, {{ valFraction: 0.25, seed: 123456 }}),
      }}));
    """)
    assert epoch_batches(103, 10, 7, 0) == ts["e0"]
    assert epoch_batches(103, 10, 7, 3) == ts["e3"]
    assert len(ts["e0"]) == 10 and ts["e0"] != ts["e3"]
    assert train_val_split(57, 0.1, 0) == (ts["split"]["train"], ts["split"]["val"])
    assert train_val_split(1000, 0.25, 123456) == (ts["split2"]["train"], ts["split2"]["val"])


def test_normalize_syntax_and_presets():
    n = parse_normalization("1/255,0.485:0.456:0.406,0.229:0.224:0.225")
    assert n.scale == 1 / 255 and n.mean == [0.485, 0.456, 0.406]
    assert parse_normalization("MNIST") == parse_normalization("1/255,0.1307,0.3081")
    mul, add = parse_normalization("mnist").per_channel(1)
    assert math.isclose(mul[0], 1 / 255 / 0.3081) and math.isclose(add[0], -0.1307 / 0.3081)
    for bad, msg in [("1/255,0.1", "must be SCALE,MEAN,STD"), ("x,0,1", "bad scale 'x'"), ("1,0,0", "std must be positive"),
                     ("1/0,0,1", "bad scale")]:
        with pytest.raises(UsageError, match=msg):
            parse_normalization(bad)
    with pytest.raises(UsageError, match="mean has 2 values but the inputs have 3 channels"):
        parse_normalization("1,0:0,1").per_channel(3)


def test_uint8_inputs_need_a_normalisation(tmp_path):
    from maxq_torch.data import open_npy
    np.save(tmp_path / "x.npy", np.zeros((20, 1, 4, 4), np.uint8))
    np.save(tmp_path / "y.npy", np.arange(20) % 3)
    with pytest.raises(UsageError, match=r"x\.npy: inputs are uint8 bytes; choose their preprocessing with --normalize"):
        open_npy(str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    d = open_npy(str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), normalize="unit", val_fraction=0.1)
    assert (len(d.train), len(d.val)) == (18, 2)
    with pytest.raises(UsageError, match=r"y2\.npy: 5 labels for 20 inputs"):
        np.save(tmp_path / "y2.npy", np.arange(5))
        open_npy(str(tmp_path / "x.npy"), str(tmp_path / "y2.npy"), normalize="unit")


def _recipe(tmp_path, **over):
    r = {"format": "maxq-recipe", "version": 1, "model": "m.onnx", "pattern": "2:4", "method": "maxq", "epochs": 3,
         "batchSize": 32, "seed": 5, "optimizer": {"name": "adamw", "lr": 0.002, "weightDecay": 0.01},
         "schedule": {"kind": "cubic"}, "policy": {"include": ["fc.weight"], "exclude": []},
         "data": {"kind": "npy", "inputs": "d/x.npy", "labels": "d/y.npy", "normalize": "mnist"},
         "unknownKey": 1}
    r.update(over)
    for k, v in list(r.items()):
        if v is None:
            del r[k]
    p = tmp_path / "maxq-recipe.json"
    p.write_text(json.dumps(r))
    return str(p)


def test_recipe_reading(tmp_path):
    o = read_recipe(_recipe(tmp_path))
    assert o["model"] == str(tmp_path / "m.onnx") and o["inputs"] == str(tmp_path / "d" / "x.npy")
    assert (o["optimizer"], o["lr"], o["weight_decay"], o["batch"], o["seed"]) == ("adamw", 0.002, 0.01, 32, 5)
    assert o["schedule"] == "cubic" and "decay_end" not in o and o["include"] == ["fc.weight"]
    assert read_recipe(_recipe(tmp_path, model="resnet18"))["model"] == "resnet18"
    assert read_recipe(_recipe(tmp_path, model="nets/my.py:build"))["model"] == str(tmp_path / "nets" / "my.py") + ":build"
    path = _recipe(tmp_path, epochs=None)
    with pytest.raises(UsageError, match=f"{path}: recipe is missing the required key 'epochs'"):
        read_recipe(path)
    path = _recipe(tmp_path, data={"kind": "npy", "labels": "y.npy"})
    with pytest.raises(UsageError, match="missing the required key 'data.inputs'"):
        read_recipe(path)
    with pytest.raises(UsageError, match="recipe version 2 is not supported"):
        read_recipe(_recipe(tmp_path, version=2))
    with pytest.raises(UsageError, match="'batchSize' must be int"):
        read_recipe(_recipe(tmp_path, batchSize="64"))
    # BatchNorm settings: optional (older recipes run with the defaults), typed when present.
    assert "bn_recalibrate" not in o and "run_norm" not in o
    o = read_recipe(_recipe(tmp_path, batchNorm={"reestimateBatches": 0, "runNormalisation": False}))
    assert (o["bn_recalibrate"], o["run_norm"]) == (0, False)
    with pytest.raises(UsageError, match="'batchNorm.runNormalisation' must be bool"):
        read_recipe(_recipe(tmp_path, batchNorm={"runNormalisation": "yes"}))


def test_flags_override_the_recipe(tmp_path):
    from maxq_torch.train import resolve_options
    path = _recipe(tmp_path)
    o = resolve_options(["--recipe", path, "--epochs", "5", "--lr", "0.1", "--exclude", "a,b"])
    assert (o["epochs"], o["lr"], o["optimizer"], o["exclude"]) == (5, 0.1, "adamw", ["a", "b"])
    assert o["out"] == str(tmp_path / "m.maxq-2of4.torch.onnx")
    with pytest.raises(UsageError, match="never overwritten"):
        resolve_options(["--recipe", path, "--out", str(tmp_path / "m.onnx")])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.pw = nn.Conv2d(16, 32, 1)
        self.odd = nn.Conv2d(32, 6, 3, padding=1)
        self.mix = nn.Conv2d(6, 16, 1)
        self.hidden = nn.Linear(16, 16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.mix(self.odd(self.pw(self.dw(self.stem(x)).relu())))
        return self.fc(self.hidden(x.mean((2, 3))).relu())


def _reasons(sp):
    return {l.name: (l.selected, l.reason) for l in sp.layers}


def test_policy_with_reasons():
    x = torch.randn(2, 3, 8, 8)
    r = _reasons(MaxQSparsifier(Net(), "2:4", example_input=x))
    assert r["stem.weight"] == (False, "Cin 3 is not a multiple of M=4")
    assert r["dw.weight"] == (False, "depthwise conv")
    assert r["pw.weight"] == (True, None) and r["odd.weight"] == (True, None)
    assert r["mix.weight"] == (False, "Cin 6 is not a multiple of M=4")
    assert r["hidden.weight"] == (False, "linear layer (opt-in: name it with --include)")
    assert r["fc.weight"] == (False, "final classifier (kept dense unless named with --include)")
    r = _reasons(MaxQSparsifier(Net(), "2:4", include=["*"], exclude=["odd*"], example_input=x))
    assert r["hidden.weight"] == (True, None), "a glob opts the linear layers in as a group"
    assert r["fc.weight"][0] is False, "but not the classifier"
    assert r["odd.weight"] == (False, "excluded by --exclude")
    r = _reasons(MaxQSparsifier(Net(), "2:4", include=["fc.weight"], example_input=x))
    assert r["fc.weight"] == (True, None)


def test_straight_through_gradient_and_srste_decay():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1))
    sp = MaxQSparsifier(conv, "2:4", "maxq", example_input=torch.randn(1, 4, 6, 6))
    (info,) = sp.selected
    assert info.name == "1.weight"
    x = torch.randn(3, 4, 6, 6)
    sp.set_dense_fraction(0.0)
    out = conv(x)
    hard, soft = sp.current_masks()["1.weight"]
    w = sp.dense_weight(info).detach().clone()
    expected_hard, expected_soft = layer_masks(w, "2:4", "maxq", 0.0)
    assert torch.equal(hard, expected_hard) and torch.equal(soft, expected_soft)
    # Reference: the same network with W_eff = W * S as a leaf; dL/dW must equal dL/dW_eff (not times S).
    w_eff = (w * soft).requires_grad_(True)
    ref = nn.functional.conv2d(conv[0](x), w_eff, conv[1].bias, padding=1)
    assert torch.allclose(out, ref)
    out.square().sum().backward()
    ref.square().sum().backward()
    g = sp.dense_weight(info).grad.clone()
    assert torch.allclose(g, w_eff.grad, atol=1e-6)
    sp.add_srste_decay()
    decay = SRSTE_LAMBDA * (1 - hard.float()) * w
    assert torch.allclose(sp.dense_weight(info).grad, g + decay, atol=1e-9)
    assert torch.count_nonzero(decay) > 0


def test_magnitude_has_no_decay_and_dense_fraction_applies():
    conv = nn.Sequential(nn.Conv2d(4, 8, 3), nn.Conv2d(8, 8, 3))
    sp = MaxQSparsifier(conv, "2:4", "magnitude")
    sp.set_dense_fraction(0.5)
    conv(torch.randn(1, 4, 8, 8)).sum().backward()
    hard, soft = sp.current_masks()["1.weight"]
    assert torch.equal(soft, hard.float()), "magnitude: the forward factor is H"
    assert 0.5 < float(hard.float().mean()) < 1, "half the blocks are dense"
    g = sp.dense_weight(sp.selected[0]).grad.clone()
    sp.add_srste_decay()
    assert torch.equal(sp.dense_weight(sp.selected[0]).grad, g)


def test_fold_is_exactly_nm_and_equals_w_times_s():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.Flatten(), nn.Linear(16 * 4 * 4, 32),
                        nn.Linear(32, 4))
    sp = MaxQSparsifier(net, "2:8", "maxq", include=["4.weight"], example_input=torch.randn(1, 3, 8, 8))
    assert [l.name for l in sp.selected] == ["2.weight", "4.weight"]
    sp.set_dense_fraction(0.7)
    x = torch.randn(2, 3, 8, 8)
    expect = {l.name: sp.dense_weight(l).detach() * layer_masks(sp.dense_weight(l).detach(), "2:8")[1]
              for l in sp.selected}
    folded = fold(net)
    assert set(folded) == {"2.weight", "4.weight"}
    assert torch.equal(net[2].weight, expect["2.weight"]) and torch.equal(net[4].weight, expect["4.weight"])
    assert nm_violations(net[2].weight, "2:8") == 0 and nm_violations(net[4].weight, "2:8") == 0
    assert not any(torch.signbit(net[2].weight[net[2].weight == 0])), "zeros are +0"
    assert isinstance(net[2].weight, nn.Parameter) and "parametrizations" not in dict(net[2].named_children())
    net(x)  # still runs as a plain model


def test_onnx_unsupported_op_names_op_and_node(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    from maxq_torch.onnx_module import load_onnx
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="act"),
                           helper.make_node("Softplus", ["r"], ["y"], name="my_softplus")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "softplus.onnx"
    onnx.save(helper.make_model(g), str(path))
    with pytest.raises(UsageError, match=r"softplus\.onnx: unsupported op Softplus \(node 'my_softplus'\)"):
        load_onnx(str(path))


def test_model_from_python_file(tmp_path):
    from maxq_torch.train import load_model
    (tmp_path / "net.py").write_text("import torch\ndef build():\n    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3))\n")
    m, _ = load_model(f"{tmp_path / 'net.py'}:build")
    assert isinstance(m, nn.Sequential)
    with pytest.raises(UsageError, match="no function 'nope'"):
        load_model(f"{tmp_path / 'net.py'}:nope")
    with pytest.raises(UsageError, match="unknown model 'not_a_model'"):
        load_model("not_a_model")


def test_step_guard_matches_the_typescript_rule():
    from maxq_torch.train import MAX_STEP, _guard
    w = nn.Parameter(torch.full((10,), 3.0))
    w.grad = torch.full((10,), 100.0)
    assert _guard([w], lr=0.1) == "clipped"
    # lr * |g| is now exactly MAX_STEP * |W| (|W| = sqrt(90) > 1).
    assert math.isclose(0.1 * float(w.grad.norm()), MAX_STEP * math.sqrt(90), rel_tol=1e-6)
    w.grad = torch.full((10,), 1e-3)
    assert _guard([w], lr=0.1) == "ok" and float(w.grad[0]) == pytest.approx(1e-3)
    w.grad[3] = float("inf")
    assert _guard([w], lr=0.1) == "non-finite"


def _sorted_axis_terms(rows, k):
    """The soft terms by the definition: a stable ascending sort of the reversed row drops the k smallest |w|,
    the higher index first on equal |w|; thr is the midpoint of the last dropped and the first kept value."""
    from maxq_torch.masks import SOFT_TAU
    length = rows.shape[1]
    vals, sidx = torch.sort(rows.flip(1), dim=1, stable=True)
    dropped = (length - 1) - sidx[:, :k]
    thr = (vals[:, k - 1].double() + vals[:, k].double()) / 2
    kept = torch.ones(rows.shape, dtype=torch.bool)
    kept.scatter_(1, dropped, False)
    terms = torch.sigmoid(((rows.double() - thr[:, None]) / SOFT_TAU).clamp_min(0)).float()
    return torch.where(kept, terms, torch.zeros_like(terms))


@pytest.mark.parametrize("levels", [None, 3, 8])
def test_mask_selection_without_sorting_matches_the_sorted_definition(levels):
    """The CPU fast paths (pairwise ranks in blocks, kthvalue for the soft terms) give the sort's result exactly,
    ties included: the sort path is what runs on a GPU, the other on CPU."""
    from maxq_torch.masks import _axis_terms, _keep_n_largest
    g = torch.Generator().manual_seed(7 if levels is None else levels)
    for m in (4, 8, 16):
        blocks = torch.randn(500, m, generator=g).abs()
        if levels:
            blocks = torch.round(blocks * levels) / levels  # many equal values, zeros included
        for n in range(1, m):
            fast = _keep_n_largest(blocks, n, pairwise=True)
            assert torch.equal(fast, _keep_n_largest(blocks, n, pairwise=False)), (m, n)
            assert bool((fast.sum(dim=1) == n).all())
    for length, k in ((64, 32), (96, 72), (10, 1), (50, 49)):
        rows = torch.randn(40, length, generator=g).abs()
        if levels:
            rows = torch.round(rows * levels) / levels
        assert torch.equal(_axis_terms(rows, k), _sorted_axis_terms(rows, k)), (length, k)

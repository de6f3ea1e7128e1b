"""The run normalisation and post-fine-tune BN re-estimation of maxq_torch (run_norm.py), mirroring the TypeScript
engine: identity on the dense model, folded exactly into the layer at export with every N:M zero kept, statistics
measured again after training, and end to end on a model `torch.onnx.export` wrote in eval mode (BN folded)."""
import json

import numpy as np
import pytest
import torch
from torch import nn

from maxq_torch import run_norm
from maxq_torch.data import TensorData
from maxq_torch.fold import fold
from maxq_torch.masks import nm_violations
from maxq_torch.normalize import Normalization
from maxq_torch.onnx_module import load_onnx
from maxq_torch.pattern import NmPattern
from maxq_torch.sparsifier import MaxQSparsifier
from maxq_torch.train import Dist, resolve_options, run


class Net(nn.Module):
    """Conv-BN-ReLU twice, global pooling, a linear classifier: after an eval-mode export, no BN is left."""

    def __init__(self, bias=True):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, bias=bias), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 16, 3, padding=1, bias=bias), nn.BatchNorm2d(16), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(self.body(x))


def export_folded(path, bias=True, seed=0):
    torch.manual_seed(seed)
    net = Net(bias)
    with torch.no_grad():  # BN statistics far from (0, 1), as a trained network has
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
    net.eval()
    torch.onnx.export(net, torch.randn(1, 4, 8, 8), str(path), opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    import onnx
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert "BatchNormalization" not in ops, ops
    return path


def data(n=96, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, 8, 8, generator=g)
    y = (x[:, 0].mean(dim=(1, 2)) > 0).long() + 2 * (x[:, 1].mean(dim=(1, 2)) > 0).long()
    return TensorData(x, y, Normalization(1.0, [0.0], [1.0]), "synthetic")


def solo():
    return Dist("cpu")


def test_statistics_of_the_dense_model_identity_and_exact_fold(tmp_path):
    model = load_onnx(str(export_folded(tmp_path / "m.onnx")))
    ds, d = data(), solo()
    x = ds.batch(list(range(16)))[0]
    cands = run_norm.candidates(model)
    assert len(cands) == 3  # both convs and the classifier: no BN after any of them
    stats = run_norm.measure_outputs(model, cands, ds, 32, 3, 0, d)
    # The dense layer outputs' statistics: the mean over the first 3 batches of epoch 0 of the batch mean and the
    # unbiased batch variance (bnRecalibration.ts).
    from maxq_torch.seeding import epoch_batches
    first = cands[0]
    with torch.no_grad():
        outs = [first(ds.batch(i)[0]) for i in epoch_batches(len(ds), 32, 0, 0)[:3]]
    assert torch.allclose(stats[0][0], sum(o.mean(dim=(0, 2, 3)) for o in outs) / 3, atol=1e-5)
    assert torch.allclose(stats[0][1], sum(o.var(dim=(0, 2, 3)) for o in outs) / 3, atol=1e-5)
    sp = MaxQSparsifier(model, "2:4", "maxq")
    model.eval()
    with torch.no_grad():
        masked = model(x)
    sites, skipped = run_norm.plan_sites(model, sp.selected)
    assert [m.maxq_name for _, m in sites] == [l.name for l in sp.selected] and not skipped
    assert run_norm.insert_run_norms(model, sites, {id(m): s for m, s in zip(cands, stats)}) == len(sites)
    model.eval()
    with torch.no_grad():
        same = model(x)
    # An inserted BN in eval mode is (y - mu) / s * s + mu with s = sqrt(var + eps): the identity.
    assert torch.allclose(same, masked, atol=1e-5, rtol=1e-5), float((same - masked).abs().max())
    # Trained normalisations: any scale, shift and statistics fold exactly into the layer at p = 0.
    with torch.no_grad():
        for bn in model.run_norms.values():
            bn.weight.uniform_(0.5, 2)
            bn.bias.uniform_(-1, 1)
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.2, 3)
    sp.set_dense_fraction(0.0)
    with torch.no_grad():
        masked = model(x)
    folded = fold(model)
    assert run_norm.fold_run_norms(model) == len(sites) and len(model.run_norms) == 0
    with torch.no_grad():
        after = model(x)
    assert torch.allclose(after, masked, atol=1e-4, rtol=1e-4), float((after - masked).abs().max())
    for info in sp.selected:
        assert nm_violations(info.module.weight.detach(), NmPattern.parse("2:4"), info.transposed) == 0, info.name
    assert set(folded) == {l.name for l in sp.selected}


def test_layers_that_cannot_be_normalised_say_why(tmp_path):
    model = load_onnx(str(export_folded(tmp_path / "nobias.onnx", bias=False)))
    sp = MaxQSparsifier(model, "2:4", "maxq")
    sites, skipped = run_norm.plan_sites(model, sp.selected)
    # The exporter gives a folded conv a bias (the BN's shift), so both convs qualify; the classifier has one too.
    assert len(sites) == len(sp.selected)
    conv = next(m for _, m in sites if m.maxq_op == "Conv")
    conv.bias = None
    sites, skipped = run_norm.plan_sites(model, sp.selected)
    assert (conv.maxq_name, "the layer has no bias to fold the normalisation\u2019s shift into") in skipped
    msg = run_norm.describe(len(sites), 0, skipped)
    assert "left as they are" in msg and conv.maxq_name in msg


def test_reestimation_measures_the_model_as_it_is_and_restores():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(4, 6, 3), nn.BatchNorm2d(6), nn.ReLU()).eval()
    ds, d = data(), solo()
    before = net[1].running_mean.clone()
    saved = run_norm.reestimate(net, ds, 32, 2, 0, d)
    # Cumulative average of the two batches' statistics, exactly.
    from maxq_torch.seeding import epoch_batches
    plan = epoch_batches(len(ds), 32, 0, 0)[:2]
    with torch.no_grad():
        outs = [net[0](ds.batch(i)[0]) for i in plan]
    want_mean = sum(o.mean(dim=(0, 2, 3)) for o in outs) / 2
    want_var = sum(o.var(dim=(0, 2, 3), unbiased=True) for o in outs) / 2
    assert torch.allclose(net[1].running_mean, want_mean, atol=1e-5)
    assert torch.allclose(net[1].running_var, want_var, atol=1e-5)
    assert net[1].momentum == 0.1 and not net.training
    run_norm.restore(saved)
    assert torch.equal(net[1].running_mean, before)


def test_validation_choice_rule():
    better = run_norm.validates_at_least_as_well
    assert better((0.9, 1.0), (0.8, 0.5))
    assert not better((0.7, 0.1), (0.8, 0.5))
    assert better((0.8, 0.4), (0.8, 0.5)) and not better((0.8, 0.6), (0.8, 0.5))
    assert better((None, None), (0.8, 0.5))


def _run(tmp_path, model, extra):
    ds = data(192)
    np.save(tmp_path / "x.npy", ds.inputs.numpy())
    np.save(tmp_path / "y.npy", ds.labels.numpy())
    events = tmp_path / f"{len(extra)}.events.jsonl"
    out = tmp_path / f"out{len(extra)}.onnx"
    o = resolve_options([str(model), "--pattern", "2:4", "--epochs", "1", "--batch", "32", "--inputs",
                         str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"), "--normalize", "none",
                         "--lr", "0.05", "--out", str(out), "--events", str(events), "--device", "cpu",
                         "--include", "*"] + extra)
    summary = run(o)
    ev = [json.loads(line) for line in open(events) if line.strip()]
    return summary, ev, out


def test_fine_tune_of_a_bn_folded_export_normalises_reestimates_and_writes_the_source_graph(tmp_path):
    import onnx
    model = export_folded(tmp_path / "folded.onnx")
    summary, ev, out = _run(tmp_path, model, [])
    assert summary["validationPass"]
    phases = [e["phase"] for e in ev if e["type"] == "phase"]
    assert "normalisation" in phases and "BN re-estimation" in phases
    logs = [e["message"] for e in ev if e["type"] == "log"]
    # Both convs (the classifier stays dense by default).
    assert any("2 normalised for the run, folded back at export" in m for m in logs), logs
    assert any(m.startswith("BN statistics: validation accuracy") for m in logs), logs
    # The run summary carries it as the TypeScript engine's does (RunSummary.normalisation).
    norm = summary["normalisation"]
    assert len(norm["normalised"]) == 2 and norm["followedByBn"] == 0 and norm["skipped"] == []
    assert norm["message"].startswith("sparsified layers: 2 normalised for the run")
    # The written model has the source's structure: no BatchNormalization, the same weight names.
    src, got = onnx.load(str(model)), onnx.load(str(out))
    assert [n.op_type for n in got.graph.node if n.op_type in ("Conv", "Gemm", "BatchNormalization")] == \
        [n.op_type for n in src.graph.node if n.op_type in ("Conv", "Gemm", "BatchNormalization")]
    assert {t.name for t in src.graph.initializer} <= {t.name for t in got.graph.initializer}
    # The folded normalisation keeps the output at the dense model's scale.
    x = data(64, seed=7).batch(list(range(64)))[0]
    with torch.no_grad():
        dense, sparse = load_onnx(str(model)).eval()(x), load_onnx(str(out)).eval()(x)
    ratio = float(sparse.std() / dense.std())
    assert 0.33 < ratio < 3, ratio
    # Without the run normalisation the run says which layers trained without one, and re-estimates nothing.
    summary2, ev2, _ = _run(tmp_path, model, ["--no-run-norm"])
    logs2 = [e for e in ev2 if e["type"] == "log"]
    assert any(e["level"] == "warn" and "--no-run-norm" in e["message"] for e in logs2), logs2
    assert "BN re-estimation" not in [e["phase"] for e in ev2 if e["type"] == "phase"]


def test_bad_bn_batches_is_a_usage_error(tmp_path):
    from maxq_torch.errors import UsageError
    with pytest.raises(UsageError, match="--bn-recalibrate must be a whole number"):
        resolve_options([str(tmp_path / "m.onnx"), "--pattern", "2:4", "--epochs", "1", "--bn-recalibrate", "-2"])

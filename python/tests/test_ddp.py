"""torchrun --nproc_per_node=2 (gloo, CPU) on the bundled demo CNN and MNIST digits: identical masks on both ranks,
loss going down, checkpoint/resume equal to an uninterrupted run, a RunEvent stream, an exported ONNX model the
TypeScript validator passes."""
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import PYTHON_DIR, REPO
from runevents import check_event
from maxq_torch.train import load_checkpoint

MODEL = os.path.join(REPO, "media", "demo", "mnist-cnn.onnx")
NODE = shutil.which("node")


def torchrun_cmd(log_dir):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    # torch 1.13's launcher on Python 3.11 reads the default "--redirects 0" as None and crashes
    # (IntFlag iteration changed); an explicit stdout redirect with tee sidesteps it on every version.
    from torch.distributed.elastic.multiprocessing.api import Std
    if Std.from_str("0") is None:
        cmd += ["--redirects", "1", "--tee", "1", "--log_dir", str(log_dir)]
    return cmd + ["-m", "maxq_torch.train"]


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_torch(args, cwd, timeout=180):
    """One torchrun launch in its own process group; on a timeout the whole group (launcher and workers) is
    killed, and a collective that waits longer than 60 s fails the run with a traceback instead of hanging."""
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR, OMP_NUM_THREADS="1")
    cmd = torchrun_cmd(os.path.join(cwd, "torchrun-logs")) + args + ["--dist-timeout", "60"]
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail(f"torchrun {' '.join(args)} did not finish in {timeout} s:\n{out[-3000:]}\n{err[-3000:]}")
    return Result(p.returncode, out, err)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if NODE is None:
        pytest.fail("node is not on PATH (needed for the demo data and the validator)")
    d = tmp_path_factory.mktemp("ddp")
    full = d / "full"
    exp = subprocess.run([NODE, os.path.join(REPO, "scripts", "cross-engine", "export-mnist-npy.js"), str(full)],
                         capture_output=True, text=True, timeout=120)
    assert exp.returncode == 0, exp.stderr
    x = np.load(full / "mnist-demo-train-inputs.npy")
    y = np.load(full / "mnist-demo-train-labels.npy")
    np.save(d / "x.npy", x[:512])
    np.save(d / "y.npy", y[:512])
    np.save(d / "vx.npy", np.load(full / "mnist-demo-val-inputs.npy")[:128])
    np.save(d / "vy.npy", np.load(full / "mnist-demo-val-labels.npy")[:128])
    recipe = {"format": "maxq-recipe", "version": 1, "model": MODEL, "output": "a.onnx", "pattern": "2:4",
              "method": "maxq", "epochs": 2, "batchSize": 64, "seed": 0,
              "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": False, "weightDecay": 0.0001},
              "lrSchedule": "cosine", "labelSmoothing": 0,
              "schedule": {"kind": "linear", "decayStart": 0, "decayEnd": 1, "granularity": "step"},
              "policy": {"include": [], "exclude": []}, "someFutureKey": {"ignored": True},
              "data": {"kind": "npy", "inputs": "x.npy", "labels": "y.npy", "valInputs": "vx.npy",
                       "valLabels": "vy.npy", "normalize": "mnist", "valFraction": 0.1}}
    (d / "maxq-recipe.json").write_text(json.dumps(recipe))
    # A: the whole run, from the recipe.
    a = run_torch(["--recipe", "maxq-recipe.json", "--events", "a.events.jsonl"], d)
    assert a.returncode == 0, a.stdout[-3000:] + a.stderr[-3000:]
    # B then C: the same run from flags, stopped after epoch 1 and resumed.
    flags = [MODEL, "--pattern", "2:4", "--epochs", "2", "--batch", "64", "--inputs", "x.npy", "--labels", "y.npy",
             "--val-inputs", "vx.npy", "--val-labels", "vy.npy", "--normalize", "1/255,0.1307,0.3081",
             "--out", "b.onnx", "--events", "b.events.jsonl"]
    b = run_torch(flags + ["--stop-after", "1"], d)
    assert b.returncode == 0, b.stdout[-3000:] + b.stderr[-3000:]
    assert not (d / "b.onnx").exists(), "a stopped run must not write the output"
    cp_b = load_checkpoint(d / "b.run" / "checkpoint.pt")
    c = run_torch(flags + ["--resume", str(d / "b.run")], d)
    assert c.returncode == 0, c.stdout[-3000:] + c.stderr[-3000:]
    return d, cp_b


def _events(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_events_are_run_events(runs):
    d, _ = runs
    events = _events(d / "a.events.jsonl")
    for i, e in enumerate(events):
        check_event(e, f"a.events.jsonl line {i + 1}")
    types = [e["type"] for e in events]
    assert types.count("start") == 1 and types[-1] == "done" and types.count("epoch") == 2
    steps = [e for e in events if e["type"] == "step"]
    assert [e["globalStep"] for e in steps] == list(range(16)), "8 steps per epoch (512 samples, batch 64), 2 epochs"
    start = next(e for e in events if e["type"] == "start")
    assert start["layers"] == ["block.conv1.weight", "block.conv2.weight", "block.down.conv.weight",
                               "head.conv.weight"], "the ONNX initializer names the TS engine reports"
    summary = events[-1]["summary"]
    assert summary["validationPass"] is True and summary["sparsifiedLayers"] == 4
    assert summary["finalAccuracy"] > 0.8, summary
    # p follows the schedule: 1 at the first step, 0 from epoch 1 on.
    assert steps[0]["denseFraction"] == 1.0 and all(e["denseFraction"] == 0 for e in steps[8:])
    # The resumed run appended to B's file: cancelled (stop) then the rest, ending with done.
    b_events = _events(d / "b.events.jsonl")
    for i, e in enumerate(b_events):
        check_event(e, f"b.events.jsonl line {i + 1}")
    assert "cancelled" in [e["type"] for e in b_events] and b_events[-1]["type"] == "done"


def test_loss_decreases(runs):
    d, _ = runs
    losses = [e["loss"] for e in _events(d / "a.events.jsonl") if e["type"] == "step"]
    assert np.mean(losses[-4:]) < np.mean(losses[:4]), losses


def test_identical_masks_on_both_ranks(runs):
    d, cp_b = runs
    for cp in (cp_b, load_checkpoint(d / "a.run" / "checkpoint.pt")):
        digests = cp["mask_digests"]
        assert len(digests) == 2 and digests[0] == digests[1], digests
        assert len(cp["rng"]) == 2


def test_resume_continues_exactly(runs):
    d, cp_b = runs
    assert cp_b["epoch"] == 1 and cp_b["global_step"] == 8
    a = load_checkpoint(d / "a.run" / "checkpoint.pt")
    c = load_checkpoint(d / "b.run" / "checkpoint.pt")
    assert (a["epoch"], a["global_step"]) == (c["epoch"], c["global_step"]) == (2, 16)
    assert a["model"].keys() == c["model"].keys()
    for k in a["model"]:
        assert torch.equal(a["model"][k], c["model"][k]), f"model tensor {k} differs after resume"
    sa, sc = a["optimizer"]["state"], c["optimizer"]["state"]
    assert sa.keys() == sc.keys() and len(sa) > 0
    for k in sa:
        assert torch.equal(sa[k]["momentum_buffer"], sc[k]["momentum_buffer"]), f"momentum of param {k} differs"
    assert a["mask_digests"] == c["mask_digests"]
    # And the written models are the same weights.
    import onnx
    from onnx import numpy_helper
    wa = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(d / "a.onnx")).graph.initializer}
    wc = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(d / "b.onnx")).graph.initializer}
    assert wa.keys() == wc.keys()
    for k in wa:
        assert np.array_equal(wa[k], wc[k]), f"exported {k} differs"


def test_export_passes_the_typescript_validator(runs):
    d, _ = runs
    for name in ("a.onnx", "b.onnx"):
        p = subprocess.run([NODE, os.path.join(REPO, "bin", "maxq.js"), "validate", str(d / name), "--pattern", "2:4"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "PASS: 4 of 4 checked layers comply" in p.stdout, p.stdout
    assert os.path.exists(MODEL), "the input model is never touched"


def test_exported_model_reimports_with_the_same_layers(runs):
    """The export keeps the source's weight names; equal tensors the exporter deduplicated through Identity nodes
    are resolved to their initializer, so the written model reads back as the same sparse layers."""
    from maxq_torch.masks import nm_violations
    from maxq_torch.onnx_module import load_onnx
    from maxq_torch.policy import discover_layers
    d, _ = runs
    m = load_onnx(str(d / "a.onnx")).eval()
    selected = [l for l in discover_layers(m, 4) if l.selected]
    assert [l.name for l in selected] == ["block.conv1.weight", "block.conv2.weight", "block.down.conv.weight",
                                          "head.conv.weight"]
    for l in selected:
        assert nm_violations(l.module.weight, "2:4") == 0, l.name
    vx = torch.from_numpy(np.load(d / "vx.npy")).float() / 255
    with torch.no_grad():
        assert m((vx - 0.1307) / 0.3081).shape == (128, 10)

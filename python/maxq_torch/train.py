"""`torchrun --nproc_per_node=K -m maxq_torch.train MODEL --pattern 2:4 ...`: the MaxQ fine-tune of the TS engine
(src/core/training/fineTune.ts) on PyTorch, one process per device, DistributedDataParallel (gloo on CPU, nccl on
CUDA). Also runs as a single process (`python -m maxq_torch.train ...`).

Per step: p from the schedule at the global step, masks recomputed from the dense weights (identical on every
rank), forward with W * S, straight-through gradient (all-reduced by DDP), SR-STE decay, the TS engine's step guard,
optimizer step on the dense weights. Per epoch: evaluation of the model as it will be exported (p = 0), an `epoch`
event and a checkpoint (resume continues exactly: model, optimizer, AMP scaler, RNG, epoch and global step; the
learning rate and p are pure functions of the global step and the data order of (seed, epoch)). Layers with no
BatchNorm after them train with the TS engine's run normalisation, and every BN's statistics are measured again
after training (run_norm.py). At the end: fold (W * S, then the run normalisations), check N:M, `torch.onnx.export` (eval mode) to a temp file renamed to the output, run record, `done` event.
"""
import argparse
import importlib.util
import json
import math
import os
import random
import sys
import time
from datetime import datetime, timezone

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from . import run_norm
from .data import open_images, open_npy
from .errors import UsageError
from .events import EventWriter
from .fold import fold
from .masks import METHODS, nm_violations
from .pattern import NmPattern
from .recipe import read_recipe
from .run_norm import BN_BATCHES
from .schedule import GRANULARITIES, LR_SCHEDULES, SCHEDULE_KINDS, LrSchedule, schedule_for
from .seeding import epoch_batches
from .sparsifier import MaxQSparsifier

DEFAULTS = {
    "method": "maxq", "batch": 64, "seed": 0, "val_fraction": 0.1, "optimizer": "sgd", "momentum": 0.9,
    "nesterov": False, "weight_decay": 1e-4, "lr_schedule": "cosine", "label_smoothing": 0.0,
    "schedule_granularity": "step", "include": [], "exclude": [], "opset": 13, "image_size": None,
    "bn_recalibrate": BN_BATCHES, "run_norm": True,
}
MAX_STEP = 0.01  # the TS step guard: one step moves the weights by at most 1 % of their norm


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m maxq_torch.train",
                                description="MaxQ N:M fine-tune on PyTorch (torchrun / DDP). Flags override --recipe.")
    a = p.add_argument
    a("model", nargs="?", help="an .onnx file, a torchvision model name, or path/to/file.py:build_fn")
    a("--recipe", help="maxq-recipe.json (version 1); command-line flags override it")
    a("--pattern", help="N:M, e.g. 2:4")
    a("--method", choices=METHODS)
    a("--out", help="output .onnx (default <name>.maxq-<n>of<m>.torch.onnx beside the model)")
    a("--force", action="store_true", help="overwrite an existing output")
    a("--epochs", type=int)
    a("--batch", type=int, help="global batch size (split over the processes), default 64")
    a("--lr", type=float, help="default 0.01 (sgd) or 1e-3 (adamw)")
    a("--optimizer", choices=("sgd", "adamw"))
    a("--momentum", type=float)
    a("--nesterov", action="store_true", default=None)
    a("--weight-decay", type=float)
    a("--lr-schedule", choices=LR_SCHEDULES)
    a("--label-smoothing", type=float)
    a("--seed", type=int)
    a("--schedule", choices=SCHEDULE_KINDS, help="dense-fraction schedule (default linear 0 -> ceil(epochs/4))")
    a("--decay-start", type=int)
    a("--decay-end", type=int)
    a("--schedule-granularity", choices=GRANULARITIES)
    a("--inputs", help="training inputs .npy")
    a("--labels", help="training labels .npy")
    a("--val-inputs")
    a("--val-labels")
    a("--val-fraction", type=float, help="held out of the training data when no validation data is given (0.1)")
    a("--images", help="image folder (class sub-folders; or train/ and val/ inside)")
    a("--val-images")
    a("--image-size", type=int, help="image side for --images (default: the model's input, else 224)")
    a("--normalize", help="SCALE,MEAN,STD or a preset (none, unit, symmetric, imagenet, mnist)")
    a("--bn-recalibrate", type=int, metavar="BATCHES",
      help=f"after training, measure every BatchNorm's statistics again over this many batches (default {BN_BATCHES})")
    a("--no-bn-recalibrate", dest="bn_recalibrate", action="store_const", const=0,
      help="write training's running BatchNorm statistics as they are")
    a("--no-run-norm", dest="run_norm", action="store_false", default=None,
      help="train sparsified layers with no BatchNorm after them without the run normalisation")
    a("--include", action="append", help="layer names or globs to sparsify (comma-separated, repeatable)")
    a("--exclude", action="append", help="layer names or globs to leave dense")
    a("--events", help="write the RunEvent stream here as JSON lines (rank 0)")
    a("--run-dir", help="checkpoints go to RUN_DIR/checkpoint.pt (default <out>.run)")
    a("--resume", help="a run dir (or its checkpoint.pt) to continue from")
    a("--stop-after", type=int, help="stop after this many epochs (a checkpoint to --resume stays)")
    a("--amp", dest="amp", action="store_true", default=None, help="mixed precision (CUDA only; on by default there)")
    a("--no-amp", dest="amp", action="store_false")
    a("--device", choices=("auto", "cpu", "cuda"), default="auto")
    a("--opset", type=int, help="ONNX opset of the export of a PyTorch model (>= 13, default 13; an .onnx model keeps its own)")
    a("--dist-timeout", type=float, help="seconds a collective may wait for the other processes (default 1800)")
    return p


def _split_names(values):
    out = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def resolve_options(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    opts = dict(DEFAULTS)
    if args.recipe:
        opts.update(read_recipe(args.recipe))
        opts["recipe"] = args.recipe
    flags = {k: v for k, v in vars(args).items() if v is not None and k not in ("recipe", "include", "exclude")}
    if args.include:
        flags["include"] = _split_names(args.include)
    if args.exclude:
        flags["exclude"] = _split_names(args.exclude)
    if not args.force:
        flags.pop("force", None)
    opts.update(flags)
    for key in ("model", "pattern", "epochs"):
        if opts.get(key) is None:
            raise UsageError(f"--{key} is required (or give it in a --recipe)" if key != "model"
                             else "a model is required (an .onnx file, a torchvision name or file.py:build_fn)")
    opts["pattern_obj"] = NmPattern.parse(opts["pattern"])
    if opts["method"] not in METHODS:
        raise UsageError(f"unknown method '{opts['method']}' (use maxq, magnitude or srste)")
    if not isinstance(opts["epochs"], int) or opts["epochs"] < 1:
        raise UsageError(f"--epochs must be a whole number >= 1 for a fine-tune, got {opts['epochs']} "
                         "(one-shot masking is `maxq sparsify --epochs 0` in the TypeScript CLI)")
    if opts.get("lr") is None:
        opts["lr"] = 1e-3 if opts["optimizer"] == "adamw" else 0.01
    if not isinstance(opts["bn_recalibrate"], int) or opts["bn_recalibrate"] < 0:
        raise UsageError(f"--bn-recalibrate must be a whole number of batches >= 1, got {opts['bn_recalibrate']}")
    if opts["opset"] < 13:
        raise UsageError(f"--opset must be 13 or later, got {opts['opset']}")
    if not opts.get("out"):
        opts["out"] = default_output(opts["model"], opts["pattern_obj"])
    model_path = opts["model"] if opts["model"].lower().endswith(".onnx") else None
    if model_path and os.path.abspath(opts["out"]) == os.path.abspath(model_path):
        raise UsageError(f"the output {opts['out']} is the input model; the original is never overwritten")
    if not opts.get("run_dir"):
        opts["run_dir"] = os.path.splitext(opts["out"])[0] + ".run"
    return opts


def default_output(model: str, pattern: NmPattern) -> str:
    if ".py:" in model:
        base = os.path.splitext(model.split(".py:")[0] + ".py")[0]
        name = os.path.basename(base) + "-" + model.split(".py:")[1]
        folder = os.path.dirname(base)
    elif model.lower().endswith(".onnx"):
        folder, name = os.path.dirname(model), os.path.basename(model)[:-5]
    else:
        folder, name = ".", model
    # `.torch.onnx`: the TS engine's defaultTorchOutput (src/core/recipe/torchRecipe.ts), apart from its own output.
    return os.path.join(folder, f"{name}.maxq-{pattern.n}of{pattern.m}.torch.onnx")


def load_model(spec: str):
    """(module, input [C, H, W] or None)."""
    if spec.lower().endswith(".onnx"):
        from .onnx_module import load_onnx
        m = load_onnx(spec)
        shape = m.input_shape[1:] if len(m.input_shape) == 4 and all(m.input_shape[1:]) else None
        return m, shape
    if ".py:" in spec:
        file, fn = spec.rsplit(":", 1)
        if not os.path.exists(file):
            raise UsageError(f"{file}: model file not found")
        module_spec = importlib.util.spec_from_file_location("maxq_user_model", file)
        mod = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(mod)
        if not callable(getattr(mod, fn, None)):
            raise UsageError(f"{file}: no function '{fn}' to build the model")
        model = getattr(mod, fn)()
        if not isinstance(model, nn.Module):
            raise UsageError(f"{file}:{fn} returned {type(model).__name__}, not a torch.nn.Module")
        return model, None
    try:
        import torchvision.models as tvm
    except ImportError as e:
        raise UsageError(f"'{spec}' is not an .onnx or file.py:fn, and torchvision (for model names) is missing: {e}")
    builder = getattr(tvm, spec, None)
    if not callable(builder) or spec.startswith("_"):
        raise UsageError(f"unknown model '{spec}': not an .onnx file, a file.py:build_fn or a torchvision model name")
    return builder(), None


class Dist:
    def __init__(self, device_choice: str, timeout_s: float = 1800.0):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() if device_choice == "auto" else device_choice == "cuda"
        if use_cuda and not torch.cuda.is_available():
            raise UsageError("--device cuda, but CUDA is not available")
        if use_cuda:
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        else:
            self.device = torch.device("cpu")
        if self.world > 1 and not dist.is_initialized():
            from datetime import timedelta
            dist.init_process_group(backend="nccl" if use_cuda else "gloo", timeout=timedelta(seconds=timeout_s))

    def sum(self, values):
        t = torch.tensor(values, dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        if self.world > 1:
            dist.all_reduce(t)
        return t.tolist()

    def gather_objects(self, obj):
        if self.world == 1:
            return [obj]
        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def barrier(self):
        if self.world > 1:
            dist.barrier()

    def close(self):
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _rng_state():
    import numpy as np
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "python": random.getstate(), "numpy": np.random.get_state()}


def _set_rng_state(s):
    import numpy as np
    torch.set_rng_state(s["torch"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])


def _grad_scaler():
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):  # torch >= 2.3
        return torch.amp.GradScaler("cuda")
    return torch.cuda.amp.GradScaler()


def load_checkpoint(path, map_location="cpu"):
    """A checkpoint written by this trainer (it holds RNG states, so not weights-only; torch >= 2.6 defaults to
    weights_only=True)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except TypeError:  # torch without the weights_only argument
        return torch.load(path, map_location=map_location)


def _export_kwargs():
    """The TorchScript exporter everywhere (torch >= 2.9 defaults to the dynamo one, which ignores these options)."""
    import inspect
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


def _save_atomic(obj, path):
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _write_json_atomic(obj, path):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def evaluate(model, data, batch, d: Dist):
    """(accuracy, mean loss) of `model` in eval mode over `data`, sharded over the ranks and summed."""
    n = len(data)
    per = math.ceil(n / d.world)
    lo, hi = min(n, d.rank * per), min(n, (d.rank + 1) * per)
    correct = loss = 0.0
    was = model.training
    model.eval()
    with torch.no_grad():
        for start in range(lo, hi, batch):
            x, y = data.batch(list(range(start, min(hi, start + batch))))
            out = model(x.to(d.device)).float()
            y = y.to(d.device)
            loss += float(F.cross_entropy(out, y, reduction="sum"))
            correct += float((out.argmax(1) == y).sum())
    model.train(was)
    c, l, total = d.sum([correct, loss, float(hi - lo)])
    return (c / total, l / total) if total else (None, None)


def _fingerprint(o, layers, norms=0):
    parts = [str(o["model"]), str(o["pattern_obj"]), o["method"], str(o["batch"]), str(o["epochs"]),
             "+".join(l.name for l in layers)]
    return "|".join(parts + ([f"run-norm {norms}"] if norms else []))


def _param_groups(model, weight_decay):
    decay, rest = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.dim() > 1 else rest).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def _reestimate_bn(o, model, sp, data, batch, d, emit, running):
    """BatchNorm statistics (the run normalisations' too) measured again on the final sparse model; with validation
    data, the better of them and training's running averages is kept (fineTune.ts). Returns the final accuracy."""
    if not o["bn_recalibrate"] or not run_norm.batch_norms(model):
        return running[0]
    emit({"type": "phase", "phase": "BN re-estimation",
          "detail": f"statistics of the fine-tuned model: "
                    f"{run_norm.batch_count(data.train, batch, o['bn_recalibrate'])} batches of "
                    f"{min(batch, len(data.train))} from {data.train.source}"})
    sp.set_dense_fraction(0.0)  # the model as it will be exported
    if data.val is not None and running[0] is None:  # no epoch evaluated training's statistics in this process
        running = evaluate(model, data.val, batch, d)
    saved = run_norm.reestimate(model, data.train, batch, o["bn_recalibrate"], o["seed"], d)
    if data.val is None:
        return running[0]
    measured = evaluate(model, data.val, batch, d)
    keep = run_norm.validates_at_least_as_well(measured, running)
    if not keep:
        run_norm.restore(saved)
    pct = lambda e: "n/a" if e[0] is None else f"{100 * e[0]:.2f} %"  # noqa: E731
    emit({"type": "log", "level": "info",
          "message": f"BN statistics: validation accuracy {pct(measured)} re-estimated on the fine-tuned model, "
                     f"{pct(running)} with training's running statistics; writing the "
                     f"{'re-estimated' if keep else 'running'} ones"})
    return (measured if keep else running)[0]


def _guard(params, lr):
    """The TS engine's step guard (src/core/training/stepGuard.ts): scale the gradients so that one step moves the
    weights by at most MAX_STEP of their global norm; 'non-finite' when a gradient is NaN/Inf."""
    grads = [p.grad.detach() for p in params if p.grad is not None]
    if not grads:
        return "ok"
    g2 = float(torch.stack([g.double().pow(2).sum() for g in grads]).sum())
    if not math.isfinite(g2):
        return "non-finite"
    w2 = float(torch.stack([p.detach().double().pow(2).sum() for p in params]).sum())
    limit = MAX_STEP * max(math.sqrt(w2), 1.0) / max(lr, sys.float_info.min)
    norm = math.sqrt(g2)
    if norm <= limit:
        return "ok"
    for g in grads:
        g.mul_(limit / norm)
    return "clipped"


def _mask_digest(sp: MaxQSparsifier) -> str:
    """sha256 over the hard and soft masks of the last training step, every layer in order."""
    import hashlib
    h = hashlib.sha256()
    for name, (hard, soft) in sp.current_masks().items():
        h.update(name.encode())
        for t in (hard, soft):
            if t is not None:
                h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _layer_stats(sp: MaxQSparsifier, p: float):
    coverage, importance, blocks, nm = {}, {}, 0, 0
    masks = sp.masks_at(p)
    for info in sp.selected:
        m = masks[info.name]
        coverage[info.name] = 1 - m.num_dense_blocks / m.num_blocks
        blocks += m.num_blocks
        nm += m.num_blocks - m.num_dense_blocks
        from .masks import canonical_view
        w = canonical_view(sp.dense_weight(info).detach().float(), info.transposed).abs()
        h = m.hard.bool()
        kept, pruned = w[h], w[~h]
        importance[info.name] = {"keptMeanAbs": float(kept.mean()) if kept.numel() else 0.0,
                                 "prunedMeanAbs": float(pruned.mean()) if pruned.numel() else 0.0,
                                 "softMean": float(m.soft[h].mean()) if kept.numel() else 0.0}
    return (nm / blocks if blocks else 1.0), coverage, importance


def _trace_export(model, example, path, opset):
    """torch.onnx.export of a model built in PyTorch (eval mode). PRESERVE: inference semantics, but BatchNorm stays
    a node (no Conv-BN fusion)."""
    import warnings
    with warnings.catch_warnings():
        # The constant-folding advice is about models in training mode; this one is in eval mode.
        warnings.filterwarnings("ignore", message=".*constant folding be turned off.*")
        torch.onnx.export(model, example, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True, **_export_kwargs())


def _check_export(path, pattern, expected):
    """Counts the Conv/Gemm/MatMul weights of the written file that hold the pattern; True when at least the
    `expected` sparsified layers do and the file passes the ONNX checker."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    onnx.checker.check_model(m)
    inits = {t.name: t for t in m.graph.initializer}
    holding = 0
    for node in m.graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul") or len(node.input) < 2 or node.input[1] not in inits:
            continue
        w = torch.from_numpy(numpy_helper.to_array(inits[node.input[1]]).copy())
        transposed = node.op_type == "MatMul" or (node.op_type == "Gemm" and not any(
            a.name == "transB" and a.i == 1 for a in node.attribute))
        if w.dim() not in (2, 4) or (w.dim() == 4 and w.shape[1] % pattern.m) or \
                (w.dim() == 2 and (w.shape[0] if transposed else w.shape[1]) % pattern.m):
            continue
        if bool((w == 0).any()) and nm_violations(w, pattern, transposed and w.dim() == 2) == 0:
            holding += 1
    return holding >= expected, holding


def run(o: dict) -> dict:
    started = time.time()
    d = Dist(o.get("device", "auto"), o.get("dist_timeout") or 1800.0)
    resume_path = None
    if o.get("resume"):
        resume_path = o["resume"] if o["resume"].endswith(".pt") else os.path.join(o["resume"], "checkpoint.pt")
        if not os.path.exists(resume_path):
            raise UsageError(f"{resume_path}: no checkpoint to resume from")
    ev = EventWriter(o.get("events"), d.rank, append=bool(resume_path))
    net = None
    events = []
    run_id = f"{os.path.basename(o['out'])}-{datetime.now(timezone.utc).isoformat()}"

    def emit(e):
        events.append(e)
        ev.emit(e)

    try:
        if not o.get("force") and not resume_path and os.path.exists(o["out"]):
            raise UsageError(f"{o['out']} already exists (pass --force to overwrite it)")
        out_dir = os.path.dirname(os.path.abspath(o["out"]))
        if not os.path.isdir(out_dir):
            raise UsageError(f"output folder {out_dir} does not exist")
        torch.manual_seed(o["seed"])
        random.seed(o["seed"])
        model, chw = load_model(o["model"])
        if o.get("images"):
            size = o.get("image_size") or (chw[1] if chw else 224)
            data = open_images(o["images"], o.get("val_images"), o.get("normalize"), size, o["val_fraction"], o["seed"])
        elif o.get("inputs"):
            data = open_npy(o["inputs"], o.get("labels"), o.get("val_inputs"), o.get("val_labels"), o.get("normalize"),
                            o["val_fraction"], o["seed"], chw)
        else:
            raise UsageError("fine-tuning needs data: give --inputs/--labels (npy) or --images (or data in the recipe)")
        batch = o["batch"]
        if batch % d.world:
            raise UsageError(f"--batch {batch} must be a multiple of the {d.world} processes")
        per_rank = batch // d.world
        steps_per_epoch = len(data.train) // batch
        if steps_per_epoch < 1:
            raise UsageError(f"{data.train.source} has {len(data.train)} training samples, fewer than one batch of "
                             f"{batch}; lower --batch")
        schedule = schedule_for(o["epochs"], o.get("schedule"), o.get("decay_start"), o.get("decay_end"))
        lrs = LrSchedule(o["lr_schedule"], o["lr"], o["epochs"], steps_per_epoch)
        model.to(d.device)
        dense_acc = None
        if data.val is not None:
            emit({"type": "phase", "phase": "dense evaluation", "detail": data.val_source})
            dense_acc, _ = evaluate(model, data.val, batch, d)
        example = data.train.batch([0])[0].to(d.device)
        # Output statistics of the BN-free layers on the dense model, before any mask: the run normalisation is
        # the identity there (run_norm.py).
        norm_candidates = run_norm.candidates(model) if o["run_norm"] else []
        dense_stats = {}
        if norm_candidates:
            batches = o["bn_recalibrate"] or BN_BATCHES
            emit({"type": "phase", "phase": "normalisation",
                  "detail": f"{len(norm_candidates)} layers without BatchNorm: measuring their dense output statistics "
                            f"({run_norm.batch_count(data.train, batch, batches)} batches of "
                            f"{min(batch, len(data.train))} from {data.train.source})"})
            stats = run_norm.measure_outputs(model, norm_candidates, data.train, batch, batches, o["seed"], d)
            dense_stats = {id(m): s for m, s in zip(norm_candidates, stats)}
        sp = MaxQSparsifier(model, o["pattern_obj"], o["method"], o["include"], o["exclude"], example_input=example)
        if not sp.selected:
            raise UsageError(f"no layer of {o['model']} is selected for {o['pattern_obj']} "
                             f"({'; '.join(f'{l.name}: {l.reason}' for l in sp.layers) or 'no Conv2d/Linear layers'})")
        sites, norm_skipped = run_norm.plan_sites(model, sp.selected)
        no_bn = [l.name for l in sp.selected if getattr(l.module, "maxq_bn_after", None) is False]
        if not o["run_norm"]:
            sites, norm_skipped = [], [(name, "--no-run-norm") for name in no_bn]
        inserted = run_norm.insert_run_norms(model, sites, dense_stats)
        norm_summary = None
        if no_bn:
            followed = sum(1 for l in sp.selected if getattr(l.module, "maxq_bn_after", None) is True)
            # The TypeScript engine's RunSummary.normalisation, so the dashboard shows it for either engine.
            norm_summary = {"normalised": [m.maxq_name for _, m in sites], "followedByBn": followed,
                            "skipped": [{"layer": n, "reason": r} for n, r in norm_skipped],
                            "message": run_norm.describe(inserted, followed, norm_skipped)}
            emit({"type": "log", "level": "warn" if norm_skipped else "info", "message": norm_summary["message"]})
        for l in sp.layers:
            if not l.selected:
                emit({"type": "log", "level": "info", "message": f"{l.name}: dense ({l.reason})"})
        emit({"type": "start", "runId": run_id, "model": o["model"], "pattern": str(o["pattern_obj"]),
              "method": o["method"], "epochs": o["epochs"], "stepsPerEpoch": steps_per_epoch,
              "layers": [l.name for l in sp.selected]})
        groups = _param_groups(model, o["weight_decay"])
        params = [p for g in groups for p in g["params"]]
        if o["optimizer"] == "adamw":
            opt = torch.optim.AdamW(groups, lr=o["lr"])
        else:
            opt = torch.optim.SGD(groups, lr=o["lr"], momentum=o["momentum"], nesterov=bool(o["nesterov"]))
        amp = d.device.type == "cuda" and o.get("amp") is not False
        if o.get("amp") and d.device.type != "cuda":
            emit({"type": "log", "level": "warn", "message": "--amp needs CUDA: training in fp32"})
        scaler = _grad_scaler() if amp else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=[d.local_rank] if d.device.type == "cuda" else None) \
            if d.world > 1 else model
        fp = _fingerprint(o, sp.selected, inserted)
        start_epoch = global_step = 0
        os.makedirs(o["run_dir"], exist_ok=True) if d.rank == 0 else None
        ckpt_path = os.path.join(o["run_dir"], "checkpoint.pt")
        if resume_path:
            cp = load_checkpoint(resume_path, d.device)
            if cp.get("fingerprint") != fp:
                raise UsageError(f"{resume_path} is from another run ({cp.get('fingerprint')}); this run is {fp}")
            model.load_state_dict(cp["model"])
            opt.load_state_dict(cp["optimizer"])
            if scaler is not None and cp.get("scaler"):
                scaler.load_state_dict(cp["scaler"])
            start_epoch, global_step = cp["epoch"], cp["global_step"]
            rngs = cp["rng"]
            _set_rng_state(rngs[d.rank] if d.rank < len(rngs) else rngs[0])
            emit({"type": "log", "level": "info", "message": f"resumed from {resume_path} after epoch {start_epoch}"})
        emit({"type": "phase", "phase": "fine-tune",
              "detail": f"{o['epochs']} epoch{'s' if o['epochs'] != 1 else ''}, dense-fraction schedule {schedule.kind} "
                        f"{schedule.decay_start}\u2192{schedule.decay_end}, per {o['schedule_granularity']}, "
                        f"{d.world} process{'es' if d.world > 1 else ''} on {d.device.type}"})
        final_acc = final_loss = None
        stop_after = o.get("stop_after")
        for epoch in range(start_epoch, o["epochs"]):
            if stop_after is not None and epoch >= stop_after:
                emit({"type": "log", "level": "info",
                      "message": f"stopped after epoch {epoch} of {o['epochs']}: continue with --resume {o['run_dir']}"})
                emit({"type": "cancelled"})
                return {"stopped": True, "epoch": epoch}
            plan = epoch_batches(len(data.train), batch, o["seed"], epoch)
            net.train()
            loss_sum = correct = seen = 0.0
            clipped = overflowed = 0
            p = 0.0
            for step, idx in enumerate(plan):
                t0 = time.time()
                p = schedule.at_step(global_step, steps_per_epoch, o["schedule_granularity"])
                sp.set_dense_fraction(p)
                lr = lrs.at(global_step)
                for g in opt.param_groups:
                    g["lr"] = lr
                x, y = data.train.batch(idx[d.rank * per_rank:(d.rank + 1) * per_rank])
                x, y = x.to(d.device, non_blocking=True), y.to(d.device, non_blocking=True)
                with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
                    out = net(x)
                    loss = F.cross_entropy(out.float(), y, label_smoothing=o["label_smoothing"])
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(opt)
                else:
                    loss.backward()
                sp.add_srste_decay()
                guard = _guard(params, lr)
                step_loss, step_correct = d.sum([float(loss.detach()), float((out.argmax(1) == y).sum())])
                step_loss /= d.world
                if guard == "non-finite" or not math.isfinite(step_loss):
                    if scaler is None or not math.isfinite(step_loss):
                        raise UsageError(f"training diverged at epoch {epoch + 1}, step {step + 1} (loss {step_loss}, "
                                         f"lr {lr:g}): check the data's preprocessing (--normalize) and lower --lr")
                    # fp16 gradients overflowed: the scaler skips this update and lowers its scale.
                    scaler.step(opt)
                    scaler.update()
                    overflowed += 1
                else:
                    if guard == "clipped":
                        clipped += 1
                    if scaler is not None:
                        scaler.step(opt)
                        scaler.update()
                    else:
                        opt.step()
                loss_sum += step_loss
                correct += step_correct
                seen += batch
                emit({"type": "step", "epoch": epoch, "step": step, "globalStep": global_step, "loss": step_loss,
                      "lr": lr, "stepMs": round((time.time() - t0) * 1000, 3), "denseFraction": p})
                global_step += 1
            if overflowed:
                emit({"type": "log", "level": "info", "message": f"epoch {epoch + 1}: {overflowed} of {len(plan)} "
                      "steps skipped by mixed precision (fp16 gradient overflow; the loss scale was lowered)"})
            if clipped:
                emit({"type": "log", "level": "warn", "message": f"epoch {epoch + 1}: {clipped} of {len(plan)} steps "
                      f"would have moved the weights by more than {MAX_STEP * 100:g} % of their norm and were scaled down"})
            # Every rank must have trained with the same masks (they follow from weights DDP keeps equal).
            digests = d.gather_objects(_mask_digest(sp))
            if any(x != digests[0] for x in digests):
                raise RuntimeError(f"epoch {epoch + 1}: the ranks computed different masks ({digests}); "
                                   "their weights have diverged")
            coverage, layer_cov, importance = _layer_stats(sp, p)
            val_acc = val_loss = None
            if data.val is not None:
                sp.set_dense_fraction(0.0)  # evaluate the model as it will be exported
                val_acc, val_loss = evaluate(model, data.val, batch, d)
                final_acc, final_loss = val_acc, val_loss
            emit({"type": "epoch", "epoch": epoch, "denseFraction": p, "trainLoss": loss_sum / max(1, len(plan)),
                  "trainAccuracy": correct / seen if seen else None, "valLoss": val_loss, "valAccuracy": val_acc,
                  "coverage": coverage, "layerCoverage": layer_cov, "importance": importance})
            rngs = d.gather_objects(_rng_state())
            if d.rank == 0:
                _save_atomic({"fingerprint": fp, "epoch": epoch + 1, "global_step": global_step,
                              "model": model.state_dict(), "optimizer": opt.state_dict(),
                              "scaler": scaler.state_dict() if scaler is not None else None, "rng": rngs,
                              "mask_digests": digests}, ckpt_path)
            d.barrier()

        final_acc = _reestimate_bn(o, model, sp, data, batch, d, emit, (final_acc, final_loss))
        emit({"type": "phase", "phase": "fold", "detail": f"W\u00b7S at p = 0 into {len(sp.selected)} layers"})
        folded = fold(model)
        run_norm.fold_run_norms(model)
        validation = False
        if d.rank == 0:
            emit({"type": "phase", "phase": "write", "detail": o["out"]})
            model.eval()
            tmp = os.path.join(out_dir, f".{os.path.basename(o['out'])}.tmp-{os.getpid()}.onnx")
            try:
                if hasattr(model, "write_onnx"):
                    # An imported .onnx: its own graph with the trained values (dynamic shapes, names and opset as
                    # the source has them; a traced export would freeze the shape arithmetic of transformers).
                    model.write_onnx(tmp, {"maxq.pattern": str(o["pattern_obj"]), "maxq.method": o["method"],
                                           "maxq.source": os.path.basename(o["model"]), "maxq.engine": "maxq_torch"})
                else:
                    _trace_export(model, example[:1], tmp, o["opset"])
                os.replace(tmp, o["out"])
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            validation, holding = _check_export(o["out"], o["pattern_obj"], len(folded))
            emit({"type": "log", "level": "info" if validation else "warn",
                  "message": f"{o['out']}: {holding} layers hold {o['pattern_obj']} ({len(folded)} sparsified)"})
        validation = bool(d.gather_objects(validation)[0])  # rank 0 checked the file; every rank reports it
        summary = {"output": o["out"], "pattern": str(o["pattern_obj"]), "method": o["method"], "epochs": o["epochs"],
                   "sparsifiedLayers": len(sp.selected), "denseAccuracy": dense_acc, "finalAccuracy": final_acc,
                   "metric": "accuracy", "validationPass": bool(validation), "seconds": time.time() - started}
        if norm_summary is not None:
            summary["normalisation"] = norm_summary
        record = o["out"] + ".run.json"
        done = {"type": "done", "output": o["out"], "record": record, "summary": summary}
        events.append(done)
        if d.rank == 0:
            opts_json = {k: v for k, v in o.items() if k != "pattern_obj" and isinstance(v, (str, int, float, bool, list, type(None)))}
            _write_json_atomic({"version": 1, "runId": run_id, "createdAt": datetime.now(timezone.utc).isoformat(),
                                "model": o["model"], "output": o["out"], "options": {**opts_json, "engine": "maxq_torch",
                                                                                      "processes": d.world},
                                "events": events, "summary": summary}, record)
        ev.emit(done)
        d.barrier()
        return summary
    except UsageError as e:
        emit({"type": "error", "message": str(e)})
        raise
    except Exception as e:
        emit({"type": "error", "message": f"{type(e).__name__}: {e}"})
        raise
    finally:
        ev.close()
        # Drop the DDP wrapper (its reducer holds the process group) before the group is destroyed: a reducer
        # destroyed after destroy_process_group can block forever on a futex when the function returns.
        net = None
        import gc
        gc.collect()
        d.close()


def main(argv=None) -> int:
    import faulthandler
    import signal
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID` prints every thread's stack
    try:
        opts = resolve_options(argv)
        result = run(opts)
    except UsageError as e:
        print(f"maxq_torch: {e}", file=sys.stderr)
        return 2
    if isinstance(result, dict) and result.get("stopped"):
        return 0
    return 0 if result.get("validationPass") else 1


if __name__ == "__main__":
    sys.exit(main())

"""`maxq-recipe.json`, version 1 (written by the TypeScript side): every setting of a run in one file. Unknown keys
are ignored; a missing required key or a wrong type is an error naming the key and the file. Relative paths are
relative to the recipe file."""
import json
import os
from typing import Any, Dict

from .errors import UsageError

REQUIRED = ("format", "version", "model", "pattern", "epochs")


def _get(obj: Dict, key: str, types, where: str, path: str, required=False):
    if key not in obj or obj[key] is None:
        if required:
            raise UsageError(f"{path}: recipe is missing the required key '{where}{key}'")
        return None
    v = obj[key]
    if types is not None and (not isinstance(v, types) or (isinstance(v, bool) and bool not in _as_tuple(types))):
        names = "/".join(t.__name__ for t in _as_tuple(types))
        raise UsageError(f"{path}: recipe key '{where}{key}' must be {names}, got {json.dumps(v)}")
    return v


def _as_tuple(t):
    return t if isinstance(t, tuple) else (t,)


def _resolve(base: str, p):
    if p is None:
        return None
    return p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p))


def _looks_like_path(model: str) -> bool:
    return model.lower().endswith(".onnx") or ".py:" in model or os.sep in model or "/" in model


def read_recipe(path: str) -> Dict[str, Any]:
    """The recipe as train options (the keys train.py uses), with paths resolved."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"{path}: recipe file not found")
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not valid JSON ({e})")
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: a recipe is a JSON object")
    for key in REQUIRED:
        _get(raw, key, None, "", path, required=True)
    if raw["format"] != "maxq-recipe":
        raise UsageError(f"{path}: 'format' must be \"maxq-recipe\", got {json.dumps(raw['format'])}")
    if raw["version"] != 1:
        raise UsageError(f"{path}: recipe version {json.dumps(raw['version'])} is not supported (this reader knows version 1)")
    base = os.path.dirname(os.path.abspath(path))
    o: Dict[str, Any] = {}
    model = _get(raw, "model", str, "", path, True)
    o["model"] = _resolve(base, model) if _looks_like_path(model) else model
    o["out"] = _resolve(base, _get(raw, "output", str, "", path))
    o["pattern"] = _get(raw, "pattern", str, "", path, True)
    o["method"] = _get(raw, "method", str, "", path)
    o["epochs"] = _get(raw, "epochs", int, "", path, True)
    o["batch"] = _get(raw, "batchSize", int, "", path)
    o["seed"] = _get(raw, "seed", int, "", path)
    o["lr_schedule"] = _get(raw, "lrSchedule", str, "", path)
    o["label_smoothing"] = _get(raw, "labelSmoothing", (int, float), "", path)
    opt = _get(raw, "optimizer", dict, "", path) or {}
    o["optimizer"] = _get(opt, "name", str, "optimizer.", path)
    o["lr"] = _get(opt, "lr", (int, float), "optimizer.", path)
    o["momentum"] = _get(opt, "momentum", (int, float), "optimizer.", path)
    o["nesterov"] = _get(opt, "nesterov", bool, "optimizer.", path)
    o["weight_decay"] = _get(opt, "weightDecay", (int, float), "optimizer.", path)
    sched = _get(raw, "schedule", dict, "", path) or {}
    o["schedule"] = _get(sched, "kind", str, "schedule.", path)
    o["decay_start"] = _get(sched, "decayStart", int, "schedule.", path)
    o["decay_end"] = _get(sched, "decayEnd", int, "schedule.", path)
    o["schedule_granularity"] = _get(sched, "granularity", str, "schedule.", path)
    policy = _get(raw, "policy", dict, "", path) or {}
    for key in ("include", "exclude"):
        v = _get(policy, key, list, "policy.", path)
        if v is not None and not all(isinstance(x, str) for x in v):
            raise UsageError(f"{path}: recipe key 'policy.{key}' must be a list of names")
        o[key] = v
    bn = _get(raw, "batchNorm", dict, "", path) or {}
    o["bn_recalibrate"] = _get(bn, "reestimateBatches", int, "batchNorm.", path)
    o["run_norm"] = _get(bn, "runNormalisation", bool, "batchNorm.", path)
    data = _get(raw, "data", dict, "", path)
    if data is not None:
        kind = _get(data, "kind", str, "data.", path, True)
        o["normalize"] = _get(data, "normalize", str, "data.", path)
        o["val_fraction"] = _get(data, "valFraction", (int, float), "data.", path)
        if kind == "npy":
            o["inputs"] = _resolve(base, _get(data, "inputs", str, "data.", path, True))
            o["labels"] = _resolve(base, _get(data, "labels", str, "data.", path))
            o["val_inputs"] = _resolve(base, _get(data, "valInputs", str, "data.", path))
            o["val_labels"] = _resolve(base, _get(data, "valLabels", str, "data.", path))
        elif kind == "images":
            o["images"] = _resolve(base, _get(data, "dir", str, "data.", path, True))
            o["val_images"] = _resolve(base, _get(data, "valDir", str, "data.", path))
        else:
            raise UsageError(f"{path}: recipe key 'data.kind' must be \"npy\" or \"images\", got {json.dumps(kind)}")
    return {k: v for k, v in o.items() if v is not None}

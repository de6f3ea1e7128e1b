"""The RunEvent / RunSummary shapes of src/core/types.ts, as a checker for the JSON-lines files maxq_torch writes."""
NUM = (int, float)


def _is(v, types, nullable=False):
    if v is None:
        return nullable
    if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        return False
    return isinstance(v, types)


FIELDS = {
    "start": {"runId": (str,), "model": (str,), "pattern": (str,), "method": (str,), "epochs": (int,),
              "stepsPerEpoch": (int,), "layers": (list,)},
    "phase": {"phase": (str,)},
    "step": {"epoch": (int,), "step": (int,), "globalStep": (int,), "loss": NUM, "lr": NUM, "stepMs": NUM,
             "denseFraction": NUM},
    "epoch": {"epoch": (int,), "denseFraction": NUM, "trainLoss": NUM, "trainAccuracy": NUM + (None,),
              "valLoss": NUM + (None,), "valAccuracy": NUM + (None,), "coverage": NUM, "layerCoverage": (dict,)},
    "log": {"level": (str,), "message": (str,)},
    "done": {"output": (str,), "record": (str,), "summary": (dict,)},
    "error": {"message": (str,)},
    "cancelled": {},
}
SUMMARY = {"output": (str,), "pattern": (str,), "method": (str,), "epochs": (int,), "sparsifiedLayers": (int,),
           "denseAccuracy": NUM + (None,), "finalAccuracy": NUM + (None,), "metric": (str,),
           "validationPass": (bool,), "seconds": NUM}


def _check_fields(obj, spec, where):
    for key, types in spec.items():
        assert key in obj, f"{where}: missing '{key}'"
        nullable = None in types
        real = tuple(t for t in types if t is not None)
        assert _is(obj[key], real, nullable), f"{where}: '{key}' = {obj[key]!r} is not {types}"


def check_event(e, where="event"):
    assert isinstance(e, dict), f"{where}: not an object"
    assert e.get("type") in FIELDS, f"{where}: unknown type {e.get('type')!r}"
    _check_fields(e, FIELDS[e["type"]], f"{where} ({e['type']})")
    if e["type"] == "start":
        assert e["method"] in ("maxq", "magnitude", "srste")
        assert all(isinstance(x, str) for x in e["layers"])
    if e["type"] == "log":
        assert e["level"] in ("info", "warn")
    if e["type"] == "epoch":
        assert 0 <= e["coverage"] <= 1
        assert all(isinstance(k, str) and 0 <= v <= 1 for k, v in e["layerCoverage"].items())
    if e["type"] == "done":
        _check_fields(e["summary"], SUMMARY, f"{where} (done.summary)")
        assert e["summary"]["metric"] in ("accuracy", "agreement")

"""The run's event stream: one `RunEvent` JSON object per line (src/core/types.ts), written by rank 0 only and
flushed after every line so the extension's dashboard can follow the file while the run goes on."""
import json
import math
import os
from typing import Optional

EVENT_TYPES = ("start", "phase", "step", "epoch", "log", "done", "error", "cancelled")


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


class EventWriter:
    """Writes events to `path` (a fresh file, or appended to when resuming); a no-op off rank 0 or without a path.
    `echo` also prints a short line per phase/log/epoch on stderr."""

    def __init__(self, path: Optional[str], rank: int = 0, append: bool = False, echo: bool = True):
        self.enabled = rank == 0
        self.echo = echo and self.enabled
        self.file = None
        if self.enabled and path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self.file = open(path, "a" if append else "w", encoding="utf-8")

    def emit(self, event: dict) -> None:
        if not self.enabled:
            return
        if event.get("type") not in EVENT_TYPES:
            raise ValueError(f"unknown run event type {event.get('type')!r}")
        if self.file is not None:
            self.file.write(json.dumps(_clean(event), allow_nan=False) + "\n")
            self.file.flush()
        if self.echo:
            import sys
            t = event["type"]
            if t == "phase":
                print(f"[maxq] {event['phase']}" + (f": {event['detail']}" if event.get("detail") else ""), file=sys.stderr)
            elif t == "log":
                print(f"[maxq] {event['level']}: {event['message']}", file=sys.stderr)
            elif t == "epoch":
                acc = event.get("valAccuracy")
                print(f"[maxq] epoch {event['epoch'] + 1}: train loss {event['trainLoss']:.4f}, p {event['denseFraction']:.3f}"
                      + (f", val accuracy {acc * 100:.2f} %" if acc is not None else ""), file=sys.stderr)
            elif t in ("error", "done"):
                print(f"[maxq] {t}: {event.get('message') or event.get('output')}", file=sys.stderr)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

"""Wall-clock fields kept out of metrics files.

A metrics file holds only what a re-run with the same config reproduces, so two clean runs write
byte-identical files; how long a job took goes to the job's log, its `benchmark:` file or a
separate timing file (DESIGN.md, "Metrics files hold metrics")."""

from __future__ import annotations

import re
from typing import Any

# seconds, train_seconds, eval_seconds, seconds_per_step, train_runtime, train_samples_per_second…
TIMING_KEY = re.compile(r"^(?:.*_)?(?:seconds|runtime)(?:_.*)?$|_per_second$")


def is_timing(key: str) -> bool:
    return bool(TIMING_KEY.search(key))


def split_timings(obj: Any, path: str = "") -> tuple[Any, dict[str, Any]]:
    """(obj without wall-clock fields, {dotted path: value} of the removed ones), recursively
    through dicts and lists."""
    timings: dict[str, Any] = {}
    if isinstance(obj, dict):
        clean = {}
        for k, v in obj.items():
            where = f"{path}.{k}" if path else str(k)
            if isinstance(k, str) and is_timing(k) and not isinstance(v, (dict, list)):
                timings[where] = v
                continue
            clean[k], sub = split_timings(v, where)
            timings.update(sub)
        return clean, timings
    if isinstance(obj, list):
        out = []
        for i, v in enumerate(obj):
            c, sub = split_timings(v, f"{path}[{i}]")
            out.append(c)
            timings.update(sub)
        return out, timings
    return obj, timings

"""Locating the per-item evaluation records the stage gains need."""

from __future__ import annotations

from pathlib import Path

from sahlab.eval.tables import FORMATS, own_format, split_model


def record_key(path: str | Path) -> tuple[str, str, str, str]:
    """results/eval/<model>/<task>/outputs.jsonl (the model's own format) or
    results/eval/<model>/<format>/<task>/outputs.jsonl -> (scale, stage, format, task)."""
    p = Path(path)
    task, parent = p.parent.name, p.parent.parent
    fmt = parent.name if parent.name in FORMATS else None
    model = parent.parent.name if fmt else parent.name
    scale, stage = split_model(model)
    return scale, stage, fmt or own_format(stage), task

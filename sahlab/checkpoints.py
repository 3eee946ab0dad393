"""Resumable HF Trainer checkpoints: resume only from a complete one, never wedge on a broken one.

Used by pre-training (`sahlab.models.pretrain`) and post-training (`sahlab.train.api`). A
checkpoint folder is complete when the file the Trainer writes last (trainer_state.json) is
there and names its step, and the weights and optimizer files are whole; anything else is what
a kill or a full disk left mid-save, and is removed so the next run starts from the one before.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

STAMP = "sahlab_run.json"  # the fingerprint of the configuration that wrote the checkpoints


def checkpoint_problem(ckpt: Path) -> str | None:
    """Why the Trainer checkpoint folder `ckpt` cannot be resumed, or None if it is complete."""
    import zipfile

    from sahlab.models.registry import ModelFolderError, _check_safetensors

    state = ckpt / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json (the save was interrupted)"
    try:
        step = json.loads(state.read_text())["global_step"]
    except (ValueError, KeyError, TypeError):
        return "trainer_state.json is truncated or not a trainer state"
    if f"checkpoint-{step}" != ckpt.name:
        return f"trainer_state.json is for step {step}"
    weights = sorted(ckpt.glob("*.safetensors")) + sorted(ckpt.glob("*/*.safetensors"))  # LoRA
    if not weights:
        return "no *.safetensors weights"
    try:
        for f in weights:
            _check_safetensors(f)
    except ModelFolderError as e:
        return str(e)
    for f in ("optimizer.pt", "scheduler.pt"):
        try:  # torch.save writes a zip archive: a cut-off file has no central directory
            zipfile.ZipFile(ckpt / f).close()
        except (OSError, zipfile.BadZipFile):
            return f"{f} is missing or truncated"
    return None


def last_complete_checkpoint(ckpt_dir: Path, who: str = "train") -> str | None:
    """The highest-numbered complete checkpoint-N in `ckpt_dir`; incomplete ones are removed,
    so an interrupted save never blocks (or is retried by) a later run."""
    found = [p for p in Path(ckpt_dir).glob("checkpoint-*") if p.is_dir() and p.name[11:].isdigit()]
    last = None
    for ckpt in sorted(found, key=lambda p: int(p.name[11:]), reverse=True):
        problem = checkpoint_problem(ckpt)
        if problem is None:
            last = last or str(ckpt)
            continue
        print(f"{who}: removing incomplete checkpoint {ckpt}: {problem}", file=sys.stderr)
        shutil.rmtree(ckpt, ignore_errors=True)
    return last


def resumable_checkpoint(ckpt_dir: Path, fingerprint: str, who: str = "train") -> str | None:
    """The checkpoint to resume from, or None. Checkpoints written under another configuration
    (model, data, hyper-parameters or seed changed) are removed: resuming would mix the two."""
    from sahlab.io import write_json

    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    stamp = ckpt_dir / STAMP
    try:
        old = json.loads(stamp.read_text()).get("fingerprint") if stamp.is_file() else None
    except (ValueError, AttributeError):
        old = None  # an unreadable stamp: treat the checkpoints as another configuration's
    last = last_complete_checkpoint(ckpt_dir, who)
    if last is not None and old != fingerprint:
        print(f"{who}: checkpoints in {ckpt_dir} come from another configuration; "
              "starting from scratch", file=sys.stderr)
        remove_checkpoints(ckpt_dir)
        last = None
    write_json(stamp, {"fingerprint": fingerprint})
    if last is not None:
        print(f"{who}: resuming from {last}", file=sys.stderr)
    return last


def remove_checkpoints(ckpt_dir: Path) -> None:
    for p in Path(ckpt_dir).glob("checkpoint-*"):
        shutil.rmtree(p, ignore_errors=True)

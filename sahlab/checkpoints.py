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
        print(
            f"{who}: checkpoints in {ckpt_dir} come from another configuration; starting from scratch",
            file=sys.stderr,
        )
        remove_checkpoints(ckpt_dir)
        last = None
    write_json(stamp, {"fingerprint": fingerprint})
    if last is not None:
        print(f"{who}: resuming from {last}", file=sys.stderr)
    return last


def remove_checkpoints(ckpt_dir: Path) -> None:
    for p in Path(ckpt_dir).glob("checkpoint-*"):
        shutil.rmtree(p, ignore_errors=True)


# --------------------------------------------------------------------------- preemption
# SLURM preempts (or, with `--signal=USR1@<s>`, warns before the time limit) by a signal to every
# process of the job. A training process then saves a complete checkpoint at the end of the
# current step and exits with REQUEUE_EXIT; the requeued job (sbatch --requeue) resumes from it.
REQUEUE_EXIT = 75  # EX_TEMPFAIL: "try again later"
_PREEMPT = {"signal": None}


def preemptible() -> bool:
    """Keep the trainer's scratch folder for a resume: under SLURM a job may be requeued."""
    return "SLURM_JOB_ID" in __import__("os").environ


def preemption_callback():
    """Inside a SLURM job: a TrainerCallback that, once SIGTERM or SIGUSR1 arrived (in any process of a
    multi-process run), saves a checkpoint after the current step and stops training."""
    import signal

    from transformers.trainer_callback import TrainerCallback

    _PREEMPT["signal"] = None
    if not preemptible():  # outside SLURM a signal ends the process at once, as before
        return TrainerCallback()

    def note(signum, frame):
        _PREEMPT["signal"] = signum

    for s in (signal.SIGTERM, signal.SIGUSR1):  # restored by exit_if_preempted
        _PREEMPT.setdefault("old", {}).setdefault(s, signal.signal(s, note))

    class Preemption(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if _any_rank(_PREEMPT["signal"] is not None):
                control.should_save = True
                control.should_training_stop = True
            return control

    return Preemption()


def _any_rank(flag: bool) -> bool:
    """`flag` or'ed over the processes, so every rank stops at the same step (the save is a
    collective under DDP/FSDP)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    import torch

    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor([int(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def exit_if_preempted(who: str, ckpt_dir) -> None:
    """After `trainer.train()`: if a signal stopped it, exit with REQUEUE_EXIT (a SIGUSR1 warning
    also asks SLURM to requeue the job, which then resumes from the checkpoint just saved)."""
    import os
    import signal
    import subprocess

    for s, handler in _PREEMPT.pop("old", {}).items():  # the caller's handlers again
        signal.signal(s, handler)
    signum = _PREEMPT["signal"]
    if signum is None:
        return

    print(
        f"{who}: stopped by signal {signal.Signals(signum).name}; checkpoint saved in "
        f"{ckpt_dir}; exiting with {REQUEUE_EXIT} for a requeue",
        file=sys.stderr,
        flush=True,
    )
    job = os.environ.get("SLURM_JOB_ID")
    if signum == signal.SIGUSR1 and job and os.environ.get("RANK", "0") == "0" and shutil.which("scontrol"):
        subprocess.run(["scontrol", "requeue", job], check=False)
    sys.exit(REQUEUE_EXIT)

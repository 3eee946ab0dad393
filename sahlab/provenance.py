"""What produced a results folder: config, sahlab version, git commit and package versions."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

import sahlab

PACKAGES = (
    "torch",
    "transformers",
    "trl",
    "peft",
    "datasets",
    "accelerate",
    "tokenizers",
    "snakemake",
    "zstandard",
    "sacrebleu",
    "numpy",
    "pandas",
    "scipy",
    "seaborn",
)


def _git(*args: str) -> str | None:
    root = Path(sahlab.__file__).resolve().parents[1]
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None  # not a git checkout (e.g. an installed copy)


def provenance(config: dict) -> dict:
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "sahlab_version": sahlab.__version__,
        "git": {"commit": _git("rev-parse", "HEAD"), "dirty": None if status is None else bool(status)},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "config": config,
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None

"""Job logging: send everything a job prints (Python, tqdm, C libraries) to its log file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path


def log_to(path: str | os.PathLike | None) -> logging.Logger:
    """Redirect stdout and stderr at the file-descriptor level to `path` (line-buffered) and
    return the 'sahlab' logger with readable timestamped lines. No path: log to stderr."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a", buffering=1)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        sys.stdout = sys.stderr = f
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    return logging.getLogger("sahlab")


def set_threads(n: int) -> None:
    """Use exactly the threads Snakemake gave this job (torch would otherwise take every core)."""
    import torch

    torch.set_num_threads(max(1, int(n)))

"""Job logging: send everything a job prints (Python, tqdm, C libraries) to its log file."""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
from pathlib import Path

_GC_SET = False


def log_to(path: str | os.PathLike | None) -> logging.Logger:
    """Redirect stdout and stderr at the file-descriptor level to `path` (line-buffered) and
    return the 'sahlab' logger with readable timestamped lines. No path: log to stderr.
    Every job script calls this first, so it also sets the job's garbage collector (`_cheap_gc`)."""
    _cheap_gc()
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


def _cheap_gc() -> None:
    """Less garbage-collector work in a job process, which otherwise spends ~2 of the ~5
    CPU-seconds of importing torch, transformers and trl (and building a tiny model) in gc
    (measured on 2 cores: 5.1 s user as is, 4.1 s with the second point, 2.9 s with both):
    * full collections (generation 2) after 100 generation-1 collections instead of 10: each
      one walks every object the imports made so far; young garbage is still collected as
      before (the thresholds of generations 0 and 1 are kept);
    * at exit, every live object moves to gc's permanent generation (`gc.freeze`), so the
      interpreter's final collections skip the million objects of those libraries.
    Neither touches what a job computes or writes: atexit handlers, thread joins, stream
    flushes and the exit status are as before, and the process's memory goes back to the OS."""
    global _GC_SET
    if not _GC_SET:
        gen0, gen1, _ = gc.get_threshold()
        gc.set_threshold(gen0, gen1, 100)
        atexit.register(gc.freeze)  # atexit runs after threads are joined, before finalisation
        _GC_SET = True


def set_threads(n: int) -> None:
    """Use exactly the threads Snakemake gave this job (torch would otherwise take every core)."""
    import torch

    torch.set_num_threads(max(1, int(n)))

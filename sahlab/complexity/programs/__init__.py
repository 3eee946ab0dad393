"""Study B's receiver programs, one minimal self-contained script per strategy.

Each script is the code half of a program (the other half is its payload): run as
``python <strategy>.py MODEL_DIR PAYLOAD QUERIES`` it loads the conditioning model, turns the
payload into its policy and prints one JSON answer per query (QUERIES: JSON lines
``{"prompt", "stop", "max_new_tokens"}``, the task's inputs, given to every program for free;
for icl and urial also ``"context"``, the format's own start — BOS or the chat template's default system
turn — before which nothing and after which the demonstrations go).
As in the paper's own accounting, a program's code bits are the script's raw size × 8
(`code_bits`); torch, transformers, numpy, zstandard and the model are the free "language".
The pipeline runs the very functions these files define (`sahlab.complexity.strategies`), and a
test runs the files themselves on real payloads, so the counted code is the code that works.
"""

from __future__ import annotations

from pathlib import Path

PROGRAMS = ("baseline", "icl", "urial", "lora", "blora", "full", "online")
_DIR = Path(__file__).resolve().parent


def program_path(strategy: str) -> Path:
    if strategy not in PROGRAMS:
        raise ValueError(f"unknown strategy {strategy!r}; allowed: {list(PROGRAMS)}")
    return _DIR / f"{strategy}.py"


def code_bits(strategy: str) -> int:
    """8 × the raw size in bytes of the strategy's receiver script."""
    return 8 * program_path(strategy).stat().st_size

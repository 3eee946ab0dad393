"""Atomic file output and the common task-example schema (id, prompt, reference, metadata)."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

SCHEMA_FIELDS = ("id", "prompt", "reference", "metadata")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it onto `path` only if the block succeeds.

    A killed or failing job therefore never leaves a file (or folder) that looks finished.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp if is_dir else tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def work_dir(next_to: str | os.PathLike, tag: str, keep: bool = False) -> Iterator[Path]:
    """A scratch folder `.<name>.<tag>` beside the job's output `next_to`, removed afterwards.

    Unlike a tempfile folder in /tmp it lives in the job's own output area, and what a killed
    run left there (model copies, at real sizes) is removed when the next run starts. With
    `keep` a failed run's folder is left for the next one (resumable checkpoints).
    """
    path = Path(next_to)
    work = path.parent / f".{path.name}.{tag}"
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    except BaseException:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)


def write_json(path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def read_json(path) -> Any:
    return json.loads(Path(path).read_text())


def write_jsonl(path, rows: Iterable[dict]) -> int:
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, default=_jsonable) + "\n")
            n += 1
    return n


def read_jsonl(path, *, nonempty: bool = False) -> list[dict]:
    """The dataset reader: one JSON object per line (blank lines skipped). Errors name the file
    and the 1-based line; `nonempty`: a file without rows is an error too."""
    return [row for _, row in _numbered_rows(path, nonempty)]


def _numbered_rows(path, nonempty: bool = False) -> list[tuple[int, dict]]:
    rows = []
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror})") from None
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            rows.append((lineno, row))
    if nonempty and not rows:
        raise ValueError(f"{path}: the file holds no rows")
    return rows


def read_examples(path) -> list[dict]:
    """Read a task split in the common schema and check every row: the four fields, a string
    prompt and reference (a null reference would be scored against the text "None"), an
    object metadata. Errors name the file, line and row id."""
    rows = []
    for lineno, row in _numbered_rows(path, nonempty=True):
        where = f"{path}:{lineno} (id={row.get('id')!r})"
        missing = [k for k in SCHEMA_FIELDS if k not in row]
        if missing:
            raise ValueError(f"{where} lacks field(s) {missing}; every example needs {list(SCHEMA_FIELDS)}")
        for key in ("prompt", "reference"):
            if not isinstance(row[key], str):
                got = "null" if row[key] is None else type(row[key]).__name__
                raise ValueError(f"{where}: '{key}' must be a string, got {got}")
        if not isinstance(row["metadata"], dict):
            raise ValueError(f"{where}: 'metadata' must be an object")
        rows.append(row)
    return rows


def first_examples(path, n: int, key: str) -> list[dict]:
    """The first `n` examples of a split; a split with fewer rows is an error naming the config
    `key` (hub splits without a `limit` are sized only here, after the download)."""
    rows = read_examples(path)
    if len(rows) < n:
        raise ValueError(
            f"config key '{key}': {n} is larger than {path} ({len(rows)} rows); use at most {len(rows)}"
        )
    return rows[:n]


def _jsonable(o):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")

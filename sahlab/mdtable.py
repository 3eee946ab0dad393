"""Markdown pipe tables for every results table, by pandas' `DataFrame.to_markdown` (tabulate)."""

from __future__ import annotations

from typing import Sequence


def pipe_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub pipe table of `rows` (one cell per column, formatted by the caller), newline-ended.

    Cells are written as given (``disable_numparse``: "0.950" keeps its zero); columns are padded
    to a common width, which renders the same.
    """
    import pandas as pd
    import tabulate  # noqa: F401  to_markdown's optional dependency, named so envs pin it

    columns = [str(c) for c in columns]
    bad = [i for i, r in enumerate(rows) if len(r) != len(columns)]
    if bad:
        raise ValueError(f"pipe_table: row(s) {bad} do not have {len(columns)} cells ({columns})")
    df = pd.DataFrame([[str(c) for c in r] for r in rows], columns=columns)
    return df.to_markdown(index=False, tablefmt="github", disable_numparse=True) + "\n"

"""Every table of a run as a small HTML page for the `snakemake --report` HTML report.

The CSV is the table (all columns, full precision); the markdown version's prose (the caption a
study writes above its table, if any) heads the page."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

from sahlab.io import atomic_path


def caption_of(md_path: Path) -> str:
    """The prose lines of a markdown table file (everything but the table rows)."""
    if not md_path.exists():
        return ""
    lines = [ln for ln in md_path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("|")]
    return "\n".join(lines)


def render(stem: str, tables: Sequence[str | Path]) -> str:
    """One page: the table's caption and the CSV (or, with no CSV, the markdown as text)."""
    import pandas as pd

    paths = {Path(t).suffix: Path(t) for t in tables}
    csv, md = paths.get(".csv"), paths.get(".md")
    parts = [f"<h3>{html.escape(stem)}</h3>"]
    cap = caption_of(md) if md else ""
    if cap:
        parts.append("<p>" + html.escape(cap).replace("\n", "<br>") + "</p>")
    if csv is not None:
        df = pd.read_csv(csv)
        parts.append(f"<p>source: <code>{html.escape(str(csv))}</code>, {len(df)} rows</p>")
        parts.append(
            df.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0, classes="table")
        )
    else:
        parts.append(f"<p>source: <code>{html.escape(str(md))}</code></p>")
        parts.append("<pre>" + html.escape(md.read_text()) + "</pre>")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def render_all(tables: Sequence[str], outputs: Sequence[str]) -> None:
    """outputs: <dir>/<stem>.html, one per table stem among `tables` (csv and/or md files)."""
    by_stem: dict[str, list[str]] = {}
    for t in tables:
        by_stem.setdefault(Path(t).stem, []).append(t)
    for out in outputs:
        stem = Path(out).stem
        if stem not in by_stem:
            raise ValueError(f"report_tables: no table named {stem!r} among the inputs")
        with atomic_path(out) as tmp:
            Path(tmp).write_text(render(stem, by_stem[stem]))

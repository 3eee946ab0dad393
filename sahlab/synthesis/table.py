"""The synthesis table: one row per (scale, task) with every study's measure and its CI."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sahlab.mdtable import pipe_table
from sahlab.synthesis import sources

# column stem -> header in the markdown table (the csv keeps the stems, with _ci_low/_ci_high)
COLUMNS = {
    "base_native": "pre-train gain (native)",
    "base_chat": "pre-train gain (chat)",
    "post_chat": "post-train gain (chat)",
    "post_own": "post-train gain (own formats)",
    "A_alpha": "A: exponent α (perf ∝ N^α)",
    "A_format_N": "A: N format errors vanish",
    "A_gain_after_format": "A: gain after format errors vanish",
    "B_reduction": "B: reduction ×",
    "B_ceiling_bits": "B: information ceiling L(D_post|base) (bits)",
    "B_saved_over_ceiling": "B: bits saved / ceiling",
    "C_ft": "C: Δft",
    "C_pt": "C: Δpt",
    "C_pt_minus_ft": "C: Δpt − Δft",
}


def read_optional(paths) -> pd.DataFrame | None:
    """The concatenation of the CSV files in `paths`, or None if there are none."""
    frames = [pd.read_csv(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else None


def build(tables: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """tables: name -> DataFrame (None when the study is not part of this run) for the names
    stage_gains, scaling_fits, complexity_headline, complexity_dose, eft_gains,
    inductive_correlations. Rows for tasks a study does not cover stay blank."""
    per_scale = [sources.stage_gains(tables["stage_gains"])]
    if tables.get("scaling_fits") is not None:
        per_scale.append(sources.scaling_exponents(tables["scaling_fits"]))
    if tables.get("complexity_headline") is not None:
        per_scale.append(sources.complexity_reduction(tables["complexity_headline"]))
        per_scale.append(sources.complexity_ceiling(tables.get("complexity_dose")))
    if tables.get("inductive_correlations") is not None:
        per_scale.append(sources.inductive_rho(tables["inductive_correlations"]))
    df = per_scale[0]
    for other in per_scale[1:]:
        if len(other.columns) > 2:
            df = df.merge(other, on=["scale", "task"], how="outer")
    scales = list(dict.fromkeys(tables["stage_gains"].scale))
    if tables.get("eft_gains") is not None:
        eft = sources.eft_gains(tables["eft_gains"])
        # a task only study C scores (its knowledge items) gets a row per scale, as its other tasks
        have = set(df.task)
        extra = [{"scale": s, "task": t} for t in eft.task if t not in have for s in scales]
        if extra:
            df = pd.concat([df, pd.DataFrame(extra)], ignore_index=True)
        df = df.merge(eft, on="task", how="left")
    df["_s"] = df.scale.map(lambda s: scales.index(s) if s in scales else len(scales))
    return df.sort_values(["_s", "task"]).drop(columns="_s").reset_index(drop=True)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and math.isinf(v):
        return "∞" if v > 0 else "−∞"
    v = float(v)
    return f"{v:.3g}" if abs(v) >= 1000 or (v != 0 and abs(v) < 0.01) else f"{v:.3f}".rstrip("0").rstrip(".")


def cell(row: pd.Series, stem: str) -> str:
    v = row.get(stem)
    lo, hi = row.get(f"{stem}_ci_low"), row.get(f"{stem}_ci_high")
    if _fmt(v) == "":
        return ""
    ci = f" [{_fmt(lo)}, {_fmt(hi)}]" if _fmt(lo) != "" and _fmt(hi) != "" else ""
    return _fmt(v) + ci


def markdown(df: pd.DataFrame) -> str:
    """The synthesis table in markdown: 'estimate [CI]' per measure; blank = not measured."""
    d_stems = sorted(
        {c[: -len("_ci_low")] for c in df.columns if c.startswith("D_rho_") and c.endswith("_ci_low")}
    )
    stems = [c for c in COLUMNS if c in df.columns] + d_stems
    heads = [COLUMNS.get(s, f"D: ρ ({s[len('D_rho_') :]})") for s in stems]
    rows = [[r.scale, r.task, *(cell(r, s) for s in stems)] for _, r in df.iterrows()]
    return pipe_table(["scale", "task", *heads], rows)


CAPTION = (
    "One row per (scale, task): what each study measured, with its 95 % CI. Stage gains: the "
    "task's main metric, later stage − earlier stage on the same test items (paired bootstrap), "
    "in the prompt format named (own formats: post-trained in chat vs pre-trained in the "
    "corpus's native layout). A: exponent b of error(N) = a·N^(−b) + c fitted to the pre-trained "
    "model's fine-tuning curve (b > 0: performance keeps growing with N). B: bits(pre-trained) / "
    "bits(post-trained) to reach δ = the pre-trained model's best performance. C: the EFT 2×2 "
    "grid's gain from scaling fine-tuning (Δft) and pre-training (Δpt) on the task (a per-task "
    "quantity, repeated on each scale's row). D: Spearman ρ over feature pairs between relative "
    "extractability and use of the spurious feature (error on spurious-only items), per "
    "fine-tuning method. Blank: the study does not cover this task or scale in this run."
)


def write(df: pd.DataFrame, csv_path, md_path) -> None:
    from sahlab.io import atomic_path

    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(md_path) as tmp:
        Path(tmp).write_text(CAPTION + "\n\n" + markdown(df))

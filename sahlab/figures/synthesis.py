"""The synthesis figure: per task, each study's evidence set against the SAH's two readings.

Rows: tasks; columns: lines of evidence (stage gains, study A's exponent, study B's reduction
factor, study C's Δpt − Δft, study D's ρ). Each dot is one scale's estimate with its 95 % CI,
coloured by the reading its CI supports — "post-training selects format" (the knowledge was
there after pre-training) or "post-training adds ability" — and grey when the CI allows both.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sahlab.figures.theme import STAGE_COLORS, apply_theme, save

READINGS = {
    "format": ("post-training selects format", STAGE_COLORS["base"]),
    "ability": ("post-training adds ability", STAGE_COLORS["post"]),
    "both": ("CI allows both", "#999999"),
}

# panel: (title, [(column, marker label)], transform, null, reading when CI wholly above the null,
#         reading when wholly below)
PANELS = [
    (
        "stage gains: pre = base − random (native),\npost = post (chat) − base (native)",
        [("base_native", "pre"), ("post_own", "post")],
        None,
        0.0,
        None,
        None,
    ),
    ("A: scaling exponent α\n(performance ∝ N^α)", [("A_alpha", "")], None, 0.0, "ability", "format"),
    (
        "B: complexity reduction\nlog10 bits(pre)/bits(post)",
        [("B_reduction", "")],
        "log10",
        0.0,
        "format",
        "ability",
    ),
    ("C: EFT Δpt − Δft", [("C_pt_minus_ft", "")], None, 0.0, "format", "ability"),
    ("D: ρ(extractability,\nspurious use)", [], None, 0.0, "ability", "format"),
]


def _tf(v, how):
    v = float(v)
    if how == "log10":
        return -math.inf if v <= 0 else math.log10(v)
    return v


def reading(lo: float, hi: float, null: float, above: str | None, below: str | None) -> str:
    if above is None:
        return "both"
    if lo > null:
        return above
    if hi <= null:  # wholly below, or pinned at the null (as the verdicts read it)
        return below
    return "both"


def _stage_reading(col: str, lo: float, hi: float) -> str:
    # pre-training gain > 0 supports "knowledge from pre-training"; post-training gain (each stage
    # in its own format) > 0 means post-training adds more than a format switch.
    if col == "base_native":
        return "format" if lo > 0 else "both"
    return "ability" if lo > 0 else "format" if hi < 0 else "both"


def plot(df: pd.DataFrame, paths, *, tasks=None, context: str = "paper") -> None:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    apply_theme(context)
    tasks = tasks or list(dict.fromkeys(df.task))
    if not tasks:
        raise ValueError("synthesis figure: the synthesis table has no rows (no stage was evaluated)")
    scales = list(dict.fromkeys(df.scale))
    d_cols = sorted(c for c in df.columns if c.startswith("D_rho_") and c.count("_") == 2)
    panels = [
        (t, d_cols if t.startswith("D:") else [c for c, _ in cols], tf, null, a, b)
        for t, cols, tf, null, a, b in PANELS
    ]
    stage_labels = dict(PANELS[0][1])
    fig, axes = plt.subplots(
        len(tasks), len(panels), figsize=(2.3 * len(panels), 1.0 + 1.05 * len(tasks)), squeeze=False
    )
    for i, task in enumerate(tasks):
        sub = df[df.task == task]
        for j, (title, cols, tf, null, above, below) in enumerate(panels):
            ax = axes[i, j]
            ylabels, y = [], 0
            for col in cols:
                for scale in scales:
                    r = sub[sub.scale == scale]
                    if col not in r or r[col].isna().all():
                        continue
                    r = r.iloc[0]
                    est, lo, hi = (_tf(r[c], tf) for c in (col, f"{col}_ci_low", f"{col}_ci_high"))
                    if j == 0:
                        kind = _stage_reading(col, lo, hi)
                    else:
                        kind = reading(lo, hi, null, above, below)
                    color = READINGS[kind][1]
                    # an infinite end (study B: the post-trained model never reaches δ, reduction
                    # 0 -> log −∞) is drawn at the panel's edge with an arrow-head marker
                    lo_, hi_, est_ = (
                        v if math.isfinite(v) else null - 1.0 if v < 0 else null + 1.0 for v in (lo, hi, est)
                    )
                    ax.plot([lo_, hi_], [y, y], color=color, lw=2, solid_capstyle="butt")
                    marker = (
                        ("<" if est < 0 else ">")
                        if not math.isfinite(est)
                        else ("D" if col == "post_own" else "o")
                    )
                    ax.plot(est_, y, marker, color=color, ms=5, zorder=3)
                    label = (
                        f"{scale} {stage_labels[col]}"
                        if col in stage_labels
                        else f"{scale} {col[len('D_rho_') :]}"
                        if col.startswith("D_rho_")
                        else scale
                    )
                    ylabels.append(label)
                    y += 1
            if y == 0:
                ax.text(
                    0.5,
                    0.5,
                    "not measured",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    color="#999999",
                    fontsize=8,
                )
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                for s in ax.spines.values():
                    s.set_visible(False)
            else:
                ax.axvline(null, color="black", lw=0.8, ls="--", zorder=1)
                ax.set_yticks(np.arange(y), ylabels, fontsize=7)
                ax.set_ylim(-0.7, y - 0.3)
                ax.invert_yaxis()
                ax.tick_params(axis="x", labelsize=7)
            if i == 0:
                ax.set_title(title, fontsize=8)
            if j == 0:
                ax.text(
                    -0.62,
                    0.5,
                    task,
                    transform=ax.transAxes,
                    rotation=90,
                    ha="center",
                    va="center",
                    fontsize=9,
                    fontweight="bold",
                )
    handles = [Line2D([], [], color=c, marker="o", lw=2, label=name) for name, c in READINGS.values()]
    fig.legend(
        handles=handles, loc="lower center", ncol=3, frameon=False, fontsize=8, bbox_to_anchor=(0.5, -0.01)
    )
    fig.tight_layout(rect=(0.03, 0.04, 1, 1))
    save(fig, paths)

"""Study B beyond the paper: the bits a post-trained model saves against the information in its
post-training data, L(D_post | base), the ceiling of that saving (the diagonal)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sahlab.figures.complexity import SCALE_MARKERS, _order

SCALE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")


def _num(v) -> float:
    return math.nan if v in (None, "") else float(v)


def plot_dose(rows: Sequence[dict]):
    """One panel per task: x = L(D_post | base) of the arm's post-training mixture (log), y = bits
    saved at δ = the pre-trained best, C_pre − C_post (symlog: it can be negative), one line per
    scale through its arms (labelled with the examples per task), 95 % CIs as error bars, the
    ceiling y = x dashed. An arm whose programs do not reach δ is drawn hollow at the bottom;
    CIs beyond the axes are clipped."""
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("plot_dose: no rows (the dose table is empty)")
    tasks = _order([r["task"] for r in rows], ("math", "translation", "instructions", "multihop"))
    scales = _order([r["scale"] for r in rows], ("small", "large"))
    fig, axes = plt.subplots(
        1, len(tasks), figsize=(3.2 * len(tasks), 3.0), squeeze=False, sharex=True, sharey=True
    )
    kb = 8000.0  # bits per KB: axes in KB
    xs = [_num(r["ceiling_bits"]) / kb for r in rows]
    saved = [_num(r["saved_bits"]) / kb for r in rows]
    top = max([v for v in saved if math.isfinite(v)] + xs) * 3  # wider CIs are clipped
    # below the most negative saving: where an arm whose programs miss δ is drawn
    floor = min([v for v in saved if math.isfinite(v)] + [-1.0]) * 3
    for ax, task in zip(axes[0], tasks):
        lo_x, hi_x = min(xs) / 2, max(xs) * 2
        ax.plot(
            [lo_x, hi_x], [lo_x, hi_x], ls="--", color="0.4", lw=1, label="ceiling: saved = L(D_post | base)"
        )
        ax.axhline(0, color="0.75", lw=0.8)
        for s_i, scale in enumerate(scales):
            arm = sorted(
                (r for r in rows if r["task"] == task and r["scale"] == scale),
                key=lambda r: int(r["n_per_task"]),
            )
            if not arm:
                continue
            color, marker = SCALE_COLORS[s_i % 5], SCALE_MARKERS[s_i % 5]
            x = [_num(r["ceiling_bits"]) / kb for r in arm]
            y = [_num(r["saved_bits"]) / kb for r in arm]
            low = floor * (1 + 0.6 * s_i)  # scales side by side, not on top of each other
            shown = [v if math.isfinite(v) else (low if v < 0 else math.nan) for v in y]
            ax.plot(x, shown, color=color, lw=1, alpha=0.7)
            for r, xi, yi, si in zip(arm, x, y, shown):
                lo, hi = _num(r["saved_bits_ci_low"]) / kb, _num(r["saved_bits_ci_high"]) / kb
                reached = math.isfinite(yi)
                if reached and not math.isnan(lo):
                    lo_c, hi_c = max(lo, floor), min(hi, top)
                    ax.errorbar(
                        [xi],
                        [yi],
                        yerr=[[max(yi - lo_c, 0)], [max(hi_c - yi, 0)]],
                        color=color,
                        lw=0.8,
                        capsize=2,
                    )
                if not math.isnan(si):
                    ax.plot(
                        [xi],
                        [si],
                        marker=marker,
                        ms=5,
                        color=color,
                        mfc=color if reached else "white",
                        ls="none",
                    )
                    ax.annotate(
                        str(r["n_per_task"]),
                        (xi, si),
                        textcoords="offset points",
                        xytext=(4, 3),
                        fontsize=6,
                        color=color,
                    )
            ax.plot([], [], color=color, marker=marker, ms=5, label=scale)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_xlim(lo_x, hi_x)
        ax.set_ylim(floor * (1.6 + 0.6 * len(scales)), top)
        ax.axhline(floor, color="0.8", lw=0.6, ls=":")
        ax.text(
            lo_x * 1.15,
            floor * (1.25 + 0.6 * len(scales)),
            "post-trained: δ unreached",
            va="center",
            fontsize=6,
            color="0.4",
        )
        ax.set_title(task)
        ax.set_xlabel("L(D_post | base) (KB)")
    axes[0][0].set_ylabel("bits saved at δ = pre-trained best,\nC_pre − C_post (KB)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.08)
    )
    fig.tight_layout()
    return fig

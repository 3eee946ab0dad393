"""Study C figures: the 2×2 pre-training × fine-tuning grid, the β and λ sweeps."""

from __future__ import annotations

from typing import Any

from sahlab.eft.knowledge import METRIC as CLOZE_METRIC
from sahlab.eft.knowledge import TASK as KNOWLEDGE
from sahlab.eval.scorers import MAIN_METRIC, PERCENT_METRICS

METRIC_OF = {KNOWLEDGE: CLOZE_METRIC}  # the grid's likelihood factuality "task"

SCALES = ("small", "large")
LOWER_IS_BETTER = ("error_format", "error_reasoning")


def _ci(g, name: str) -> str:
    """ "+0.12 [+0.03, +0.21]" (or without the interval when there is none)."""
    value = g[f"{name}_gain"] if f"{name}_gain" in g else g[name]
    low, high = g.get(f"{name}_ci_low"), g.get(f"{name}_ci_high")
    if low is None or high is None or low != low or high != high:  # None or NaN
        return f"{value:+.3g}"
    return f"{value:+.3g} [{low:+.3g}, {high:+.3g}]"


def plot_grid(cells, gains):
    """One 2×2 heatmap per task (rows) and metric (columns): value and 95 % CI in each cell,
    emulated cells marked "EFT"; panel titles give both scaling gains with their paired 95 % CIs
    ("?" marks an inconclusive one). A last row shows, per task's main metric (and the knowledge
    items' cloze accuracy), Δft and Δpt with their paired CIs side by side: the paper's claim is
    Δft > Δpt for instruction following and Δpt > Δft for factuality."""
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = sorted(cells["task"].unique())
    metrics = {t: _metric_order(t, cells[cells["task"] == t]["metric"].unique()) for t in tasks}
    ncol = max(max(len(m) for m in metrics.values()), 2)
    fig, axes = plt.subplots(
        len(tasks) + 1, ncol, figsize=(2.4 * ncol, 2.5 * (len(tasks) + 1)), squeeze=False
    )
    for i, task in enumerate(tasks):
        for j in range(ncol):
            ax = axes[i][j]
            if j >= len(metrics[task]):
                ax.axis("off")
                continue
            metric = metrics[task][j]
            sub = cells[(cells["task"] == task) & (cells["metric"] == metric)]
            grid = np.full((2, 2), np.nan)
            for r in sub.itertuples():
                y, x = SCALES.index(r.pretrain), SCALES.index(r.finetune)
                grid[y, x] = r.value
                label = f"{r.value:.3g}\n[{r.ci_low:.3g}, {r.ci_high:.3g}]" + ("\nEFT" if r.emulated else "")
                ax.text(x, y, label, ha="center", va="center", fontsize=6.5)
            cmap = "viridis_r" if metric in LOWER_IS_BETTER else "viridis"
            ax.imshow(grid, cmap=cmap, alpha=0.55, aspect="equal")
            ax.set_xticks([0, 1], SCALES)
            ax.set_yticks([0, 1], SCALES)
            ax.grid(False)
            g = gains[(gains["task"] == task) & (gains["metric"] == metric)].iloc[0]
            star = " ★" if metric == MAIN_METRIC.get(task, METRIC_OF.get(task)) else ""
            mark = {name: "?" if g.get(f"{name}_verdict") == "inconclusive" else "" for name in ("ft", "pt")}
            ax.set_title(
                f"{task}: {metric}{star}\nΔft {_ci(g, 'ft')}{mark['ft']}\nΔpt {_ci(g, 'pt')}{mark['pt']}",
                fontsize=6.5,
            )
            if j == 0:
                ax.set_ylabel("pre-training scale")
            if i == len(tasks) - 1:
                ax.set_xlabel("fine-tuning scale")
    gs = axes[0][0].get_gridspec()
    for ax in axes[len(tasks)]:
        ax.remove()
    gains_panel(fig.add_subplot(gs[len(tasks), : min(ncol, 3)]), gains)
    fig.tight_layout()
    return fig


def gains_panel(ax, gains):
    """Δft and Δpt with paired 95 % CIs for each task's main metric (chrF on 0-1), one row per task."""
    import numpy as np

    main = []
    for task in sorted(gains["task"].unique()):
        metric = MAIN_METRIC.get(task, METRIC_OF.get(task))
        sub = gains[(gains["task"] == task) & (gains["metric"] == metric)]
        if not sub.empty:
            main.append((task, metric, sub.iloc[0]))
    y = np.arange(len(main))
    for k, (name, color, dy) in enumerate((("ft", "#0072B2", -0.15), ("pt", "#D55E00", 0.15))):
        for i, (task, metric, g) in enumerate(main):
            scale = 100.0 if metric in PERCENT_METRICS else 1.0
            value = g[f"{name}_gain"] / scale
            low, high = g.get(f"{name}_ci_low"), g.get(f"{name}_ci_high")
            err = None
            if low is not None and high is not None and low == low and high == high:
                err = [[value - low / scale], [high / scale - value]]
            ax.errorbar(
                value,
                i + dy,
                xerr=err,
                fmt="o",
                ms=3,
                color=color,
                capsize=2,
                label=("Δ scaling fine-tuning" if name == "ft" else "Δ scaling pre-training")
                if i == 0
                else None,
            )
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.set_yticks(
        y, [f"{t}: {m}" + (" / 100" if m in PERCENT_METRICS else "") for t, m, _ in main], fontsize=6.5
    )
    ax.invert_yaxis()
    ax.set_xlabel("gain (paired 95 % CI)")
    ax.set_title("scaling gains, main metrics", fontsize=7.5)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _metric_order(task: str, metrics) -> list[str]:
    main = MAIN_METRIC.get(task, METRIC_OF.get(task))
    return ([main] if main in metrics else []) + sorted(m for m in metrics if m != main)


def plot_sweep(df, x: str, xlabel: str, marks=(), extra=None):
    """Main metric and format score vs the sweep variable `x`, one panel per task, 95 % CI bands.

    marks: x values drawn as dotted vertical lines (e.g. β = 1, plain EFT). extra: an optional
    callable(ax) that draws one more panel (the λ trade-off)."""
    import matplotlib.pyplot as plt

    tasks = sorted(df["task"].unique())
    n = len(tasks) + (extra is not None)
    fig, axes = plt.subplots(1, n, figsize=(3.0 * n, 2.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        main = MAIN_METRIC.get(task)
        for metric, style in ((main, "-o"), ("format", "--s")):
            sub = df[(df["task"] == task) & (df["metric"] == metric)].sort_values(x)
            if sub.empty:
                continue
            scale = 100.0 if metric in PERCENT_METRICS else 1.0  # chrF is on 0-100: plot as a fraction
            label = metric if scale == 1.0 else f"{metric} / 100"
            ax.plot(sub[x], sub["value"] / scale, style, ms=3, label=label)
            ax.fill_between(sub[x], sub["ci_low"] / scale, sub["ci_high"] / scale, alpha=0.2)
        for m in marks:
            ax.axvline(m, color="grey", ls=":", lw=1)
        ax.set_title(task)
        ax.set_xlabel(xlabel)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=6, loc="best")
    axes[0][0].set_ylabel("score")
    if extra is not None:
        extra(axes[0][-1])
    fig.tight_layout()
    return fig


def main_score(df, tasks) -> "Any":
    """Mean main metric over `tasks` per λ (chrF divided by 100 so every task is on 0-1)."""
    parts = []
    for task in tasks:
        sub = df[(df["task"] == task) & (df["metric"] == MAIN_METRIC[task])].set_index("lam")["value"]
        parts.append(sub / 100.0 if MAIN_METRIC[task] in PERCENT_METRICS else sub)
    return sum(parts) / len(parts)


def tradeoff_panel(df, tasks_a, tasks_b, names=("a", "b")):
    """A callable drawing the mean main metric on variant a's tasks against variant b's along the
    λ sweep, points labelled by λ: the test-time trade-off curve."""

    def draw(ax):
        xa, yb = main_score(df, tasks_a).sort_index(), main_score(df, tasks_b).sort_index()
        ax.plot(xa.to_numpy(), yb.to_numpy(), "-o", ms=3, color="#D55E00")
        for lam in xa.index:
            ax.annotate(
                f"λ={lam:g}", (xa[lam], yb[lam]), fontsize=6, xytext=(3, 3), textcoords="offset points"
            )
        ax.set_xlabel(f"{names[0]} tasks ({', '.join(tasks_a)}): mean main metric", fontsize=7)
        ax.set_ylabel(f"{names[1]} tasks ({', '.join(tasks_b)}): mean main metric", fontsize=7)
        ax.set_title("test-time trade-off")

    return draw

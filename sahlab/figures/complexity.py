"""Study B figures: Pareto frontiers of programs (bits on a log axis) per conditioning model,
and the programs of each strategy family."""

from __future__ import annotations

from collections.abc import Sequence

from sahlab.figures.theme import STAGE_COLORS, STAGE_LABELS, STAGE_ORDER

FAMILIES = {
    "prompting (baseline, ICL)": ("baseline", "icl"),
    "URIAL": ("urial",),
    "LoRA": ("lora",),
    "BLoRA": ("blora",),
    "full fine-tuning": ("full",),
    "data (online code)": ("online",),
}
SCALE_MARKERS = ("o", "s", "^", "D", "v")


def _order(values, first=()):
    seen = [v for v in first if v in values]
    return seen + sorted(v for v in set(values) if v not in seen)


def _log_x(ax) -> None:
    """Log x axis with labels at powers of ten only (minor labels overlap on short ranges)."""
    from matplotlib.ticker import LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_frontiers(rows: Sequence[dict], deltas: dict[str, Sequence[float]]):
    """Rows = scales, columns = tasks; per panel, every program at its selection-split
    performance (faint dots) and, per conditioning model (random init, pre-trained,
    post-trained), the step-curve Pareto frontier of the programs chosen there at their
    evaluation-split performance (rings on the curve) — where complexity at δ is read."""
    import matplotlib.pyplot as plt

    from sahlab.complexity.frontier import step_curve

    scales = _order([r["scale"] for r in rows], ("small", "large"))
    tasks = _order([r["task"] for r in rows], ("math", "translation", "instructions", "multihop", "coding"))
    fig, axes = plt.subplots(
        len(scales), len(tasks), figsize=(3.2 * len(tasks), 2.8 * len(scales)), squeeze=False, sharex=True
    )
    xmax = max(float(r["bits"]) for r in rows)
    for i, scale in enumerate(scales):
        for j, task in enumerate(tasks):
            ax = axes[i][j]
            for stage in STAGE_ORDER:
                pts = [r for r in rows if (r["scale"], r["task"], r["stage"]) == (scale, task, stage)]
                if not pts:
                    continue
                c = STAGE_COLORS[stage]
                ax.scatter(
                    [p["bits"] for p in pts],
                    [p["performance"] for p in pts],
                    s=9,
                    color=c,
                    alpha=0.3,
                    linewidths=0,
                )
                checked = [
                    {**p, "performance": p["performance_eval"]}
                    for p in pts
                    if p.get("performance_eval") is not None
                ]
                if not checked:
                    continue
                xs, ys = step_curve(checked)
                ax.step(
                    xs + [xmax * 2], ys + ys[-1:], where="post", color=c, lw=1.6, label=STAGE_LABELS[stage]
                )
                ax.scatter(xs, ys, s=16, facecolors="none", edgecolors=c, linewidths=0.9)
            for d in deltas.get(task, []):
                ax.axhline(d, color="0.6", lw=0.6, ls=":")
            _log_x(ax)
            metric = next((r["metric"] for r in rows if r["task"] == task), "")
            ax.set_title(f"{task} — {scale}", fontsize="medium")
            if j == 0:
                ax.set_ylabel("performance")
            if i == len(scales) - 1:
                ax.set_xlabel("program bits (payload + code)")
            ax.text(0.02, 0.97, metric, transform=ax.transAxes, va="top", fontsize="small", color="0.4")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 1.02), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def plot_strategies(rows: Sequence[dict]):
    """Rows = tasks, columns = strategy families; every program as (bits, performance), colour =
    conditioning stage, marker = scale, lines join a model's programs of that family by bits.
    ICL programs are drawn at their arithmetic-code length (filled) and zstd size (hollow)."""
    import matplotlib.pyplot as plt

    scales = _order([r["scale"] for r in rows], ("small", "large"))
    tasks = _order([r["task"] for r in rows], ("math", "translation", "instructions", "multihop", "coding"))
    fams = list(FAMILIES)
    fig, axes = plt.subplots(
        len(tasks),
        len(fams),
        figsize=(3.1 * len(fams), 2.5 * len(tasks)),
        squeeze=False,
        sharey="row",
        sharex=True,
    )
    for i, task in enumerate(tasks):
        for j, fam in enumerate(fams):
            ax = axes[i][j]
            for stage in STAGE_ORDER:
                for s_i, scale in enumerate(scales):
                    pts = sorted(
                        (
                            r
                            for r in rows
                            if r["task"] == task
                            and r["stage"] == stage
                            and r["scale"] == scale
                            and r["strategy"] in FAMILIES[fam]
                        ),
                        key=lambda r: float(r["bits"]),
                    )
                    if not pts:
                        continue
                    kw = dict(color=STAGE_COLORS[stage], marker=SCALE_MARKERS[s_i % 5], ms=4)
                    ax.plot(
                        [p["bits"] for p in pts],
                        [p["performance"] for p in pts],
                        lw=0.8,
                        label=f"{STAGE_LABELS[stage]}, {scale}",
                        **kw,
                    )
                    z = [p for p in pts if p.get("bits_zstd") not in (None, "")]
                    if z:
                        ax.plot(
                            [float(p["bits_zstd"]) for p in z],
                            [p["performance"] for p in z],
                            ls="none",
                            mfc="none",
                            **kw,
                        )
            _log_x(ax)
            if i == 0:
                ax.set_title(fam, fontsize="medium")
            if j == 0:
                ax.set_ylabel(f"{task}\nperformance")
            if i == len(tasks) - 1:
                ax.set_xlabel("program bits")
    handles = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="upper center",
        ncol=min(6, len(handles)),
        bbox_to_anchor=(0.5, 1.03),
        frameon=False,
        fontsize="small",
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig

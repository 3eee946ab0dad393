"""Figure: every task's main metric and format score by stage (random / pre-trained /
post-trained), prompt format (native / chat) and scale, with bootstrap 95 % CIs — the sanity
check of the whole study, and how much of the post-training gain is format."""

from __future__ import annotations

from sahlab.figures.theme import STAGE_LABELS, STAGE_ORDER


def stage_rows(df):
    """(stage, format) bars in display order and their labels: a stage asked in several formats
    gets one bar per format; format-free probes (format '') count as the model's own format."""
    from sahlab.eval.tables import own_format

    fmts = df.format.fillna("")  # a CSV round trip reads the probes' empty format as NaN
    df = df.assign(format=[f or own_format(st) for f, st in zip(fmts, df.stage)])
    rows = []
    for stage in STAGE_ORDER:
        fmts = sorted(set(df[df.stage == stage].format), key=lambda f: (f != own_format(stage), f))
        rows += [(stage, f, STAGE_LABELS[stage] + (f"\n({f})" if len(fmts) > 1 else "")) for f in fmts]
    return df, rows


def plot_stages(df, main_metric: dict[str, str]):
    """df: collect_metrics() rows. One column per task; top row main metric, bottom row format.

    A "knowledge" column (the cloze probe) has no format score; its chance level is drawn."""
    import matplotlib.pyplot as plt
    import numpy as np

    df, rows = stage_rows(df)
    keys = [(st, f) for st, f, _ in rows]
    tasks = [t for t in main_metric if (df.task == t).any()]
    scales = list(dict.fromkeys(df.scale))
    fig, axes = plt.subplots(
        2, len(tasks), figsize=(0.55 * len(rows) * len(tasks) + 1, 5.2), squeeze=False, sharex=True
    )
    width = 0.8 / max(1, len(scales))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, task in enumerate(tasks):
        for i, metric in enumerate([main_metric[task], "format"]):
            ax = axes[i, j]
            if not ((df.task == task) & (df.metric == metric)).any():
                ax.axis("off")
                axes[0, j].tick_params(labelbottom=True)
                continue
            for k, scale in enumerate(scales):
                sub = df[(df.task == task) & (df.metric == metric) & (df.scale == scale)]
                sub = sub.set_index(["stage", "format"]).reindex(keys)
                x = np.arange(len(keys)) + (k - (len(scales) - 1) / 2) * width
                err = np.vstack([sub.value - sub.ci_low, sub.ci_high - sub.value]).astype(float)
                ax.bar(
                    x,
                    sub.value,
                    width,
                    yerr=np.nan_to_num(err),
                    capsize=2,
                    color=colors[k % len(colors)],
                    label=scale,
                )
            ax.set_xticks(
                range(len(keys)), [label for *_, label in rows], rotation=35, ha="right", fontsize="small"
            )
            chance = df[(df.task == task) & (df.metric == "chance")].value
            if i == 0 and len(chance):
                ax.axhline(float(chance.mean()), color="0.4", ls="--", lw=0.8, label="chance")
            ax.set_ylim(0, max(1.0, float(np.nanmax(df[df.metric == metric].value, initial=0)) * 1.1))
            ax.set_title(f"{task}\n{metric}" if i == 0 else "", fontsize="medium")
            ax.set_ylabel(("task metric", "format score")[i] if j == 0 else "")
    axes[0, -1].legend(title="scale", frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig

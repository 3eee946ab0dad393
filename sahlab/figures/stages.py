"""Figure: every task's main metric and format score by stage (random / pre-trained /
post-trained) and scale, with bootstrap 95 % CIs — the sanity check of the whole study."""
from __future__ import annotations

from sahlab.figures.theme import STAGE_LABELS, STAGE_ORDER


def plot_stages(df, main_metric: dict[str, str]):
    """df: collect_metrics() rows. One column per task; top row main metric, bottom row format.

    A "knowledge" column (the cloze probe) has no format score; its chance level is drawn."""
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = [t for t in main_metric if (df.task == t).any()]
    scales = list(dict.fromkeys(df.scale))
    fig, axes = plt.subplots(2, len(tasks), figsize=(2.6 * len(tasks), 4.6), squeeze=False,
                             sharex=True)
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
                sub = sub.set_index("stage").reindex(STAGE_ORDER)
                x = np.arange(len(STAGE_ORDER)) + (k - (len(scales) - 1) / 2) * width
                err = np.vstack([sub.value - sub.ci_low, sub.ci_high - sub.value]).astype(float)
                ax.bar(x, sub.value, width, yerr=np.nan_to_num(err), capsize=2,
                       color=colors[k % len(colors)], label=scale)
            ax.set_xticks(range(len(STAGE_ORDER)), [STAGE_LABELS[s] for s in STAGE_ORDER],
                          rotation=25)
            chance = df[(df.task == task) & (df.metric == "chance")].value
            if i == 0 and len(chance):
                ax.axhline(float(chance.mean()), color="0.4", ls="--", lw=0.8, label="chance")
            ax.set_ylim(0, max(1.0, float(np.nanmax(df[df.metric == metric].value, initial=0)) * 1.1))
            ax.set_title(f"{task}\n{metric}" if i == 0 else "", fontsize="medium")
            ax.set_ylabel(("task metric", "format score")[i] if j == 0 else "")
    axes[0, -1].legend(title="scale", frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig

"""Figure: what the embedded world is made of (corpus mix and task sizes)."""

from __future__ import annotations

from collections import Counter


def plot_world(corpus_docs: dict[str, list[dict]], task_sizes: dict[tuple[str, str], int]):
    """corpus_docs: split -> documents ({"text","source"}); task_sizes: (task, split) -> n."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    chars = Counter()
    for split, docs in corpus_docs.items():
        for d in docs:
            chars[(split, d["source"])] += len(d["text"])
    mix = pd.DataFrame([dict(split=s, source=src, mchars=n / 1e6) for (s, src), n in chars.items()])
    sizes = pd.DataFrame([dict(task=t, split=s, n=n) for (t, s), n in task_sizes.items()])

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), gridspec_kw={"width_ratios": [1.2, 1]})
    sns.barplot(mix, y="source", x="mchars", hue="split", ax=axes[0], orient="h")
    axes[0].set(xlabel="corpus size (million characters)", ylabel="", title="Pre-training corpus by source")
    sns.barplot(sizes, x="task", y="n", hue="split", ax=axes[1])
    axes[1].set(xlabel="", ylabel="examples", title="Task datasets")
    axes[1].tick_params(axis="x", rotation=20)
    for ax in axes:
        ax.legend(title="", frameon=False)
    fig.tight_layout()
    return fig

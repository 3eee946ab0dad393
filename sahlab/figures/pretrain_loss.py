"""Figure: pre-training loss curves (train and held-out) of every pipeline-built scale."""

from __future__ import annotations


def plot_pretrain_loss(curves: dict[str, dict]):
    """curves: scale -> loss_curve.json content ({"train": [{"step","loss"}], "val": [...]})."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (scale, c) in enumerate(curves.items()):
        col = colors[k % len(colors)]
        ax.plot(
            [p["step"] for p in c["train"]],
            [p["loss"] for p in c["train"]],
            color=col,
            alpha=0.5,
            lw=1,
            label=f"{scale} train",
        )
        ax.plot(
            [p["step"] for p in c["val"]],
            [p["loss"] for p in c["val"]],
            "o-",
            color=col,
            ms=3,
            label=f"{scale} held-out",
        )
    ax.set(xlabel="optimizer step", ylabel="loss (nats / token)", title="Pre-training")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig

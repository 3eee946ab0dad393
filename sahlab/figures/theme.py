"""The one figure style of sahlab, and saving a figure to every requested format atomically."""

from __future__ import annotations

import os
from pathlib import Path

# Colour-blind-safe palette; stages and scales keep the same colours in every figure.
STAGE_ORDER = ["random", "base", "post"]
STAGE_LABELS = {"random": "random init", "base": "pre-trained", "post": "post-trained"}
STAGE_COLORS = {"random": "#999999", "base": "#0072B2", "post": "#D55E00"}


def apply_theme(context: str = "paper") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    sns.set_theme(
        context=context,
        style="whitegrid",
        palette="colorblind",
        rc={
            "figure.dpi": 150,
            "savefig.bbox": "tight",
            "pdf.fonttype": 42,
            "axes.spines.top": False,
            "axes.spines.right": False,
        },
    )


def save(fig, paths) -> None:
    """Save `fig` to each path (format from the extension) through a temporary name."""
    import matplotlib.pyplot as plt

    for path in paths:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
        fig.savefig(
            tmp,
            format=path.suffix.lstrip("."),
            metadata={"CreationDate": None} if path.suffix == ".pdf" else None,
        )
        os.replace(tmp, path)
    plt.close(fig)

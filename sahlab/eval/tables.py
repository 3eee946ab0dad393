"""Collect evaluation metrics of many (model, task) pairs into one tidy table."""
from __future__ import annotations

from pathlib import Path

from sahlab.io import read_json


# Probes of pipeline-built models beside the tasks' main metrics (rule corpus_probes).
PROBE_METRIC = {"knowledge": "cloze_accuracy", "corpus": "val_loss"}


def split_model(model: str) -> tuple[str, str]:
    """'large-base' -> ('large', 'base')."""
    scale, stage = model.rsplit("-", 1)
    return scale, stage


def collect_metrics(metric_paths, loss_paths=()):
    """Rows (scale, stage, task, metric, value, ci_low, ci_high, n) from results/eval/<model>/<task>/
    metrics.json files (the knowledge probe's too: task 'knowledge'), plus held-out corpus loss
    rows (task 'corpus', metric 'val_loss'). n: the examples actually scored (evaluation.n_test
    is a cap: a smaller test split is scored whole)."""
    import pandas as pd
    rows = []
    for p in map(Path, metric_paths):
        model, task = p.parent.parent.name, p.parent.name
        scale, stage = split_model(model)
        for metric, v in read_json(p).items():
            rows.append(dict(scale=scale, stage=stage, task=task, metric=metric, value=v["value"],
                             ci_low=v.get("ci_low"), ci_high=v.get("ci_high"), n=v.get("n")))
    for p in map(Path, loss_paths):
        scale, stage = split_model(p.parent.name)
        rows.append(dict(scale=scale, stage=stage, task="corpus", metric="val_loss",
                         value=read_json(p)["val_loss"], ci_low=None, ci_high=None, n=None))
    df = pd.DataFrame(rows)
    if "n" in df:
        df["n"] = df["n"].astype("Int64")  # counts stay integers beside the loss rows' blanks
    return df


def to_markdown(df, main_metrics: dict[str, str]) -> str:
    """One line per (scale, stage), one column per task's main metric, 'value [lo, hi]'."""
    lines = ["| scale | stage | " + " | ".join(f"{t} ({m})" for t, m in main_metrics.items()) + " |",
             "|---|---|" + "---|" * len(main_metrics)]
    for (scale, stage), g in df.groupby(["scale", "stage"], sort=False):
        cells = []
        for task, metric in main_metrics.items():
            r = g[(g.task == task) & (g.metric == metric)]
            if r.empty:
                cells.append("–")
                continue
            r = r.iloc[0]
            ci = f" [{r.ci_low:.3f}, {r.ci_high:.3f}]" if r.ci_low is not None and r.ci_low == r.ci_low else ""
            cells.append(f"{r.value:.3f}{ci}")
        lines.append(f"| {scale} | {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

"""Collect evaluation metrics of many (model, task) pairs into one tidy table."""

from __future__ import annotations

from pathlib import Path

from sahlab.io import read_json
from sahlab.mdtable import pipe_table

# Probes of pipeline-built models beside the tasks' main metrics (rule corpus_probes).
PROBE_METRIC = {"knowledge": "cloze_accuracy", "corpus": "val_loss"}
STAGE_RANK = {"random": 0, "base": 1, "post": 2}


def split_model(model: str) -> tuple[str, str]:
    """'large-base' -> ('large', 'base')."""
    scale, stage = model.rsplit("-", 1)
    return scale, stage


FORMATS = ("native", "chat")


def own_format(stage: str) -> str:
    """The format a model of `stage` is asked in by default: chat after post-training, else native."""
    return "chat" if stage == "post" else "native"


def collect_metrics(metric_paths, loss_paths=()):
    """Rows (scale, stage, format, task, metric, value, ci_low, ci_high, n) from
    results/eval/<model>/<task>/metrics.json (the model's own format) and
    results/eval/<model>/<format>/<task>/metrics.json files (the knowledge probe's too: task
    'knowledge', format ''), plus held-out corpus loss rows (task 'corpus', metric 'val_loss').
    n: the examples actually scored (evaluation.n_test is a cap: a smaller test split is scored
    whole)."""
    import pandas as pd

    rows = []
    for p in map(Path, metric_paths):
        task, parent = p.parent.name, p.parent.parent
        fmt = parent.name if parent.name in FORMATS else None
        model = parent.parent.name if fmt else parent.name
        scale, stage = split_model(model)
        if fmt is None:
            fmt = "" if task in PROBE_METRIC else own_format(stage)
        for metric, v in read_json(p).items():
            rows.append(
                dict(
                    scale=scale,
                    stage=stage,
                    format=fmt,
                    task=task,
                    metric=metric,
                    value=v["value"],
                    ci_low=v.get("ci_low"),
                    ci_high=v.get("ci_high"),
                    n=v.get("n"),
                )
            )
    for p in map(Path, loss_paths):
        scale, stage = split_model(p.parent.name)
        rows.append(
            dict(
                scale=scale,
                stage=stage,
                format="",
                task="corpus",
                metric="val_loss",
                value=read_json(p)["val_loss"],
                ci_low=None,
                ci_high=None,
                n=None,
            )
        )
    df = pd.DataFrame(rows)
    if "n" in df:
        df["n"] = df["n"].astype("Int64")  # counts stay integers beside the loss rows' blanks
    return df


def _cell(r) -> str:
    ci = f" [{r.ci_low:.3f}, {r.ci_high:.3f}]" if r.ci_low is not None and r.ci_low == r.ci_low else ""
    return f"{r.value:.3f}{ci}"


def to_markdown(df, main_metrics: dict[str, str]) -> str:
    """One line per (scale, stage, format), one column per task's metric, 'value [lo, hi]'.
    Format-free probes (knowledge, corpus loss) appear on the model's own-format line only."""
    lines = []
    scales = list(dict.fromkeys(df.scale))
    keys = set(df[df.format != ""][["scale", "stage", "format"]].itertuples(index=False, name=None))
    for scale, stage, fmt in sorted(
        keys, key=lambda k: (scales.index(k[0]), STAGE_RANK.get(k[1], 9), k[2] != own_format(k[1]), k[2])
    ):
        own = fmt == own_format(stage)
        cells = []
        for task, metric in main_metrics.items():
            probe = task in PROBE_METRIC
            r = df[
                (df.scale == scale)
                & (df.stage == stage)
                & (df.task == task)
                & (df.metric == metric)
                & (df.format == ("" if probe else fmt))
            ]
            cells.append("·" if probe and not own else "–" if r.empty else _cell(r.iloc[0]))
        lines.append([scale, stage, fmt, *cells])
    return pipe_table(["scale", "stage", "format", *(f"{t} ({m})" for t, m in main_metrics.items())], lines)


def all_metrics_markdown(df, tasks) -> str:
    """Every metric variant the scorers report (IFEval prompt/instruction strict/loose, chrF and
    BLEU, …) per (task, scale, stage, format): one line each."""
    from sahlab.eval.scorers import METRICS

    lines = []
    sub = df[df.task.isin(list(tasks))]
    for (task, scale, stage, fmt), g in sub.groupby(["task", "scale", "stage", "format"], sort=False):
        vals = [
            f"{m} {_cell(g[g.metric == m].iloc[0])}" for m in METRICS.get(task, ()) if (g.metric == m).any()
        ]
        lines.append([task, scale, stage, fmt, "; ".join(vals)])
    return pipe_table(["task", "scale", "stage", "format", "metrics"], lines)

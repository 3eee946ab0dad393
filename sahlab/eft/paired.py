"""Paired statistics of the 2×2 grid: the two scaling gains with bootstrap CIs over the same items.

All four cells of the grid score the same test items (the same ids, in the same order), so the
gains are differences of paired measurements. Each resample draws one set of item indices
(`sahlab.stats.resampling`, the same draws for every cell) and recomputes every cell's metric on it;
the gains of that resample are differences of those four values:

    Δft = ½[(v(small pt, large ft) − v(small pt, small ft)) + (v(large pt, large ft) − v(large pt, small ft))]
    Δpt = ½[(v(large pt, small ft) − v(small pt, small ft)) + (v(large pt, large ft) − v(small pt, large ft))]

and Δpt − Δft, the paper's comparison (scaling pre-training helps factuality more, scaling
fine-tuning helps helpfulness more). A percentile interval that contains 0 is "inconclusive".

A metric is recomputed on a resample from per-item additive statistics: a mean metric from
(value, 1) per item, a ratio (instruction-level accuracy) from (followed, total), corpus chrF /
BLEU from sacrebleu's segment statistics. Every metric's full-sample value is checked against the
scorer's (a drifted scorer fails loudly instead of giving intervals of something else).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from sahlab.eft.config import CELLS
from sahlab.stats.resampling import bootstrap_ci

# metric -> record field whose mean it is (`sahlab.eval.scorers`; cloze: `sahlab.eft.knowledge`)
MEAN_FIELDS = {
    "accuracy": "correct",
    "exact_match": "correct",
    "prompt_strict": "correct",
    "prompt_loose": "prompt_loose",
    "sentence_chrf": "chrf",
    "format": "format_ok",
    "cloze_accuracy": "correct",
    "pass_at_1": "correct",
}
ERROR_KINDS = {"error_format": "format", "error_reasoning": "reasoning"}
RATIO_LISTS = {"instruction_strict": "strict", "instruction_loose": "loose"}
CORPUS = ("chrf", "bleu")


def _ratio(sums: np.ndarray) -> np.ndarray:
    return sums[..., 0] / sums[..., 1]


def item_stats(metric: str, records: Sequence[dict]) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """(n × k per-item statistics, score of summed statistics [..., k] -> [...]) for `metric`."""
    if metric in MEAN_FIELDS:
        field = MEAN_FIELDS[metric]
        return np.array([[float(r[field]), 1.0] for r in records]), _ratio
    if metric in ERROR_KINDS:
        kind = ERROR_KINDS[metric]
        return np.array([[float(r["error_kind"] == kind), 1.0] for r in records]), _ratio
    if metric in RATIO_LISTS:
        key = RATIO_LISTS[metric]
        return np.array([[float(sum(r[key])), float(len(r[key]))] for r in records]), _ratio
    if metric in CORPUS:
        from sacrebleu.metrics import BLEU, CHRF

        scorer = CHRF() if metric == "chrf" else BLEU()
        hyps = [r["pred"] for r in records]
        refs = [str(r["reference"]).strip() for r in records]
        # the scorer's own statistics (sahlab.eval.scorers.score_translation uses the same calls)
        stats = np.array(scorer._extract_corpus_statistics(hyps, [refs]), dtype=float)

        def corpus(sums):
            flat = sums.reshape(-1, sums.shape[-1])
            out = np.array([scorer._compute_score_from_stats(list(s)).score for s in flat])
            return out.reshape(sums.shape[:-1])

        return stats, corpus
    raise KeyError(metric)


def paired_metric(
    metric: str,
    cells: dict[str, Sequence[dict]],
    reported: dict[str, float],
    *,
    n_boot: int,
    seed: int,
    alpha: float = 0.05,
) -> dict:
    """The three paired contrasts of one metric: {"ft": Interval, "pt": Interval, "pt_minus_ft": Interval}.

    cells: grid cell ("small", "up", "down", "large") -> per-item records in one item order;
    reported: cell -> the metric's value as the scorer reported it (checked)."""
    if set(cells) != set(CELLS):
        raise ValueError(f"paired gains need the four cells {list(CELLS)}, got {sorted(cells)}")
    ids = {c: [r.get("id") for r in recs] for c, recs in cells.items()}
    first = ids["small"]
    for c, other in ids.items():
        if other != first:
            raise ValueError(
                f"{metric}: cell {c!r} scores other items than cell 'small' (or in another order); "
                "paired statistics need the same items in every cell"
            )
    n = len(first)
    built = {c: item_stats(metric, recs) for c, recs in cells.items()}
    for c, (stats, score) in built.items():
        full = float(score(stats.sum(axis=0)))
        if (
            c in reported
            and reported[c] is not None
            and not np.isclose(full, reported[c], atol=1e-6, rtol=1e-6)
        ):
            raise RuntimeError(
                f"{metric}, cell {c}: recomputed {full} from per-item statistics, the scorer "
                f"reported {reported[c]}; sahlab.eft.paired is out of step with the scorer"
            )

    def values(idx):  # idx [n] or [B, n] -> per cell (pretrain, finetune) -> values [B]
        idx = np.atleast_2d(idx)
        out = {}
        for c, (stats, score) in built.items():
            out[CELLS[c]] = score(stats[idx].sum(axis=1))
        return out

    out = {}
    for name in ("ft", "pt", "pt_minus_ft"):

        def stat(idx, name=name):
            res = _point(values(idx))[name]
            return res[0] if np.ndim(idx) == 1 else res

        out[name] = bootstrap_ci(stat, n_boot=n_boot, seed=seed, alpha=alpha, n=n, vectorised=True)
    return out


def verdict(interval: dict) -> str:
    """ "> 0" / "< 0" when the interval excludes 0, "= 0" when every resample gives exactly 0 (the
    cells agree item for item, e.g. a format every model meets), else "inconclusive" ("n/a" without one)."""
    low, high = interval.get("ci_low"), interval.get("ci_high")
    if low is None or high is None:
        return "n/a"
    if low == high == 0:
        return "= 0"
    if low > 0:
        return "> 0"
    if high < 0:
        return "< 0"
    return "inconclusive"


def _point(v: dict) -> dict[str, float]:
    """The three contrasts from the four cells' values {(pretrain, finetune): value}."""
    ft = ((v["small", "large"] - v["small", "small"]) + (v["large", "large"] - v["large", "small"])) / 2
    pt = ((v["large", "small"] - v["small", "small"]) + (v["large", "large"] - v["small", "large"])) / 2
    return {"ft": ft, "pt": pt, "pt_minus_ft": pt - ft}


def gains_table(
    cell_rows: Sequence[dict],
    records: dict[str, dict[str, Sequence[dict]]],
    *,
    n_boot: int,
    seed: int,
    alpha: float = 0.05,
) -> list[dict]:
    """One row per task × metric: Δft, Δpt and Δpt − Δft with paired CIs and a verdict each.

    cell_rows: the grid's metric rows (cell, task, metric, value); records: cell -> task -> per-item
    records (the same items in every cell). A metric without per-item statistics in this module
    gets its point gains and no interval ("n/a")."""
    reported: dict[tuple[str, str], dict[str, float]] = {}
    for r in cell_rows:
        reported.setdefault((r["task"], r["metric"]), {})[r["cell"]] = r["value"]
    rows = []
    for (task, metric), by_cell in sorted(reported.items()):
        if set(by_cell) != set(CELLS):
            raise ValueError(f"{task}/{metric}: the grid has {len(by_cell)} of 4 cells")
        point = _point({CELLS[c]: float(v) for c, v in by_cell.items()})
        try:
            res = paired_metric(
                metric, {c: records[c][task] for c in CELLS}, by_cell, n_boot=n_boot, seed=seed, alpha=alpha
            )
        except KeyError as err:
            if err.args != (metric,):
                raise
            res = None
        row = {"task": task, "metric": metric}
        for name in ("ft", "pt", "pt_minus_ft"):
            iv = res[name] if res else {"ci_low": None, "ci_high": None}
            row.update(
                {
                    name if name == "pt_minus_ft" else f"{name}_gain": point[name],
                    f"{name}_ci_low": iv["ci_low"],
                    f"{name}_ci_high": iv["ci_high"],
                    f"{name}_verdict": verdict(iv),
                }
            )
        row["n"] = len(records["small"][task])
        rows.append(row)
    return rows

"""Aggregation of the scaling runs: fits per (model, task) with bootstrap CIs and a held-out
check, and the format / content error split per N.

Performance is the mean per-example `correct` (translation: sentence chrF / 100). Two fits: the
paper's line, log P = log C + alpha log N on the non-saturated N, and error(N) = a N^(-b) + c
with error = 1 - performance (sahlab.stats.powerlaw).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

log = logging.getLogger("sahlab.scaling")

FIT_COLUMNS = (
    "model",
    "task",
    "alpha",
    "alpha_ci_low",
    "alpha_ci_high",
    "C",
    "C_ci_low",
    "C_ci_high",
    "loglog_r2",
    "loglog_N",
    "form",
    "a",
    "a_ci_low",
    "a_ci_high",
    "b",
    "b_ci_low",
    "b_ci_high",
    "c",
    "c_ci_low",
    "c_ci_high",
    "r2",
    "heldout_N",
    "heldout_predicted",
    "heldout_observed",
    "heldout_abs_error",
    "heldout_loglog_predicted",
    "heldout_loglog_abs_error",
    "zero_shot_error",
    "format_vanish_N",
    "perf_at_vanish",
    "perf_at_max_N",
    "gain_after_format",
    "gain_ci_low",
    "gain_ci_high",
    "keeps_rising",
    "n_points",
    "n_seeds",
    "n_test",
    "n_boot",
    "n_failed",
    "n_failed_loglog",
)
ERROR_COLUMNS = (
    "model",
    "task",
    "N",
    "seed",
    "n",
    "performance",
    "format_ok",
    "error_format",
    "error_content",
)


def _group(records: Iterable[dict], keys: tuple[str, ...]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        out[tuple(r[k] for k in keys)].append(r)
    return dict(out)


def format_vanish_n(rows: list[dict], threshold: float) -> int | None:
    """The smallest N of the grid from which on the format-error share (mean over seeds) stays
    <= threshold at every larger N; None if it is above threshold at the largest N.
    rows: error_split rows of one (model, task)."""
    by_n = defaultdict(list)
    for r in rows:
        by_n[int(r["N"])].append(float(r["error_format"]))
    vanish = None
    for n in sorted(by_n, reverse=True):
        if np.mean(by_n[n]) > threshold:
            break
        vanish = n
    return vanish


def _heldout_loglog(N: np.ndarray, perf: np.ndarray, saturation: float) -> dict:
    """The paper's line fitted without the largest N, its prediction of the largest N."""
    from sahlab.stats.powerlaw import fit_performance_loglog, loglog_support

    top = N.max()
    keep = loglog_support(N, perf, saturation) & (N < top)
    try:
        ll = fit_performance_loglog(N[keep], perf[keep])
    except ValueError:
        return {"predicted": None, "abs_error": None}
    pred = float(ll["C"] * top ** ll["alpha"])
    return {"predicted": pred, "abs_error": abs(pred - float(perf[N == top][0]))}


def fit_curve(
    records: list[dict],
    n_boot: int,
    seed: int,
    heldout: int = 1,
    saturation: float = 0.95,
    vanish_n: int | None = None,
    level: float = 0.95,
) -> dict:
    """Fits of one (model, task): the paper's log-log line of performance and the power law of
    error, with crossed (seeds x examples) bootstrap CIs; the held-out check of both (fit the
    smaller N, predict the `heldout` largest); and, given the N where format errors vanish, the
    performance gained from there to the largest N with its CI. records: N, seed, example_id,
    correct."""
    from sahlab.stats.powerlaw import bootstrap_fit, heldout_check
    from sahlab.stats.resampling import percentile_interval

    boot = bootstrap_fit(records, n_boot=n_boot, seed=seed, saturation=saturation, level=level)
    reps = boot.pop("replicates")
    Ns = np.array(boot.pop("N"))
    perf = 1.0 - np.array([p["error"] for p in boot["per_N"]])
    # one point per (N, seed): seeds are replicates of the same N for the held-out fit
    cells = _group(records, ("N", "seed"))
    N = np.array([k[0] for k in cells], dtype=float)
    err = np.array([1.0 - np.mean([float(r["correct"]) for r in v]) for v in cells.values()])
    held = heldout_check(N, err, n_holdout=heldout)
    held_ll = _heldout_loglog(Ns, perf, saturation)
    gain = {"value": None, "ci_low": None, "ci_high": None, "verdict": None}
    if vanish_n is not None and vanish_n < Ns.max():
        i, j = int(np.argmax(Ns == vanish_n)), int(np.argmax(Ns))
        lo, hi = percentile_interval(reps[:, j] - reps[:, i], level)
        gain = {
            "value": float(perf[j] - perf[i]),
            "ci_low": float(lo),
            "ci_high": float(hi),
            "verdict": "yes" if lo > 0 else ("no" if hi < 0 else "inconclusive"),
        }
    return {
        "bootstrap": boot,
        "heldout": held,
        "heldout_loglog": held_ll,
        "format_vanish_N": vanish_n,
        "gain_after_format": gain,
        "performance": dict(zip((int(n) for n in Ns), perf.tolist())),
        "n_seeds": len({r["seed"] for r in records}),
        "n_test": len({r["example_id"] for r in records}),
    }


def fit_all(
    records: list[dict],
    n_boot: int,
    seed: int,
    heldout: int = 1,
    saturation: float = 0.95,
    error_rows: list[dict] | None = None,
    format_threshold: float = 0.05,
) -> dict:
    """fit_curve for every (model, task) in records (each record also has model and task);
    error_rows (error_split output) give the N where format errors vanish.
    Returns {"<model>/<task>": fit}."""
    from tqdm import tqdm

    groups = _group(records, ("model", "task"))
    errs = _group(error_rows or [], ("model", "task"))
    out = {}
    for (model, task), recs in tqdm(sorted(groups.items()), desc="scaling fits", mininterval=5):
        vanish = format_vanish_n(errs[(model, task)], format_threshold) if (model, task) in errs else None
        f = fit_curve(recs, n_boot, seed, heldout, saturation, vanish)
        out[f"{model}/{task}"] = {"model": model, "task": task, **f}
        b, ll = f["bootstrap"], f["bootstrap"]["loglog"]
        log.info(
            "%s/%s: alpha=%s b=%.3g r2=%.3f, format errors vanish at N=%s",
            model,
            task,
            ll.get("alpha", {}).get("value"),
            b["b"]["value"],
            b["r2"],
            vanish,
        )
    return out


def fit_table(fits: dict) -> list[dict]:
    """One row per (model, task) with FIT_COLUMNS: the paper's line (alpha, C) and the power law
    (a, b, c) with CIs and R², held-out errors, where format errors vanish and what follows."""
    rows = []
    for f in fits.values():
        b, h, hl, g = f["bootstrap"], f["heldout"], f["heldout_loglog"], f["gain_after_format"]
        ll, perf = b["loglog"], f["performance"]
        vn = f["format_vanish_N"]
        row = {
            "model": f["model"],
            "task": f["task"],
            "form": b["fit"]["form"],
            "r2": b["r2"],
            "loglog_r2": ll.get("r2"),
            "loglog_N": "-".join(str(n) for n in ll.get("N", [])[:1] + ll.get("N", [])[-1:]),
            "heldout_N": int(h["N"][-1]),
            "heldout_predicted": h["predicted"][-1],
            "heldout_observed": h["observed"][-1],
            "heldout_abs_error": h["max_abs_error"],
            "heldout_loglog_predicted": hl["predicted"],
            "heldout_loglog_abs_error": hl["abs_error"],
            "zero_shot_error": b["fit"]["zero_shot_error"],
            "format_vanish_N": vn,
            "perf_at_vanish": perf.get(vn) if vn is not None else None,
            "perf_at_max_N": perf[max(perf)],
            "gain_after_format": g["value"],
            "gain_ci_low": g["ci_low"],
            "gain_ci_high": g["ci_high"],
            "keeps_rising": g["verdict"],
            "n_points": b["fit"]["n_points"],
            "n_seeds": f["n_seeds"],
            "n_test": f["n_test"],
            "n_boot": b["n_boot"],
            "n_failed": b["n_failed"]["power"],
            "n_failed_loglog": b["n_failed"]["loglog"],
        }
        for p in "abc":
            row.update({p: b[p]["value"], f"{p}_ci_low": b[p]["ci_low"], f"{p}_ci_high": b[p]["ci_high"]})
        for p in ("alpha", "C"):
            v = ll.get(p, {})
            row.update({p: v.get("value"), f"{p}_ci_low": v.get("ci_low"), f"{p}_ci_high": v.get("ci_high")})
        rows.append({k: row[k] for k in FIT_COLUMNS})
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The fit table as markdown: parameters as value [low, high], 3 significant digits."""

    def num(v):
        return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.3g}"

    def ci(r, p):
        lo, hi = r[f"{p}_ci_low"], r[f"{p}_ci_high"]
        return f"{num(r[p])} [{num(lo)}, {num(hi)}]" if lo is not None else num(r[p])

    from sahlab.mdtable import pipe_table

    columns = (
        "model",
        "task",
        "α [95% CI]",
        "R² (log)",
        "fitted N",
        "b [95% CI]",
        "c [95% CI]",
        "R²",
        "held-out N",
        "obs. perf",
        "pred. perf (line)",
        "pred. perf (a,b,c)",
        "format errors vanish at N",
        "gain after [95% CI]",
        "keeps rising",
    )
    lines = []
    for r in rows:
        pred_abc = None if r["heldout_predicted"] is None else 1 - r["heldout_predicted"]
        vn = r["format_vanish_N"]
        gain = (
            f"{num(r['gain_after_format'])} [{num(r['gain_ci_low'])}, {num(r['gain_ci_high'])}]"
            if r["gain_ci_low"] is not None
            else "n/a"
        )
        lines.append(
            [
                r["model"],
                r["task"],
                ci(r, "alpha"),
                num(r["loglog_r2"]),
                r["loglog_N"] or "n/a",
                ci(r, "b"),
                ci(r, "c"),
                num(r["r2"]),
                r["heldout_N"],
                num(1 - r["heldout_observed"]),
                num(r["heldout_loglog_predicted"]),
                num(pred_abc),
                "not within the grid" if vn is None else vn,
                gain,
                r["keeps_rising"] or "n/a",
            ]
        )
    note = (
        "\nα: the paper's form, performance = C·N^α fitted as a line in log-log space on the "
        "non-saturated N (performance > 0 and below scaling.saturation; 'fitted N' gives the "
        "range); beside it error(N) = a·N^(−b) + c with error = 1 − performance "
        "(translation: sentence chrF/100). CIs: percentile bootstrap resampling training "
        "seeds and test examples, each variance counted once (sahlab.stats.resampling."
        "crossed_resamples). Held-out: both forms fitted without the largest N and "
        "predicting it. Format errors vanish at the smallest N from which the format-error "
        "share stays <= scaling.format_threshold (sahlab/eval/errors.py); 'gain after' is "
        "the performance at the largest N minus that at this N.\n"
    )
    return pipe_table(columns, lines) + note


def error_split(
    records: Iterable[dict], tests: dict[str, list[dict]], references: dict[str, list[dict]] | None = None
) -> list[dict]:
    """Format and content error shares (sahlab.eval.errors) for each (model, task, N, seed):
    ERROR_COLUMNS, where error_format + error_content = 1 - performance. records: the scaling
    records (task_output = the output as the scorer read it) with model and task; tests: task ->
    the test examples the records refer to; references: task -> the rows that define answer
    types and the target lexicon (train + test; default the test rows)."""
    from sahlab.eval.errors import split_errors

    references = references or tests
    rows = []
    for (model, task, n, seed), recs in sorted(_group(records, ("model", "task", "N", "seed")).items()):
        if task not in tests:
            raise ValueError(f"error_split: no test examples given for task {task!r}")
        by_id = {ex["id"]: ex for ex in tests[task]}
        missing = [r["example_id"] for r in recs if r["example_id"] not in by_id]
        if missing:
            raise ValueError(
                f"{model}/{task} N={n}: records name test examples {missing[:3]} "
                "that are not in the test split"
            )
        outs = [r.get("task_output", r["output"]) for r in recs]
        split = split_errors(task, outs, [by_id[r["example_id"]] for r in recs], references[task])
        k = len(split)
        rows.append(
            {
                "model": model,
                "task": task,
                "N": n,
                "seed": seed,
                "n": k,
                "performance": sum(x["correct"] for x in split) / k,
                "format_ok": sum(x["format_ok"] for x in split) / k,
                "error_format": sum(x["error_format"] for x in split) / k,
                "error_content": sum(x["error_content"] for x in split) / k,
            }
        )
    return rows


def harness_performance(metrics: dict, task: str) -> float:
    """A harness metrics.json on the scale of the scaling curves: the mean per-example
    `correct` (translation: mean sentence chrF / 100; other tasks: the main metric)."""
    from sahlab.eval.scorers import MAIN_METRIC

    if task == "translation":
        return float(metrics["sentence_chrf"]["value"]) / 100.0
    if task not in MAIN_METRIC:
        raise ValueError(f"harness_performance: unknown task {task!r}; allowed: {list(MAIN_METRIC)}")
    return float(metrics[MAIN_METRIC[task]]["value"])


MODEL_COLUMNS = (
    "model",
    "task",
    "base_math_accuracy",
    "base_math_ci_low",
    "base_math_ci_high",
    "alpha",
    "alpha_ci_low",
    "alpha_ci_high",
    "perf_at_max_N",
    "n_models",
    "spearman_alpha",
    "spearman_level",
)


def models_table(fits: dict, stages: list[dict]) -> list[dict]:
    """Study A across models (the paper: performance tracks the model's reasoning ability): per
    (model, task) the fitted exponent alpha and the level (performance at the largest N) beside
    the model's reasoning score before fine-tuning — its math accuracy in the stage table, in
    its own format (native for random/base models, chat for post-trained ones; the harness
    evaluation, prompt only: the paper's few-shot score would need an ICL run per model) — and,
    per task, Spearman's rho across models of each with it. stages: rows of tables/stages.csv."""
    from scipy.stats import spearmanr

    own = {}
    for r in stages:
        if r["task"] == "math" and r["metric"] == "accuracy":
            key = (r["scale"], r["stage"])
            if key not in own or r["format"] == "native":
                own[key] = r
    rows = []
    for f in fits.values():
        key = tuple(f["model"].rsplit("-", 1))
        if key not in own:
            raise ValueError(
                f"models_table: no math accuracy of {f['model']} in the stage table "
                "(the reasoning score needs the math task)"
            )
        b, al = own[key], f["bootstrap"]["loglog"].get("alpha", {})
        perf = f["performance"]
        rows.append(
            {
                "model": f["model"],
                "task": f["task"],
                "base_math_accuracy": float(b["value"]),
                "base_math_ci_low": float(b["ci_low"]),
                "base_math_ci_high": float(b["ci_high"]),
                "alpha": al.get("value"),
                "alpha_ci_low": al.get("ci_low"),
                "alpha_ci_high": al.get("ci_high"),
                "perf_at_max_N": perf[max(perf, key=int)],
            }
        )
    for task in {r["task"] for r in rows}:
        sub = [r for r in rows if r["task"] == task]
        x = [r["base_math_accuracy"] for r in sub]

        def rho(key):
            pairs = [(xi, r[key]) for xi, r in zip(x, sub) if r[key] is not None]
            if len(pairs) < 3:
                return None
            v = spearmanr(*zip(*pairs)).statistic
            return None if np.isnan(v) else float(v)

        ra, rl = rho("alpha"), rho("perf_at_max_N")
        for r in sub:
            r.update(n_models=len(sub), spearman_alpha=ra, spearman_level=rl)
    return [{k: r[k] for k in MODEL_COLUMNS} for r in sorted(rows, key=lambda r: (r["task"], r["model"]))]

"""Study B's tables: every program as a row, and task complexity at δ with reduction factors.

Input: the per-(model, task) results of `strategies.run_complexity` (points.json files).
Complexity at δ = fewest program bits reaching performance >= δ (`frontier.complexity_at`),
read on the evaluation split among the programs chosen on the selection split (`eval_points`;
the selection split only chooses, so the reported complexity is not a max over its noise);
reduction factors compare conditioning models of one scale:
pre-trained over post-trained (the paper's ≈1000× collapse) and random init over pre-trained.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sahlab.complexity.frontier import best_program_at, bits_ratio, reduction_factor
from sahlab.io import atomic_path
from sahlab.mdtable import pipe_table

POINT_COLUMNS = (
    "scale",
    "stage",
    "model",
    "task",
    "metric",
    "strategy",
    "setting",
    "bits",
    "payload_bits",
    "script_bits",
    "performance",
    "performance_eval",
    "format",
    "payload_bits_zstd",
    "bits_zstd",
    "naive_bits",
    "n_params",
    "k",
    "r",
    "quant_bits",
    "N",
    "n_train",
    "format_eval",
    "bits_block",
    "nominal_bits",
    "n_select",
    "n_eval",
)
TABLE_COLUMNS = (
    "scale",
    "task",
    "metric",
    "delta",
    "stage",
    "bits",
    "bits_ci_low",
    "bits_ci_high",
    "strategy",
    "setting",
    "performance",
    "performance_eval",
    "n_select",
    "n_eval",
)
REDUCTION_COLUMNS = (
    "scale",
    "task",
    "delta",
    "base_over_post",
    "base_over_post_ci_low",
    "base_over_post_ci_high",
    "random_over_base",
)
HEADLINE_COLUMNS = (
    "scale",
    "task",
    "metric",
    "target",
    "delta",
    "pre_bits",
    "pre_bits_ci_low",
    "pre_bits_ci_high",
    "pre_program",
    "pre_performance_eval",
    "post_bits",
    "post_bits_ci_low",
    "post_bits_ci_high",
    "post_program",
    "post_performance_eval",
    "reduction",
    "reduction_ci_low",
    "reduction_ci_high",
    "n_boot",
    "n_select",
    "n_eval",
)
ALPHA = 0.05


# ----------------------------------------------------------------------------- evaluation split
def eval_points(points: Sequence[dict]) -> list[dict]:
    """The programs scored on the evaluation split, with that split's performance and bootstrap
    resamples as "performance" / "boot" (the selection split's kept as "performance_select")."""
    return [
        {
            **p,
            "performance_select": p["performance"],
            "performance": p["performance_eval"],
            "boot": p.get("boot_eval") or [],
        }
        for p in points
        if p.get("performance_eval") is not None
    ]


# ----------------------------------------------------------------------------- paired bootstrap
def _cheapest_bits(points: Sequence[dict], delta: float, b: int) -> float:
    """Bits of the shortest program whose performance on resample b is >= δ, or inf."""
    bits = [p["bits"] for p in points if p["boot"][b] >= delta]
    return min(bits) if bits else math.inf


def percentile_ci(values: Sequence[float], alpha: float = ALPHA) -> tuple[float, float]:
    """Percentile interval of resampled values that may be inf (an unreachable δ); nan (an
    undefined ratio) is dropped; (nan, nan) when nothing is left."""
    v = sorted(x for x in values if not math.isnan(x))
    if not v:
        return math.nan, math.nan
    lo, hi = alpha / 2 * (len(v) - 1), (1 - alpha / 2) * (len(v) - 1)
    return v[int(math.floor(lo))], v[int(math.ceil(hi))]


def n_resamples(*groups: Sequence[dict]) -> int:
    """The number of paired resamples every point of `groups` carries (0 if any has none)."""
    sizes = {len(p.get("boot") or []) for g in groups for p in g}
    return min(sizes) if sizes else 0


def complexity_ci(points: Sequence[dict], delta: float) -> tuple[float, float]:
    """CI of the complexity at δ: the shortest program reaching δ, chosen anew in each resample."""
    n = n_resamples(points)
    return percentile_ci([_cheapest_bits(points, delta, b) for b in range(n)]) if n else (math.nan, math.nan)


def reduction_ci(frm: Sequence[dict], to: Sequence[dict], delta: float) -> tuple[float, float]:
    """CI of complexity(frm) / complexity(to) at δ, both chosen on the same (paired) resample."""
    n = n_resamples(frm, to)
    return (
        percentile_ci(
            [bits_ratio(_cheapest_bits(frm, delta, b), _cheapest_bits(to, delta, b)) for b in range(n)]
        )
        if n
        else (math.nan, math.nan)
    )


def _label(p: dict | None) -> str | None:
    return None if p is None else f"{p['strategy']} {p['setting']}"


def headline_rows(results: Sequence[dict]) -> list[dict]:
    """The paper's headline per scale × task: δ = the pre-trained model's best performance
    (target "pre_best"), the bits the pre-trained model needs for it, the bits the post-trained
    model needs to match it and their ratio; and δ = the post-trained model's zero-payload
    performance (target "post_zero_shot"). The pre-trained best is the program with the best
    selection-split performance, δ its evaluation-split performance; bits are read on the
    evaluation split among the programs chosen on the selection split (`eval_points`). CIs redo
    the reading — δ included — on paired bootstrap resamples of the evaluation split (the same
    items for both models)."""
    by = {}
    for res in results:
        scale, stage = split_model(res["model"])
        by[(scale, res["task"], stage)] = res
    rows = []
    for scale, task in sorted({(k[0], k[1]) for k in by}):
        if (scale, task, "base") not in by or (scale, task, "post") not in by:
            continue
        pre = eval_points(by[(scale, task, "base")]["points"])
        post = eval_points(by[(scale, task, "post")]["points"])
        if not pre or not post:
            continue
        n = n_resamples(pre, post)
        best = max(pre, key=lambda p: (p["performance_select"], -p["bits"]))
        zero = [p for p in post if p["strategy"] == "baseline"]
        targets = {
            "pre_best": (best["performance"], lambda b: best["boot"][b]),
            "post_zero_shot": (
                zero[0]["performance"] if zero else math.nan,
                lambda b: zero[0]["boot"][b] if zero else math.nan,
            ),
        }
        sizes = {k: by[(scale, task, "base")].get(k) for k in ("n_select", "n_eval")}
        for target, (delta, delta_b) in targets.items():
            if math.isnan(delta):
                continue
            a, c = best_program_at(pre, delta), best_program_at(post, delta)
            pre_bits = math.inf if a is None else a["bits"]
            post_bits = math.inf if c is None else c["bits"]
            boot = [
                (_cheapest_bits(pre, delta_b(b), b), _cheapest_bits(post, delta_b(b), b)) for b in range(n)
            ]
            row = {
                "scale": scale,
                "task": task,
                "metric": by[(scale, task, "base")]["metric"],
                "target": target,
                "delta": delta,
                "pre_bits": pre_bits,
                "pre_program": _label(a),
                "pre_performance_eval": a and a.get("performance_eval"),
                "post_bits": post_bits,
                "post_program": _label(c),
                "post_performance_eval": c and c.get("performance_eval"),
                "reduction": bits_ratio(pre_bits, post_bits),
                "n_boot": n,
                **sizes,
            }
            for key, vals in (
                ("pre_bits", [x for x, _ in boot]),
                ("post_bits", [y for _, y in boot]),
                ("reduction", [bits_ratio(x, y) for x, y in boot]),
            ):
                row[f"{key}_ci_low"], row[f"{key}_ci_high"] = (
                    percentile_ci(vals) if n else (math.nan, math.nan)
                )
            rows.append(row)
    return rows


def split_model(model: str) -> tuple[str, str]:
    """'<scale>-<stage>' -> (scale, stage)."""
    scale, _, stage = model.rpartition("-")
    if not scale or stage not in ("random", "base", "post"):
        raise ValueError(f"model name {model!r} is not <scale>-random|base|post")
    return scale, stage


def point_rows(results: Sequence[dict]) -> list[dict[str, Any]]:
    """One row per program of every (model, task) result."""
    rows = []
    for res in results:
        scale, stage = split_model(res["model"])
        for p in res["points"]:
            row = {
                "scale": scale,
                "stage": stage,
                "model": res["model"],
                "task": res["task"],
                "metric": res["metric"],
            }
            row.update({k: p.get(k) for k in POINT_COLUMNS if k not in row})
            row.update(n_select=res.get("n_select"), n_eval=res.get("n_eval"))
            rows.append(row)
    return rows


def complexity_rows(
    results: Sequence[dict], deltas: dict[str, Sequence[float]]
) -> tuple[list[dict], list[dict]]:
    """(complexity rows, reduction rows) for every scale × task × δ.

    complexity rows: the shortest program of each conditioning stage reaching δ on the
    evaluation split, among those chosen on the selection split (bits inf and strategy None
    when none does; "performance" is its selection-split score, "performance_eval" the one
    that counts); reduction rows: base/post and random/base ratios
    (`frontier.reduction_factor`: inf / 0 / nan when one or both cannot reach δ)."""
    by = {}
    for res in results:
        scale, stage = split_model(res["model"])
        by[(scale, res["task"], stage)] = res
    scales = sorted({k[0] for k in by})
    tasks = sorted({k[1] for k in by})
    table, reductions = [], []
    for scale in scales:
        for task in tasks:
            stages = {
                st: by[(scale, task, st)] for st in ("random", "base", "post") if (scale, task, st) in by
            }
            if not stages:
                continue
            metric = next(iter(stages.values()))["metric"]
            pts = {st: eval_points(res["points"]) for st, res in stages.items()}
            for d in deltas.get(task, []):
                for st, res in stages.items():
                    best = best_program_at(pts[st], d)
                    lo, hi = complexity_ci(pts[st], d)
                    table.append(
                        {
                            "scale": scale,
                            "task": task,
                            "metric": metric,
                            "delta": d,
                            "stage": st,
                            "bits": math.inf if best is None else best["bits"],
                            "bits_ci_low": lo,
                            "bits_ci_high": hi,
                            "strategy": best and best["strategy"],
                            "setting": best and best["setting"],
                            "performance": best and best["performance_select"],
                            "performance_eval": best and best["performance"],
                            "n_select": res.get("n_select"),
                            "n_eval": res.get("n_eval"),
                        }
                    )
                both = {"base", "post"} <= set(pts)
                lo, hi = reduction_ci(pts["base"], pts["post"], d) if both else (math.nan, math.nan)
                reductions.append(
                    {
                        "scale": scale,
                        "task": task,
                        "delta": d,
                        "base_over_post": (
                            reduction_factor(pts["base"], pts["post"], d) if both else math.nan
                        ),
                        "base_over_post_ci_low": lo,
                        "base_over_post_ci_high": hi,
                        "random_over_base": (
                            reduction_factor(pts["random"], pts["base"], d)
                            if {"random", "base"} <= set(pts)
                            else math.nan
                        ),
                    }
                )
    return table, reductions


def write_csv(path, rows: Sequence[dict], columns: Sequence[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})


def _fmt_bits(bits: float) -> str:
    if math.isinf(bits):
        return "unreached"
    return f"{bits / 8:,.0f} B" if bits < 8 * 10_000 else f"{bits / 8 / 1000:,.1f} KB"


def _fmt_ratio(x: float) -> str:
    if math.isnan(x):
        return "n/a (neither reaches δ)"
    if math.isinf(x):
        return "∞ (only the second reaches δ)"
    if x == 0:
        return "0 (only the first reaches δ)"
    return f"{x:,.2f}×"


def markdown(table: Sequence[dict], reductions: Sequence[dict]) -> str:
    """The complexity table and the reduction factors as markdown."""
    rows = []
    cell = {(r["scale"], r["task"], r["delta"], r["stage"]): r for r in table}
    for red in reductions:
        key = (red["scale"], red["task"], red["delta"])
        parts = []
        for st in ("random", "base", "post"):
            r = cell.get((*key, st))
            parts.append(
                "–"
                if r is None
                else _fmt_bits(r["bits"])
                + _ci(r.get("bits_ci_low", math.nan), r.get("bits_ci_high", math.nan), _fmt_bits)
                + (f" ({r['strategy']} {r['setting']})" if r["strategy"] else "")
            )
        metric = next(r["metric"] for r in table if (r["scale"], r["task"]) == key[:2])
        have = {st for st in ("random", "base", "post") if (*key, st) in cell}
        # a ratio of a model the study does not have (e.g. a scale with only a post model) is "–"
        pre_post = (
            f"{_fmt_ratio(red['base_over_post'])}"
            f"{_ci(red.get('base_over_post_ci_low', math.nan), red.get('base_over_post_ci_high', math.nan), _fmt_ratio)}"
            if {"base", "post"} <= have
            else "–"
        )
        random_pre = _fmt_ratio(red["random_over_base"]) if {"random", "base"} <= have else "–"
        rows.append(
            [red["scale"], f"{red['task']} ({metric})", f"{red['delta']:g}", *parts, pre_post, random_pre]
        )
    columns = (
        "scale",
        "task (metric)",
        "δ",
        "random init",
        "pre-trained",
        "post-trained",
        "pre/post",
        "random/pre",
    )
    return pipe_table(columns, rows)


def _ci(lo: float, hi: float, fmt) -> str:
    return "" if math.isnan(lo) else f" [{fmt(lo)}, {fmt(hi)}]"


def headline_markdown(rows: Sequence[dict]) -> str:
    """The paper's headline table: bits to reach δ for the pre- and the post-trained model."""
    columns = (
        "scale",
        "task (metric)",
        "δ",
        "pre-trained: bits [95 % CI] (program; eval perf.)",
        "post-trained: bits [95 % CI] (program; eval perf.)",
        "reduction pre/post [95 % CI]",
    )
    cells = []
    names = {"pre_best": "pre-trained best", "post_zero_shot": "post-trained zero-shot"}
    perf = lambda v: "–" if v is None else f"{v:.3g}"  # noqa: E731
    for r in rows:
        cells.append(
            [
                r["scale"],
                f"{r['task']} ({r['metric']})",
                f"{names[r['target']]} = {r['delta']:.3g}",
                f"{_fmt_bits(r['pre_bits'])}{_ci(r['pre_bits_ci_low'], r['pre_bits_ci_high'], _fmt_bits)}"
                f" ({r['pre_program']}; {perf(r['pre_performance_eval'])})",
                f"{_fmt_bits(r['post_bits'])}{_ci(r['post_bits_ci_low'], r['post_bits_ci_high'], _fmt_bits)}"
                f" ({r['post_program']}; {perf(r['post_performance_eval'])})",
                f"{_fmt_ratio(r['reduction'])}{_ci(r['reduction_ci_low'], r['reduction_ci_high'], _fmt_ratio)}",
            ]
        )
    return pipe_table(columns, cells)


def _split_sizes(results: Sequence[dict]) -> str:
    sizes = sorted({(r["task"], r.get("n_select"), r.get("n_eval")) for r in results})
    return "; ".join(f"{t}: {a} selection / {b} evaluation examples" for t, a, b in sizes)


def write_tables(
    results: Sequence[dict], deltas: dict, out_points, out_csv, out_md, out_reductions, out_headline=None
) -> None:
    """Write the points CSV, the complexity CSV, the reduction CSV, the paper's headline CSV
    and the markdown tables."""
    table, reductions = complexity_rows(results, deltas)
    head = headline_rows(results)
    write_csv(out_points, point_rows(results), POINT_COLUMNS)
    write_csv(out_csv, table, TABLE_COLUMNS)
    write_csv(out_reductions, reductions, REDUCTION_COLUMNS)
    if out_headline is not None:
        write_csv(out_headline, head, HEADLINE_COLUMNS)
    with atomic_path(out_md) as tmp:
        Path(tmp).write_text(
            "The paper's headline: δ = the pre-trained model's best performance (and the "
            "post-trained model's zero-shot one); the shortest program of each model reaching it "
            "(payload + receiver script, in bytes) and its performance, both read on the "
            "evaluation split among the programs chosen on the disjoint selection split "
            f"({_split_sizes(results)}), and the reduction factor. 95 % CIs redo the reading, δ "
            "included, on paired bootstrap resamples of the evaluation split.\n\n"
            + headline_markdown(head)
            + "\nTask complexity at the configured δs: the shortest program reaching performance ≥ δ "
            "on the study's metric, per conditioning model, and the reduction factors pre-trained / "
            "post-trained and random init / pre-trained.\n\n" + markdown(table, reductions)
        )


def read_point_rows(path) -> list[dict[str, Any]]:
    """The points CSV back as dicts, numbers as floats (empty cells as None)."""
    numeric = set(POINT_COLUMNS) - {"scale", "stage", "model", "task", "metric", "strategy", "setting"}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for k in numeric & set(row):
            row[k] = float(row[k]) if row[k] not in ("", None) else None
    return rows

"""Study D statistics over the whole grid: feature use per evidence rate, use and evidence
required per (model, feature, method, seed), and their correlation with relative extractability.

Correlation points are features × fine-tuning seeds (x = the feature's relative extractability
under the model, averaged over probe seeds; y = that seed's use), taken separately for each model,
fine-tuning method and probe family — as in Cruz et al. (separately for RL and SFT).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

USE_MEASURE = "spurious_preference"  # (s-only error + t-only error) / 2, see feature_use


def disagreement_f1(target_use: float, spurious_use: float) -> float:
    """F1 of the target label on the two sections where the features disagree, of equal size:
    target-only rows are the positives (recall = target_use), spurious-only rows the negatives
    (false-positive rate = spurious_use): F1 = 2t / (1 + t + s).

    Target-only F1 alone is 1 for a policy that always answers "1" (every target-only label is 1);
    scored against the spurious-only rows, F1 > 0.99 needs the target feature to be used."""
    return 2 * target_use / (1 + target_use + spurious_use)


def seed_summaries(use_rows: Sequence[dict], threshold: float = 0.99) -> list[dict]:
    """One row per (model, feature, method, seed): mean use over the evidence rates (the area
    under the use-vs-rate curve, normalised) and the evidence required: the smallest rate with
    target-only F1 > threshold where the F1 scores the target-only rows against the spurious-only
    ones (`disagreement_f1`), so a constant policy never qualifies; inf if no rate does."""
    from sahlab.probing.features_stats import evidence_required

    groups: dict[tuple, list[dict]] = {}
    for r in use_rows:
        groups.setdefault((r["model"], r["feature"], r["method"], r["seed"]), []).append(r)
    out = []
    for (model, feature, method, seed), rows in sorted(groups.items()):
        rows = sorted(rows, key=lambda r: r["rate"])
        f1 = [disagreement_f1(r["target_use"], r["spurious_use"]) for r in rows]
        out.append({"model": model, "feature": feature, "method": method, "seed": seed,
                    "use": float(np.mean([r[USE_MEASURE] for r in rows])),
                    "spurious_use": float(np.mean([r["spurious_use"] for r in rows])),
                    "evidence_required": evidence_required([r["rate"] for r in rows], f1, threshold),
                    "n_rates": len(rows)})
    return out


def mdl_rows_for(mdl_rows: Sequence[dict]) -> dict[tuple, dict]:
    """(model, probe, feature) -> MDL row."""
    return {(r["model"], r["probe"], r["feature"]): r for r in mdl_rows}


def correlations(points: Sequence[dict], mdl_rows: Sequence[dict], rates: Sequence[float], *,
                 n_permutations: int, n_boot: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Correlate relative extractability with use (Spearman and Pearson) and with evidence
    required (Spearman; "never" is capped at 2 × the largest rate, which keeps its rank last),
    per (model, method, probe). Returns (correlation rows, scatter points with x attached).

    A group whose x or y is constant (e.g. every run ignores the spurious feature) has no
    correlation: its row holds NaN values and the reason in `note`.
    """
    from sahlab.probing.features_stats import correlation_summary, fit_logistic

    mdl = mdl_rows_for(mdl_rows)
    cap = 2 * max(rates) if max(rates) > 0 else 1.0
    scatter = []
    for p in points:
        for (model, probe, feature), m in mdl.items():
            if model == p["model"] and feature == p["feature"]:
                ev = p["evidence_required"]
                scatter.append(p | {"probe": probe, "x": m["relative_extractability"],
                                    "evidence_required_capped": min(ev, cap)})
    groups: dict[tuple, list[dict]] = {}
    for s in scatter:
        groups.setdefault((s["model"], s["method"], s["probe"]), []).append(s)
    rows = []
    for (model, method, probe), pts in sorted(groups.items()):
        x = [p["x"] for p in pts]
        for measure, key, kinds in (("use", "use", ("spearman", "pearson")),
                                    ("evidence_required", "evidence_required_capped", ("spearman",))):
            y = [p[key] for p in pts]
            base = {"model": model, "method": method, "probe": probe, "measure": measure,
                    "n_points": len(pts), "n_features": len({p["feature"] for p in pts})}
            try:
                summ = correlation_summary(x, y, n_permutations=n_permutations, n_boot=n_boot,
                                           seed=seed)
                note = ""
            except ValueError as e:
                summ, note = None, str(e)
            for kind in kinds:
                c = summ[kind] if summ else {}
                row = base | {"correlation": kind, "value": c.get("value", math.nan),
                              "p_value": c.get("p_value", math.nan),
                              "ci_low": c.get("ci_low", math.nan),
                              "ci_high": c.get("ci_high", math.nan), "note": note}
                if measure == "use":
                    try:
                        fit = fit_logistic(x, y, log_x=True)
                        row |= {"logistic_intercept": fit["intercept"],
                                "logistic_slope": fit["slope"]}
                    except ValueError:
                        row |= {"logistic_intercept": math.nan, "logistic_slope": math.nan}
                rows.append(row)
    return rows, scatter


def markdown_table(rows: Sequence[dict], columns: Sequence[str], floatfmt: str = ".3g") -> str:
    """A GitHub markdown table of `rows` restricted to `columns`."""
    def fmt(v):
        if isinstance(v, float):
            return "—" if not math.isfinite(v) else format(v, floatfmt)
        return str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


MDL_COLUMNS = ("model", "probe", "feature", "n", "mdl_target", "mdl_target_std", "mdl_spurious",
               "mdl_spurious_std", "uniform_bits", "relative_extractability")
CORR_COLUMNS = ("model", "method", "probe", "measure", "correlation", "value", "p_value",
                "ci_low", "ci_high", "n_points", "n_features", "logistic_intercept",
                "logistic_slope", "note")


def summarise(mdl_rows: Sequence[dict], use_rows: Sequence[dict], rates: Sequence[float], *,
              threshold: float, n_permutations: int, n_boot: int, seed: int) -> dict[str, list[dict]]:
    """Everything the study-D tables hold: {"mdl": MDL rows, "seeds": per-seed use and evidence
    required, "points": scatter points, "correlations": correlation rows}."""
    if not mdl_rows or not use_rows:
        raise ValueError(f"summarise: need MDL rows and use rows, got {len(mdl_rows)} and "
                         f"{len(use_rows)}")
    seeds = seed_summaries(use_rows, threshold)
    corr, points = correlations(seeds, mdl_rows, rates, n_permutations=n_permutations,
                                n_boot=n_boot, seed=seed)
    mdl = [{k: r[k] for k in MDL_COLUMNS} for r in mdl_rows]
    return {"mdl": mdl, "seeds": seeds, "points": points, "correlations": corr}


def write_table(rows: Sequence[dict], csv_path, md_path=None, columns: Sequence[str] | None = None,
                caption: str = "") -> None:
    """Write rows as CSV (all columns, or `columns`) and optionally as a markdown table, atomically."""
    import pandas as pd

    from sahlab.io import atomic_path

    df = pd.DataFrame(list(rows))
    if columns is not None:
        df = df[[c for c in columns if c in df.columns]]
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
    if md_path is not None:
        body = markdown_table(df.to_dict("records"), list(df.columns))
        with atomic_path(md_path) as tmp:
            tmp.write_text((caption + "\n\n" if caption else "") + body)

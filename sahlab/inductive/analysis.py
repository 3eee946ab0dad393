"""Study D statistics over the whole grid, at the level of (target, spurious) feature pairs.

Relative extractability is one number per pair (and model, probe family), so the unit of the
correlation is the pair: each fine-tuning run (pair × method × seed) is first summarised over
the evidence rates, runs are averaged over seeds within a pair, and ρ is taken over pairs, with
the exact permutation p over pairs and a bootstrap CI that resamples pairs. Points of pairs ×
seeds would share x values and are never correlated (pseudo-replication).

Use measures (means over the evidence rates of the grid, then over seeds):
  s_only_error          P(pred 1 | spurious-only rows): Lovering's s-only error
  t_only_error          P(pred 0 | target-only rows): Lovering's t-only error
  spurious_preference   their mean (kept beside them: 0.5 for OR-like, AND-like and random
                        policies alike, so it is never read alone)
  evidence_required     smallest rate with disagreement F1 > threshold (seed-averaged F1)

Subsets of pairs: "all"; "converged" (only runs whose policy reaches `converged_at` reward on its
own training rows at the highest evidence rate; pairs with no converged run drop out);
"controlled" (Cruz et al.: both features' probes reach accuracy > 0.9, here the accuracy of the
last online-code block); "converged+controlled".
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

MEASURES = ("s_only_error", "t_only_error", "spurious_preference", "evidence_required")
SUBSETS = ("all", "converged", "controlled", "converged+controlled")
CONTROLLED_ACCURACY = 0.9


def disagreement_f1(target_use: float, spurious_use: float) -> float:
    """F1 of the target label on the two sections where the features disagree, of equal size:
    target-only rows are the positives (recall = target_use), spurious-only rows the negatives
    (false-positive rate = spurious_use): F1 = 2t / (1 + t + s).

    Target-only F1 alone is 1 for a policy that always answers "1" (every target-only label is 1);
    scored against the spurious-only rows, F1 > 0.99 needs the target feature to be used."""
    return 2 * target_use / (1 + target_use + spurious_use)


def run_summaries(use_rows: Sequence[dict]) -> list[dict]:
    """One row per fine-tuning run set (model, pair, method, seed): each use measure averaged
    over the evidence rates, the disagreement F1 per rate, and convergence at the highest rate
    (the run's `converged` flag and training accuracy there)."""
    groups: dict[tuple, list[dict]] = {}
    for r in use_rows:
        groups.setdefault((r["model"], r["pair"], r["method"], r["seed"]), []).append(r)
    out = []
    for (model, pair, method, seed), rows in sorted(groups.items()):
        rows = sorted(rows, key=lambda r: r["rate"])
        top = rows[-1]
        out.append(
            {
                "model": model,
                "pair": pair,
                "method": method,
                "seed": seed,
                "target": top.get("target"),
                "spurious": top.get("spurious"),
                "s_only_error": float(np.mean([r["spurious_use"] for r in rows])),
                "t_only_error": float(np.mean([1 - r["target_use"] for r in rows])),
                "spurious_preference": float(np.mean([r["spurious_preference"] for r in rows])),
                "rates": [float(r["rate"]) for r in rows],
                "f1_by_rate": [disagreement_f1(r["target_use"], r["spurious_use"]) for r in rows],
                "max_rate": float(top["rate"]),
                "train_accuracy_at_max_rate": float(top.get("train_accuracy", math.nan)),
                "train_reward_last_at_max_rate": top.get("train_reward_last"),
                "converged": bool(top.get("converged", False)),
                "n_rates": len(rows),
            }
        )
    return out


def pair_summaries(
    runs: Sequence[dict], mdl_rows: Sequence[dict], *, threshold: float, only_converged: bool = False
) -> list[dict]:
    """One row per (model, method, probe, pair): x = relative extractability, the probes'
    accuracies and `controlled`, the use measures averaged over seeds (over converged runs only
    if `only_converged`; pairs with none are left out), evidence required from the seed-averaged
    disagreement F1 (inf if no rate reaches `threshold`), and n_seeds / n_converged."""
    from sahlab.inductive.features_stats import evidence_required

    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["model"], r["method"], r["pair"]), []).append(r)
    out = []
    for m in mdl_rows:
        for (model, method, pair), rs in sorted(groups.items()):
            if model != m["model"] or pair != m["pair"]:
                continue
            used = [r for r in rs if r["converged"]] if only_converged else rs
            if not used:
                continue
            f1 = np.mean([r["f1_by_rate"] for r in used], axis=0)
            acc_t, acc_s = m.get("acc_target", math.nan), m.get("acc_spurious", math.nan)
            out.append(
                {
                    "model": model,
                    "method": method,
                    "probe": m["probe"],
                    "pair": pair,
                    "target": m.get("target"),
                    "spurious": m.get("spurious"),
                    "x": float(m["relative_extractability"]),
                    "acc_target": acc_t,
                    "acc_spurious": acc_s,
                    "controlled": bool(acc_t > CONTROLLED_ACCURACY and acc_s > CONTROLLED_ACCURACY),
                    **{
                        k: float(np.mean([r[k] for r in used]))
                        for k in ("s_only_error", "t_only_error", "spurious_preference")
                    },
                    "evidence_required": evidence_required(used[0]["rates"], f1, threshold),
                    "n_seeds": len(used),
                    "n_runs": len(rs),
                    "n_converged": sum(r["converged"] for r in rs),
                }
            )
    return out


def verdict(value: float, p_value: float, ci_low: float, ci_high: float, alpha: float = 0.05) -> str:
    """ "falls" / "rises" when the exact p < alpha and the CI excludes 0 on that side, else
    "inconclusive" (the data allow both readings, or no correlation is defined)."""
    if not all(math.isfinite(v) for v in (value, p_value, ci_low, ci_high)):
        return "inconclusive"
    if p_value < alpha and ci_high < 0:
        return "falls"
    if p_value < alpha and ci_low > 0:
        return "rises"
    return "inconclusive"


def pair_correlations(
    pairs_by_subset: dict[str, list[dict]],
    *,
    rates: Sequence[float],
    n_permutations: int,
    n_boot: int,
    seed: int,
    alpha: float = 0.05,
) -> list[dict]:
    """Spearman ρ over pairs between relative extractability and each use measure, per (model,
    method, probe, subset): exact two-sided permutation p over pairs, percentile bootstrap 95 %
    CI resampling pairs, Pearson r (permutation p), the power line (critical |ρ| at alpha for
    this many pairs, and the population ρ detected with 80 % power) and a verdict.

    "Evidence required" never reached is capped at 2 × the largest rate (its rank stays last).
    A subset with < 3 pairs, or a constant x or y, gets NaN values and the reason in `note`.
    """
    from sahlab.inductive.features_stats import bootstrap_ci, permutation_test, spearman_power

    cap = 2 * max(rates) if max(rates) > 0 else 1.0
    power_cache: dict[int, dict] = {}
    rows = []
    keys = sorted({(p["model"], p["method"], p["probe"]) for pts in pairs_by_subset.values() for p in pts})
    for subset, pts in pairs_by_subset.items():
        groups: dict[tuple, list[dict]] = {k: [] for k in keys}  # empty subsets get a row too
        for p in pts:
            groups[(p["model"], p["method"], p["probe"])].append(p)
        for (model, method, probe), g in sorted(groups.items()):
            g = sorted(g, key=lambda p: p["pair"])
            n = len(g)
            x = [p["x"] for p in g]
            n_runs = sum(p["n_runs"] for p in g)
            n_conv = sum(p["n_converged"] for p in g)
            if 3 <= n and n not in power_cache:
                power_cache[n] = spearman_power(n, alpha) if n <= 10 else {}
            pw = power_cache.get(n, {})
            for measure in MEASURES:
                y = [min(p[measure], cap) for p in g]
                row = {
                    "model": model,
                    "method": method,
                    "probe": probe,
                    "subset": subset,
                    "measure": measure,
                    "n_pairs": n,
                    "converged_runs": f"{n_conv}/{n_runs}",
                    "critical_rho": pw.get("critical_rho", math.nan),
                    "rho_for_80pct_power": pw.get("rho_for_power", math.nan),
                }
                try:
                    if n < 3:
                        raise ValueError(f"{n} pair(s) in subset {subset!r}: a correlation needs ≥ 3")
                    sp = permutation_test(x, y, "spearman", n_permutations, seed)
                    ci = bootstrap_ci(x, y, "spearman", n_boot, seed)
                    pe = permutation_test(x, y, "pearson", n_permutations, seed)
                    row |= {
                        "rho": sp["statistic"],
                        "p_exact": sp["p_value"],
                        "exact": sp["exact"],
                        "ci_low": ci["ci_low"],
                        "ci_high": ci["ci_high"],
                        "pearson_r": pe["statistic"],
                        "pearson_p": pe["p_value"],
                        "note": "",
                    }
                except ValueError as e:
                    row |= {
                        "rho": math.nan,
                        "p_exact": math.nan,
                        "exact": False,
                        "ci_low": math.nan,
                        "ci_high": math.nan,
                        "pearson_r": math.nan,
                        "pearson_p": math.nan,
                        "note": str(e),
                    }
                row["verdict"] = verdict(row["rho"], row["p_exact"], row["ci_low"], row["ci_high"], alpha)
                rows.append(row)
    return rows


def markdown_table(rows: Sequence[dict], columns: Sequence[str], floatfmt: str = ".3g") -> str:
    """A GitHub markdown table of `rows` restricted to `columns`."""

    def fmt(v):
        if isinstance(v, float):
            return "—" if not math.isfinite(v) else format(v, floatfmt)
        return str(v)

    from sahlab.mdtable import pipe_table

    return pipe_table(columns, [[fmt(r.get(c, "")) for c in columns] for r in rows])


MDL_COLUMNS = (
    "model",
    "probe",
    "pair",
    "n",
    "mdl_target",
    "mdl_target_std",
    "mdl_spurious",
    "mdl_spurious_std",
    "uniform_bits",
    "acc_target",
    "acc_spurious",
    "relative_extractability",
)
CORR_COLUMNS = (
    "model",
    "method",
    "probe",
    "subset",
    "measure",
    "n_pairs",
    "converged_runs",
    "rho",
    "p_exact",
    "ci_low",
    "ci_high",
    "verdict",
    "pearson_r",
    "pearson_p",
    "critical_rho",
    "rho_for_80pct_power",
    "note",
)


def correlation_caption(converged_at: float) -> str:
    """The caption of the correlation table (markdown)."""
    return (
        "Spearman ρ over (target, spurious) pairs between relative extractability "
        "MDL(spurious)/MDL(target) and the spurious feature's use (each measure averaged over "
        "evidence rates, then over seeds within a pair): exact two-sided permutation p over "
        "pairs, percentile bootstrap 95 % CI resampling pairs. converged_runs: runs whose "
        f"policy earns ≥ {converged_at:g} reward on its training rows at the highest evidence "
        "rate, of all runs. critical_rho: the smallest |ρ| this many pairs can declare "
        "significant at α = 0.05; rho_for_80pct_power: the population ρ detected 80 % of the "
        "time. verdict: 'falls'/'rises' only if p < 0.05 and the CI excludes 0, else "
        "'inconclusive'."
    )


def summarise(
    mdl_rows: Sequence[dict],
    use_rows: Sequence[dict],
    rates: Sequence[float],
    *,
    threshold: float,
    n_permutations: int,
    n_boot: int,
    seed: int,
) -> dict[str, list[dict]]:
    """Everything the study-D tables hold: {"mdl": MDL rows, "runs": per-run summaries,
    "pairs": per-pair points of every subset (column `subset`), "correlations": rows}."""
    if not mdl_rows or not use_rows:
        raise ValueError(f"summarise: need MDL rows and use rows, got {len(mdl_rows)} and {len(use_rows)}")
    runs = run_summaries(use_rows)
    all_pairs = pair_summaries(runs, mdl_rows, threshold=threshold)
    conv_pairs = pair_summaries(runs, mdl_rows, threshold=threshold, only_converged=True)
    subsets = {
        "all": all_pairs,
        "converged": conv_pairs,
        "controlled": [p for p in all_pairs if p["controlled"]],
        "converged+controlled": [p for p in conv_pairs if p["controlled"]],
    }
    corr = pair_correlations(subsets, rates=rates, n_permutations=n_permutations, n_boot=n_boot, seed=seed)
    mdl = [{k: r.get(k, math.nan) for k in MDL_COLUMNS} for r in mdl_rows]
    points = [p | {"subset": s} for s, pts in subsets.items() for p in pts]
    runs_out = [{k: v for k, v in r.items() if k not in ("rates", "f1_by_rate")} for r in runs]
    return {"mdl": mdl, "runs": runs_out, "pairs": points, "correlations": corr}


def write_table(
    rows: Sequence[dict], csv_path, md_path=None, columns: Sequence[str] | None = None, caption: str = ""
) -> None:
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

"""One adapter per study table: the only place that knows each study's column names.

Each adapter takes the study's table (a DataFrame read from results/tables/) and returns a tidy
frame keyed by (scale, task) — or by task where the measure spans scales (study C) — with the
estimate and its CI. A missing column raises one error naming the table and the column, so a
study that renames its columns breaks here, loudly, and nowhere else."""

from __future__ import annotations

import pandas as pd

from sahlab.eft import knowledge as eft_knowledge
from sahlab.eval.scorers import MAIN_METRIC

# study C's row per task: the task's main metric, and for the grid's knowledge items (factuality by
# likelihood: the true value ranked first among the world's candidates) their cloze accuracy
EFT_METRIC = {**MAIN_METRIC, eft_knowledge.TASK: eft_knowledge.METRIC}


def require(df: pd.DataFrame, table: str, columns) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(
            f"synthesis: table {table} lacks column(s) {missing} "
            f"(has {list(df.columns)}); adapt sahlab/synthesis/sources.py"
        )


def _scale(model: str) -> str:
    return model.rsplit("-", 1)[0]


def stage_gains(df: pd.DataFrame) -> pd.DataFrame:
    """tables/stage_gains.csv (this module's own paired stage contrasts) -> one row per
    (scale, task) with `<contrast>`, `<contrast>_ci_low`, `<contrast>_ci_high` columns."""
    require(df, "stage_gains.csv", ["scale", "task", "contrast", "gain", "ci_low", "ci_high"])
    out = {}
    for r in df.itertuples(index=False):
        row = out.setdefault((r.scale, r.task), {"scale": r.scale, "task": r.task})
        row.update({r.contrast: r.gain, f"{r.contrast}_ci_low": r.ci_low, f"{r.contrast}_ci_high": r.ci_high})
    return pd.DataFrame(list(out.values()), columns=None if out else ["scale", "task"])


def scaling_exponents(df: pd.DataFrame) -> pd.DataFrame:
    """tables/scaling_fits.csv -> (scale, task, A_alpha [+ CI], A_format_N, A_gain_after_format
    [+ CI]).

    The paper's exponent α of performance = C·N^α (log-log line on the non-saturated N) of the
    scale's *pre-trained* model (the paper fine-tunes base models); A_format_N is the N from which
    format errors stay below the threshold, and A_gain_after_format the performance gained from
    there to the largest N (the paper: a handful of examples align the style, performance keeps
    rising)."""
    require(
        df,
        "scaling_fits.csv",
        [
            "model",
            "task",
            "alpha",
            "alpha_ci_low",
            "alpha_ci_high",
            "format_vanish_N",
            "gain_after_format",
            "gain_ci_low",
            "gain_ci_high",
        ],
    )
    base = df[df.model.str.endswith("-base")]
    return pd.DataFrame(
        {
            "scale": base.model.map(_scale),
            "task": base.task,
            "A_alpha": base.alpha,
            "A_alpha_ci_low": base.alpha_ci_low,
            "A_alpha_ci_high": base.alpha_ci_high,
            "A_format_N": base.format_vanish_N,
            "A_gain_after_format": base.gain_after_format,
            "A_gain_after_format_ci_low": base.gain_ci_low,
            "A_gain_after_format_ci_high": base.gain_ci_high,
        }
    ).reset_index(drop=True)


def complexity_reduction(df: pd.DataFrame, target: str = "pre_best") -> pd.DataFrame:
    """tables/complexity_headline.csv -> (scale, task, B_delta, B_reduction [+ CI]) at the
    paper's δ (the pre-trained model's best performance): bits(pre) / bits(post)."""
    require(
        df,
        "complexity_headline.csv",
        ["scale", "task", "target", "delta", "reduction", "reduction_ci_low", "reduction_ci_high"],
    )
    sub = df[df.target == target]
    if sub.empty:
        raise ValueError(
            f"synthesis: complexity_headline.csv has no rows with target {target!r} "
            f"(targets: {sorted(df.target.unique())})"
        )
    return pd.DataFrame(
        {
            "scale": sub.scale,
            "task": sub.task,
            "B_delta": sub.delta,
            "B_reduction": sub.reduction,
            "B_reduction_ci_low": sub.reduction_ci_low,
            "B_reduction_ci_high": sub.reduction_ci_high,
        }
    ).reset_index(drop=True)


CEILING_COLUMNS = ("scale", "task", "main_arm", "ceiling_task_bits", "saved_over_ceiling")


def complexity_ceiling(df: pd.DataFrame | None) -> pd.DataFrame:
    """tables/complexity_dose.csv (study B's dose-response, optional) -> (scale, task,
    B_ceiling_bits, B_saved_over_ceiling) of the main post-training arm: L(D_post | base) of the
    task's share of the post-training data, and the bits the post-trained model saves at the
    paper's δ as a share of it; an empty frame when the run has no such table."""
    if df is None:
        return pd.DataFrame(columns=["scale", "task"])
    require(df, "complexity_dose.csv", CEILING_COLUMNS)
    sub = df[df.main_arm.astype(str).str.lower() == "true"].drop_duplicates(["scale", "task"])
    return pd.DataFrame(
        {
            "scale": sub.scale,
            "task": sub.task,
            "B_ceiling_bits": sub.ceiling_task_bits,
            "B_saved_over_ceiling": sub.saved_over_ceiling,
        }
    ).reset_index(drop=True)


def eft_gains(df: pd.DataFrame) -> pd.DataFrame:
    """tables/eft_gains.csv -> (task, C_ft, C_pt, C_pt_minus_ft, each with CI) on the task's main
    metric (`EFT_METRIC`; the knowledge items: cloze accuracy). Both contrasts span the two
    scales, so they belong to the task, not to one scale."""
    require(
        df,
        "eft_gains.csv",
        [
            "task",
            "metric",
            "ft_gain",
            "ft_ci_low",
            "ft_ci_high",
            "pt_gain",
            "pt_ci_low",
            "pt_ci_high",
            "pt_minus_ft",
            "pt_minus_ft_ci_low",
            "pt_minus_ft_ci_high",
        ],
    )
    main = df[[EFT_METRIC.get(t) == m for t, m in zip(df.task, df.metric)]]
    return pd.DataFrame(
        {
            "task": main.task,
            "C_ft": main.ft_gain,
            "C_ft_ci_low": main.ft_ci_low,
            "C_ft_ci_high": main.ft_ci_high,
            "C_pt": main.pt_gain,
            "C_pt_ci_low": main.pt_ci_low,
            "C_pt_ci_high": main.pt_ci_high,
            "C_pt_minus_ft": main.pt_minus_ft,
            "C_pt_minus_ft_ci_low": main.pt_minus_ft_ci_low,
            "C_pt_minus_ft_ci_high": main.pt_minus_ft_ci_high,
        }
    ).reset_index(drop=True)


# Study D's extractability for the synthesis when a run measured several probe families: Lovering's
# fine-tuning probe first (it trains the whole model, as the fine-tuning it predicts does).
INDUCTIVE_PROBE_ORDER = ("finetune", "linear", "mlp")


def inductive_rho(
    df: pd.DataFrame, measure: str = "s_only_error", subset: str = "converged", probe: str | None = None
) -> pd.DataFrame:
    """tables/inductive_correlations.csv -> (scale, task='features', D_rho_<method> [+ CI, p]):
    Spearman ρ over feature pairs between relative extractability and the spurious feature's
    use (error on spurious-only items), one column group per fine-tuning method. `subset`:
    "converged" by default — a run counts only if its policy learnt its training rows (an
    unconverged policy that gives one answer to everything "uses" the spurious feature without
    having been fine-tuned to the target; STUDY.md, issue 15). `probe`: the probe family whose
    extractability is used; None = the first of INDUCTIVE_PROBE_ORDER the table has (one value
    per method, never a mix of probes)."""
    require(
        df,
        "inductive_correlations.csv",
        ["model", "method", "probe", "subset", "measure", "rho", "p_exact", "ci_low", "ci_high"],
    )
    have = list(dict.fromkeys(df.probe))
    if probe is None:
        probe = next((p for p in INDUCTIVE_PROBE_ORDER if p in have), have[0] if have else None)
    elif probe not in have:
        raise ValueError(f"inductive_correlations.csv: no rows of probe {probe!r}; it has {have}")
    sub = df[(df.subset == subset) & (df.measure == measure) & (df.probe == probe)]
    out: dict[str, dict] = {}
    for r in sub.itertuples(index=False):
        scale = _scale(r.model)
        row = out.setdefault(scale, {"scale": scale, "task": "features"})
        row.update(
            {
                f"D_rho_{r.method}": r.rho,
                f"D_rho_{r.method}_ci_low": r.ci_low,
                f"D_rho_{r.method}_ci_high": r.ci_high,
                f"D_rho_{r.method}_p": r.p_exact,
            }
        )
    return pd.DataFrame(list(out.values()), columns=None if out else ["scale", "task"])

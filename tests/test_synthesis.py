"""The synthesis of the four studies: adapters, paired stage gains, verdicts by rule, timings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import unpad
from sahlab.synthesis import sources, table
from sahlab.synthesis.stage_gains import gains_rows, paired_gain
from sahlab.synthesis.verdicts import judge, load_claims, verdict_rows
from sahlab.timing import split_timings


# ------------------------------------------------------------------------------ verdicts
def test_ci_on_the_claimed_side_is_supported():
    assert judge(0.3, 0.1, 0.5, direction=">")["verdict"] == "supported"
    assert judge(-0.3, -0.5, -0.1, direction="<")["verdict"] == "supported"


def test_ci_on_the_other_side_or_ending_at_the_null_is_not_supported():
    assert judge(-0.3, -0.5, -0.1, direction=">")["verdict"] == "not supported"
    assert judge(0.0, 0.0, 0.0, direction=">")["verdict"] == "not supported"


def test_ci_that_rules_out_the_papers_effect_is_not_supported():
    r = judge(5.0, 0.8, 20.0, direction=">", null=1, paper=1000, log=True)
    assert r["verdict"] == "not supported" and "paper" in r["reason"]


def test_ci_allowing_both_readings_is_inconclusive_with_power():
    r = judge(0.05, -0.05, 0.15, direction=">", paper=0.1)
    assert r["verdict"] == "inconclusive"
    se = 0.2 / (2 * 1.959964)
    assert r["mde_80"] == pytest.approx(2.8016 * se, rel=1e-3)  # 2.8 × SE at α = 0.05
    # power to detect 0.1 with SE ≈ 0.051: Φ(0.1/SE − 1.96) ≈ 0.5
    assert r["power_paper"] == pytest.approx(0.5, abs=0.02)
    assert judge(0.05, -0.05, 0.15, direction=">", paper=1.0)["power_paper"] > 0.99


def test_missing_estimate_or_ci_is_na_and_bad_direction_is_an_error():
    assert judge(float("nan"), 0.1, 0.2, direction=">")["verdict"] == "n/a"
    assert judge(0.1, None, 0.2, direction=">")["verdict"] == "n/a"
    with pytest.raises(ValueError, match="direction"):
        judge(0.1, 0.0, 0.2, direction="!=")


def test_exact_p_value_must_also_be_below_alpha():
    assert judge(-0.8, -0.95, -0.2, direction="<", p_value=0.01)["verdict"] == "supported"
    r = judge(-0.8, -0.95, -0.2, direction="<", p_value=0.08)
    assert r["verdict"] == "inconclusive" and "p =" in r["reason"]
    # the other side needs the same: ρ = 1 over 3 pairs (bootstrap CI [1, 1], exact p 1/3)
    r = judge(1.0, 1.0, 1.0, direction="<", p_value=1 / 3)
    assert r["verdict"] == "inconclusive" and "p =" in r["reason"]
    assert judge(0.9, 0.5, 0.99, direction="<", p_value=0.01)["verdict"] == "not supported"


def test_alpha_rescales_the_95_percent_interval():
    # [0.02, 0.18] around 0.1 at 95 %: at α = 0.01 the interval widens past 0
    assert judge(0.1, 0.02, 0.18, direction=">", alpha=0.05)["verdict"] == "supported"
    r = judge(0.1, 0.02, 0.18, direction=">", alpha=0.01)
    assert r["verdict"] == "inconclusive" and r["ci_low"] < 0


def test_ratio_judged_on_log_scale_with_infinite_ends():
    r = judge(0.0, 0.0, 0.5, direction=">", null=1, paper=1000, log=True)
    assert r["verdict"] == "not supported"  # post-trained never reaches δ: reduction 0
    assert judge(50.0, 2.0, math.inf, direction=">", null=1, log=True)["verdict"] == "supported"


def test_claims_file_lists_each_papers_claim_with_a_source(tmp_path):
    from conftest import REPO

    claims = load_claims(REPO / "report/claims.yaml")
    assert {c["study"][0] for c in claims} == {"A", "B", "C", "D"}
    assert all(c["source"] and c.get("quote") for c in claims)
    bad = tmp_path / "claims.yaml"
    bad.write_text("claims:\n  - {id: X, study: A}\n")
    with pytest.raises(ValueError, match="X.*lacks"):
        load_claims(bad)


def test_verdict_rows_cover_each_scope_and_name_a_missing_column():
    claims = [
        {"id": "T", "study": "A", "claim": "b > 0", "source": "s", "column": "A_b", "direction": ">"},
        {
            "id": "E",
            "study": "C",
            "claim": "ft > 0",
            "source": "s",
            "column": "C_ft",
            "direction": ">",
            "per": "task",
            "tasks": ["math"],
        },
        {"id": "M", "study": "B", "claim": "x", "source": "s", "column": "B_nope", "direction": ">"},
    ]
    syn = pd.DataFrame(
        {
            "scale": ["small", "large", "small"],
            "task": ["math", "math", "features"],
            "A_b": [0.2, -0.1, np.nan],
            "A_b_ci_low": [0.1, -0.2, np.nan],
            "A_b_ci_high": [0.3, -0.05, np.nan],
            "C_ft": [0.1, 0.1, np.nan],
            "C_ft_ci_low": [-0.1, -0.1, np.nan],
            "C_ft_ci_high": [0.3, 0.3, np.nan],
        }
    )
    rows = verdict_rows(claims, syn, alpha=0.05)
    got = {(r["claim"], r["scope"]): r["verdict"] for r in rows}
    assert got == {
        ("T", "small / math"): "supported",
        ("T", "large / math"): "not supported",
        ("E", "math"): "inconclusive",
        ("M", ""): "n/a",
    }
    assert "B_nope" in [r for r in rows if r["claim"] == "M"][0]["reason"]


# ------------------------------------------------------------------------------ adapters
def test_adapters_name_the_missing_column():
    with pytest.raises(KeyError, match="scaling_fits.csv.*alpha_ci_low"):
        sources.scaling_exponents(pd.DataFrame({"model": ["small-base"], "task": ["math"], "alpha": [0.1]}))
    with pytest.raises(KeyError, match="complexity_dose.csv.*saved_over_ceiling"):
        sources.complexity_ceiling(pd.DataFrame({"scale": ["small"], "task": ["math"]}))
    with pytest.raises(KeyError, match="eft_gains.csv"):
        sources.eft_gains(pd.DataFrame({"task": ["math"]}))


def _inductive_corr(probes, subset="converged"):
    return pd.DataFrame(
        [
            {
                "model": "small-base",
                "method": m,
                "probe": pr,
                "subset": subset,
                "measure": "s_only_error",
                "rho": rho,
                "p_exact": 0.5,
                "ci_low": rho - 0.5,
                "ci_high": rho + 0.5,
            }
            for pr, rho in probes
            for m in ("grpo", "sft")
        ]
    )


def test_inductive_rho_uses_one_probe_finetune_first():
    both = _inductive_corr([("linear", -0.2), ("finetune", -0.7)])
    row = sources.inductive_rho(both).iloc[0]
    assert (row.scale, row.D_rho_grpo, row.D_rho_sft) == ("small", -0.7, -0.7)  # never a mix
    assert sources.inductive_rho(both, probe="linear").iloc[0].D_rho_grpo == -0.2
    assert sources.inductive_rho(_inductive_corr([("linear", -0.2)])).iloc[0].D_rho_sft == -0.2
    with pytest.raises(ValueError, match="probe 'mlp'"):
        sources.inductive_rho(both, probe="mlp")


def test_inductive_rho_reads_converged_runs_only():
    # the claim is about fine-tuned policies: unconverged runs (subset "all") never reach D1
    table = pd.concat([_inductive_corr([("linear", -0.9)], "all"), _inductive_corr([("linear", 0.1)])])
    assert sources.inductive_rho(table).iloc[0].D_rho_grpo == 0.1
    assert sources.inductive_rho(table, subset="all").iloc[0].D_rho_grpo == -0.9


def _stage_gains():
    rows = [
        {"scale": s, "task": t, "contrast": "post_own", "gain": g, "ci_low": g - 0.1, "ci_high": g + 0.1}
        for s in ("small", "large")
        for t, g in (("math", 0.2), ("multihop", 0.0))
    ]
    return pd.DataFrame(rows)


def test_build_leaves_tasks_a_study_does_not_cover_blank():
    fits = pd.DataFrame(
        {
            "model": ["small-base", "small-post"],
            "task": ["math", "math"],
            "alpha": [0.3, 0.9],
            "alpha_ci_low": [0.1, 0.5],
            "alpha_ci_high": [0.5, 1.2],
            "format_vanish_N": [16, 1],
            "gain_after_format": [0.2, 0.1],
            "gain_ci_low": [0.1, 0.0],
            "gain_ci_high": [0.3, 0.2],
        }
    )
    eft = pd.DataFrame(
        {
            "task": ["math", "math"],
            "metric": ["accuracy", "format"],
            "ft_gain": [0.1, 0.5],
            "ft_ci_low": [0.0, 0.4],
            "ft_ci_high": [0.2, 0.6],
            "pt_gain": [0.2, 0.0],
            "pt_ci_low": [0.1, 0.0],
            "pt_ci_high": [0.3, 0.0],
            "pt_minus_ft": [0.1, -0.5],
            "pt_minus_ft_ci_low": [0.0, -0.6],
            "pt_minus_ft_ci_high": [0.2, -0.4],
        }
    )
    df = table.build({"stage_gains": _stage_gains(), "scaling_fits": fits, "eft_gains": eft})
    small_math = df[(df.scale == "small") & (df.task == "math")].iloc[0]
    assert (small_math.A_alpha, small_math.A_format_N) == (
        0.3,
        16,
    )  # the pre-trained model's fit, not the post-trained one's
    assert small_math.C_ft == 0.1  # the task's main metric (accuracy), not the format score
    assert df[(df.scale == "large") & (df.task == "math")].A_alpha.isna().all()  # not covered: blank
    assert df[df.task == "multihop"].C_ft.isna().all()
    md = unpad(table.markdown(df))
    assert "| small | math |" in md and "0.3 [0.1, 0.5]" in md


# ------------------------------------------------------------------------------ stage gains
def _recs(correct, ids=None):
    return [{"id": i, "correct": c} for i, c in zip(ids or range(len(correct)), correct)]


def test_paired_gain_is_the_difference_on_the_same_items():
    rng = np.random.default_rng(0)
    base = rng.random(200) < 0.3
    post = base | (rng.random(200) < 0.2)  # post gets every item base gets, plus some
    g = paired_gain("accuracy", _recs(post), _recs(base), n_boot=500, seed=0)
    assert g["gain"] == pytest.approx(post.mean() - base.mean())
    assert 0 < g["ci_low"] < g["gain"] < g["ci_high"]
    # pairing: the interval is narrower than the independent-samples one would be
    se_indep = math.sqrt(post.mean() * (1 - post.mean()) / 200 + base.mean() * (1 - base.mean()) / 200)
    assert g["ci_high"] - g["ci_low"] < 2 * 1.96 * se_indep


def test_paired_gain_refuses_different_items():
    with pytest.raises(ValueError, match="different items"):
        paired_gain(
            "accuracy", _recs([1, 0], ids=["a", "b"]), _recs([1, 0], ids=["b", "a"]), n_boot=10, seed=0
        )


def test_gains_rows_skip_contrasts_whose_stage_is_missing():
    recs = {
        ("small", "base", "native", "math"): _recs([1, 0, 1, 1]),
        ("small", "random", "native", "math"): _recs([0, 0, 0, 1]),
    }
    rows = gains_rows(recs, {"math": "accuracy"}, n_boot=50, seed=0)
    assert [(r["contrast"], r["gain"]) for r in rows] == [("base_native", 0.5)]


# ------------------------------------------------------------------------------ timings
def test_split_timings_moves_wall_clock_fields_out():
    clean, t = split_timings(
        {
            "loss": 1.0,
            "seconds": 3.2,
            "log_history": [
                {"loss": 0.5, "step": 1},
                {"train_runtime": 9.1, "train_samples_per_second": 4.0, "step": 2},
            ],
            "summary": {"seconds_per_step": 0.1, "steps": 2},
        }
    )
    assert clean == {
        "loss": 1.0,
        "log_history": [{"loss": 0.5, "step": 1}, {"step": 2}],
        "summary": {"steps": 2},
    }
    assert t == {
        "seconds": 3.2,
        "log_history[1].train_runtime": 9.1,
        "log_history[1].train_samples_per_second": 4.0,
        "summary.seconds_per_step": 0.1,
    }


def test_figure_colours_each_estimate_by_the_reading_its_ci_supports(tmp_path):
    from sahlab.figures.synthesis import READINGS, reading

    assert reading(0.1, 0.3, 0.0, "ability", "format") == "ability"
    assert reading(-0.3, -0.1, 0.0, "ability", "format") == "format"
    assert reading(0.0, 0.0, 0.0, "ability", "format") == "format"  # pinned at the null
    assert reading(-0.1, 0.1, 0.0, "ability", "format") == "both"
    assert set(READINGS) == {"format", "ability", "both"}
    from sahlab.figures.synthesis import plot

    df = table.build({"stage_gains": _stage_gains()})
    df["B_reduction"], df["B_reduction_ci_low"], df["B_reduction_ci_high"] = 0.0, 0.0, math.inf
    plot(df, [tmp_path / "s.png"])
    assert (tmp_path / "s.png").stat().st_size > 10_000


def test_a_claim_without_an_estimate_still_gets_an_na_row():
    claims = [
        {
            "id": "Z",
            "study": "A",
            "claim": "α > 0",
            "source": "s",
            "column": "A_alpha",
            "direction": ">",
            "null_value": 0,
            "tasks": ["math"],
        }
    ]
    df = pd.DataFrame(
        {
            "scale": ["small"],
            "task": ["translation"],
            "A_alpha": [0.2],
            "A_alpha_ci_low": [0.1],
            "A_alpha_ci_high": [0.3],
        }
    )
    rows = verdict_rows(claims, df, alpha=0.05)
    assert [(r["claim"], r["verdict"]) for r in rows] == [("Z", "n/a")]
    assert "math" in rows[0]["reason"]


def test_knowledge_row_of_study_c_gets_a_row_per_scale_and_decides_c4():
    """The grid's knowledge items (factuality by likelihood) exist only in study C: the synthesis
    gives them a row per scale with their cloze-accuracy gains, and claim C4 reads that row."""
    from conftest import REPO

    eft = pd.DataFrame(
        {
            "task": ["knowledge", "knowledge", "multihop"],
            "metric": ["cloze_accuracy", "format", "exact_match"],
            "ft_gain": [-0.1, 0.9, 0.2],
            "ft_ci_low": [-0.2, 0.8, 0.1],
            "ft_ci_high": [0.0, 1.0, 0.3],
            "pt_gain": [0.1, 0.0, 0.1],
            "pt_ci_low": [0.05, 0.0, 0.0],
            "pt_ci_high": [0.15, 0.0, 0.2],
            "pt_minus_ft": [0.2, -0.9, -0.1],
            "pt_minus_ft_ci_low": [0.1, -1.0, -0.2],
            "pt_minus_ft_ci_high": [0.3, -0.8, -0.01],
        }
    )
    df = table.build({"stage_gains": _stage_gains(), "eft_gains": eft})
    know = df[df.task == "knowledge"]
    assert sorted(know.scale) == ["large", "small"]
    assert (know.C_pt_minus_ft == 0.2).all()  # cloze accuracy, not another metric of the task
    assert know.post_own.isna().all()  # no stage gain of its own: blank, not invented
    claims = [c for c in load_claims(REPO / "report/claims.yaml") if c["id"] == "C4"]
    rows = verdict_rows(claims, df, alpha=0.05)
    assert [(r["scope"], r["estimate"], r["verdict"]) for r in rows] == [("knowledge", 0.2, "supported")]

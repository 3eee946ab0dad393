"""Feature-use statistics of sahlab.inductive.features_stats, checked against hand counts and scipy."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import scipy.stats

from sahlab.inductive.features_stats import (
    bootstrap_ci,
    correlation_summary,
    evidence_required,
    feature_use,
    fit_logistic,
    logistic_curve,
    pearson,
    permutation_test,
    section_metrics,
    spearman,
)


# --------------------------------------------------------------------------- sections
def test_section_metrics_by_hand():
    sections = ["both"] * 4 + ["neither"] * 4 + ["spurious_only"] * 4 + ["target_only"] * 4
    pred = [1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, -1]
    m = section_metrics(sections, pred)
    assert m["both"]["accuracy"] == 0.75 and m["both"]["f1"] == pytest.approx(2 * 3 / (2 * 3 + 1))
    assert m["neither"]["accuracy"] == 0.75 and m["neither"]["f1"] == 0.0
    assert m["spurious_only"]["positive_rate"] == 0.5
    # target_only: TP=1, FN=3 (the invalid -1 counts as a wrong, non-positive answer)
    assert m["target_only"]["accuracy"] == 0.25
    assert m["target_only"]["f1"] == pytest.approx(2 * 1 / (2 * 1 + 3))
    assert m["target_only"]["invalid_rate"] == 0.25
    # all: TP = 3 + 1, FP = 1 + 2, FN = 1 + 3
    assert m["all"]["f1"] == pytest.approx(8 / (8 + 3 + 4))
    assert m["all"]["accuracy"] == pytest.approx((3 + 3 + 2 + 1) / 16)
    # nothing predicted positive among negatives only: F1 is 0/0
    assert math.isnan(section_metrics(["neither"], [0])["neither"]["f1"])
    with pytest.raises(ValueError, match="unknown section"):
        section_metrics(["s-only"], [1])


def test_feature_use_extremes():
    sections = np.repeat(["both", "neither", "spurious_only", "target_only"], 5).tolist()
    spurious_present = np.array([s in ("both", "spurious_only") for s in sections], dtype=int)
    target_present = np.array([s in ("both", "target_only") for s in sections], dtype=int)
    by_spurious = feature_use(section_metrics(sections, spurious_present))
    by_target = feature_use(section_metrics(sections, target_present))
    assert by_spurious == {
        "spurious_use": 1.0,
        "target_use": 0.0,
        "spurious_preference": 1.0,
        "accuracy_gap": 1.0,
    }
    assert by_target == {
        "spurious_use": 0.0,
        "target_use": 1.0,
        "spurious_preference": 0.0,
        "accuracy_gap": 0.0,
    }
    always_yes = feature_use(section_metrics(sections, np.ones(20, dtype=int)))
    assert always_yes["spurious_preference"] == 0.5
    with pytest.raises(ValueError, match="target_only"):
        feature_use(section_metrics(sections[:15], spurious_present[:15]))


def test_evidence_required():
    rates = [0.0, 0.001, 0.01, 0.1, 0.5]
    assert evidence_required(rates, [0.5, 0.9, 0.995, 1.0, 1.0]) == 0.01
    assert evidence_required(rates, [0.5, 0.9, 0.99, 0.991, 1.0]) == 0.1  # strictly above 0.99
    assert evidence_required(rates, [0.5] * 5) == math.inf
    # seeds are averaged per rate: at 0.01 the mean is 0.98, at 0.1 it is 0.995
    assert evidence_required([0.01, 0.01, 0.1, 0.1], [1.0, 0.96, 0.99, 1.0]) == 0.1
    with pytest.raises(ValueError, match="equal-length"):
        evidence_required([0.1], [0.9, 1.0])


# --------------------------------------------------------------------------- correlations
def test_spearman_and_pearson_equal_scipy_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 6, 25).astype(float)  # many ties
        y = x + rng.normal(0, 2, 25)
        y[:5] = y[0]
        assert spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
        assert pearson(x, y) == pytest.approx(scipy.stats.pearsonr(x, y).statistic, abs=1e-12)
    with pytest.raises(ValueError, match="constant"):
        spearman([1, 1, 1, 1], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="finite"):
        pearson([1, 2, math.inf], [1, 2, 3])


def test_permutation_p_of_perfect_monotone_relation_is_small():
    x = np.arange(10.0)
    y = np.exp(x)  # monotone, not linear
    res = permutation_test(x, y, "spearman", n_permutations=10_000, seed=0, exact=False)
    assert res["statistic"] == pytest.approx(1.0)
    assert not res["exact"]
    # only 2 of 10! orderings reach |rho| = 1, so almost surely no random one does
    assert res["p_value"] == pytest.approx(1 / 10_001)
    assert res["p_value"] < 0.01


def test_exact_permutation_p_by_counting():
    # n=5: all 120 orderings; |rho| = 1 only for the identity and the reversal
    x, y = np.arange(5.0), np.arange(5.0) ** 3
    two = permutation_test(x, y, "spearman", n_permutations=10_000)
    assert two["exact"] and two["n_permutations"] == 120
    assert two["p_value"] == pytest.approx(2 / 120)
    assert permutation_test(x, y, "spearman", alternative="greater")["p_value"] == pytest.approx(1 / 120)
    assert permutation_test(x, y, "spearman", alternative="less")["p_value"] == pytest.approx(1.0)


def test_permutation_p_of_independent_data_is_uniform():
    rng = np.random.default_rng(1)
    ps = np.array(
        [
            permutation_test(
                rng.normal(size=15), rng.normal(size=15), "pearson", n_permutations=1000, seed=i
            )["p_value"]
            for i in range(300)
        ]
    )
    assert scipy.stats.kstest(ps, "uniform").pvalue > 0.001
    assert 0.01 <= np.mean(ps < 0.05) <= 0.10


def test_permutation_p_agrees_with_parametric_p_for_normal_data():
    rng = np.random.default_rng(2)
    x = rng.normal(size=40)
    y = 0.35 * x + rng.normal(size=40)
    perm = permutation_test(x, y, "pearson", n_permutations=20_000, seed=0)["p_value"]
    assert perm == pytest.approx(scipy.stats.pearsonr(x, y).pvalue, abs=0.01)


def test_permutation_test_is_fast_and_seeded():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=40), rng.normal(size=40)
    t = time.perf_counter()
    a = permutation_test(x, y, "spearman", n_permutations=10_000, seed=5)
    assert time.perf_counter() - t < 2.0
    assert a == permutation_test(x, y, "spearman", n_permutations=10_000, seed=5)


def test_bootstrap_ci_and_summary():
    rng = np.random.default_rng(4)
    x = rng.normal(size=30)
    y = 2 * x + 0.3 * rng.normal(size=30)
    ci = bootstrap_ci(x, y, "spearman", n_boot=2000, seed=0)
    rho = spearman(x, y)
    assert ci["ci_low"] <= rho <= ci["ci_high"] and ci["ci_low"] > 0.7
    noise = bootstrap_ci(x, rng.normal(size=30), "pearson", n_boot=2000, seed=0)
    assert noise["ci_low"] < 0 < noise["ci_high"]
    s = correlation_summary(x, y, n_permutations=2000, n_boot=1000, seed=0)
    assert s["spearman"]["value"] == pytest.approx(rho)
    assert s["pearson"]["p_value"] < 0.001 and s["n"] == 30
    # a resample of a 3-point set is constant fairly often: those are counted, not crashed on
    assert bootstrap_ci([1, 2, 3], [1, 3, 2], n_boot=500)["n_degenerate"] > 0


# --------------------------------------------------------------------------- logistic curve
def test_fit_logistic_recovers_a_known_curve():
    x = np.geomspace(0.1, 10, 25)
    a, b = 0.4, -1.7
    use = 1 / (1 + np.exp(-(a + b * np.log(x))))
    fit = fit_logistic(x, use, log_x=True)
    assert fit["intercept"] == pytest.approx(a, abs=1e-3)
    assert fit["slope"] == pytest.approx(b, abs=1e-3)
    assert fit["x_mid"] == pytest.approx(math.exp(-a / b), rel=1e-3)
    assert np.allclose(logistic_curve(fit, x), use, atol=1e-4)
    lin = fit_logistic(np.log(x), use, log_x=False)
    assert lin["slope"] == pytest.approx(b, abs=1e-3)
    with pytest.raises(ValueError, match="x > 0"):
        fit_logistic([0.0, 1.0], [0.2, 0.4])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fit_logistic([1.0, 2.0], [0.2, 1.4])


# --------------------------------------------------------------------------- pair-level tests
def test_exact_p_of_a_perfect_monotone_relation_over_n_pairs():
    import math

    from sahlab.inductive.features_stats import permutation_test

    for n in (5, 8, 9):
        x = np.linspace(0.3, 3.0, n)
        out = permutation_test(x, -(x**2), "spearman", n_permutations=100)
        assert out["exact"] and out["statistic"] == pytest.approx(-1.0)
        # only the identity and the reversal are as extreme: p = 2 / n!
        assert out["p_value"] == pytest.approx(2 / math.factorial(n))


def test_exact_test_is_calibrated_on_null_data():
    """With 8 independent pairs the exact test rejects at most alpha of the time (its size is
    ≤ 0.05, and close to it): pseudo-replicating seeds would push this far above 0.05."""
    from sahlab.inductive.features_stats import permutation_test

    rng = np.random.default_rng(7)
    p = np.array(
        [permutation_test(rng.normal(size=8), rng.normal(size=8), "spearman")["p_value"] for _ in range(300)]
    )
    rate = np.mean(p <= 0.05)
    assert 0.015 <= rate <= 0.085  # binomial(300, ≈0.048): 3 s.d. ≈ 0.037
    assert 0.4 < np.mean(p) < 0.6  # p is (discretely) uniform under H0


def test_critical_values_match_the_published_spearman_table():
    from sahlab.inductive.features_stats import spearman_critical_value, spearman_power

    # two-sided alpha = 0.05 (e.g. Zar, Biostatistical Analysis, table B.20)
    assert round(spearman_critical_value(6), 3) == 0.886
    assert round(spearman_critical_value(8), 3) == 0.738
    assert round(spearman_critical_value(9), 3) == 0.700
    assert np.isnan(spearman_critical_value(4))  # 2/4! = 0.083 > 0.05: no test can reject
    pw8, pw10 = spearman_power(8), spearman_power(10)
    assert pw8["critical_rho"] < pw8["rho_for_power"] < 1
    assert pw10["rho_for_power"] < pw8["rho_for_power"]  # more pairs detect weaker relations


def _runs(
    pairs_use: dict, seeds=(0, 1, 2), rates=(0.0, 0.1, 0.5), converged=lambda p, s: True, noise=0.0, seed=0
):
    rng = np.random.default_rng(seed)
    rows = []
    for pair, u in pairs_use.items():
        for s in seeds:
            for r in rates:
                su = float(np.clip(u + noise * rng.normal(), 0, 1))
                tu = 1.0 - su / 2
                rows.append(
                    {
                        "model": "m",
                        "pair": pair,
                        "method": "grpo",
                        "seed": s,
                        "rate": r,
                        "spurious_use": su,
                        "target_use": tu,
                        "spurious_preference": (su + 1 - tu) / 2,
                        "train_accuracy": 1.0 if converged(pair, s) else 0.6,
                        "converged": converged(pair, s),
                    }
                )
    return rows


def _mdl(xs: dict, acc=0.95):
    return [
        {
            "model": "m",
            "probe": "linear",
            "pair": p,
            "relative_extractability": x,
            "acc_target": acc,
            "acc_spurious": acc,
        }
        for p, x in xs.items()
    ]


def test_pair_level_correlation_uses_one_point_per_pair():
    import math

    from sahlab.inductive.analysis import summarise

    xs = {f"p{i}": x for i, x in enumerate([0.4, 0.6, 0.8, 1.0, 1.3, 1.7, 2.2, 3.0])}
    use = {p: 0.9 - 0.1 * i for i, p in enumerate(xs)}  # falls with x
    out = summarise(
        _mdl(xs), _runs(use), [0.0, 0.1, 0.5], threshold=0.99, n_permutations=1000, n_boot=500, seed=0
    )
    row = [r for r in out["correlations"] if r["subset"] == "all" and r["measure"] == "s_only_error"][0]
    assert row["n_pairs"] == 8 and row["converged_runs"] == "24/24"
    assert row["rho"] == pytest.approx(-1.0) and row["exact"]
    assert row["p_exact"] == pytest.approx(2 / math.factorial(8))
    assert row["ci_high"] == pytest.approx(-1.0) and row["verdict"] == "falls"
    assert row["critical_rho"] == pytest.approx(0.738, abs=1e-3)
    t_only = [r for r in out["correlations"] if r["subset"] == "all" and r["measure"] == "t_only_error"][0]
    assert t_only["rho"] == pytest.approx(-1.0)  # t-only error = s-only error / 2 here
    assert len([p for p in out["pairs"] if p["subset"] == "all"]) == 8


def test_converged_and_controlled_subsets():
    from sahlab.inductive.analysis import summarise

    xs = {f"p{i}": x for i, x in enumerate([0.4, 0.6, 0.8, 1.0, 1.3, 1.7])}
    use = {p: 0.9 - 0.1 * i for i, p in enumerate(xs)}
    # p0 never converges, p1 converges for one seed of three
    conv = lambda p, s: not (p == "p0" or (p == "p1" and s > 0))  # noqa: E731
    mdl = _mdl(xs)
    mdl[5]["acc_target"] = 0.7  # p5 is not "controlled"
    out = summarise(
        mdl,
        _runs(use, converged=conv),
        [0.0, 0.1, 0.5],
        threshold=0.99,
        n_permutations=1000,
        n_boot=200,
        seed=0,
    )
    by = {r["subset"]: r for r in out["correlations"] if r["measure"] == "s_only_error"}
    assert by["all"]["n_pairs"] == 6 and by["all"]["converged_runs"] == "13/18"
    assert by["converged"]["n_pairs"] == 5
    assert by["controlled"]["n_pairs"] == 5
    assert by["converged+controlled"]["n_pairs"] == 4
    p1 = [p for p in out["pairs"] if p["subset"] == "converged" and p["pair"] == "p1"][0]
    assert p1["n_seeds"] == 1 and p1["n_converged"] == 1
    # nothing converged: the subset still has a row that says so
    out = summarise(
        mdl,
        _runs(use, converged=lambda p, s: False),
        [0.0, 0.1, 0.5],
        threshold=0.99,
        n_permutations=100,
        n_boot=100,
        seed=0,
    )
    none = [r for r in out["correlations"] if r["subset"] == "converged"]
    assert none and all(
        r["n_pairs"] == 0 and "0 pair" in r["note"] and r["verdict"] == "inconclusive" for r in none
    )


def test_null_data_give_inconclusive_verdicts_mostly():
    """Independent use and extractability over 8 pairs: 'falls'/'rises' at most about alpha."""
    from sahlab.inductive.analysis import pair_correlations, pair_summaries, run_summaries

    rng = np.random.default_rng(3)
    verdicts = []
    for rep in range(40):
        xs = {f"p{i}": float(x) for i, x in enumerate(rng.lognormal(size=8))}
        use = {p: float(u) for p, u in zip(xs, rng.uniform(0.1, 0.9, size=8))}
        pts = pair_summaries(
            run_summaries(_runs(use, noise=0.05, seed=rep, seeds=(0,))), _mdl(xs), threshold=0.99
        )
        out = pair_correlations({"all": pts}, rates=[0.0, 0.5], n_permutations=200, n_boot=200, seed=rep)
        verdicts += [r["verdict"] for r in out if r["measure"] == "s_only_error"]
    assert sum(v != "inconclusive" for v in verdicts) <= 6  # E = 40 x <0.05 = 2


def test_too_few_pairs_are_explained():
    from sahlab.inductive.analysis import summarise

    xs = {"a": 0.5, "b": 1.0}
    out = summarise(
        _mdl(xs),
        _runs({"a": 0.2, "b": 0.8}),
        [0.0, 0.5],
        threshold=0.99,
        n_permutations=100,
        n_boot=100,
        seed=0,
    )
    row = out["correlations"][0]
    assert np.isnan(row["rho"]) and row["note"] and row["verdict"] == "inconclusive"

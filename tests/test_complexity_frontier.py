"""Pareto frontier, complexity at δ and reduction factors on hand-built point sets."""

import math

import pytest

from sahlab.complexity.frontier import (
    best_program_at,
    complexity_at,
    complexity_table,
    pareto_frontier,
    reduction_factor,
    step_curve,
)


def P(strategy, setting, bits, perf):
    return {"strategy": strategy, "setting": setting, "bits": bits, "performance": perf}


# pre-trained model: hand-checked frontier is baseline -> icl k=4 -> lora r=2 -> full
PRE = [
    P("baseline", "-", 1000, 0.05),
    P("icl", "k=1", 4000, 0.04),  # dominated by the baseline (more bits, worse)
    P("icl", "k=4", 9000, 0.20),
    P("lora", "r=1", 60000, 0.18),  # dominated by icl k=4
    P("lora", "r=2", 90000, 0.45),
    P("lora", "r=4", 150000, 0.45),  # same performance, more bits: dominated
    P("full", "16bit", 5_000_000, 0.676),
]
POST = [P("baseline", "-", 1000, 0.60), P("icl", "k=2", 4224, 0.795)]


def test_frontier_matches_hand_computation():
    front = pareto_frontier(PRE)
    assert [(p["strategy"], p["setting"]) for p in front] == [
        ("baseline", "-"),
        ("icl", "k=4"),
        ("lora", "r=2"),
        ("full", "16bit"),
    ]
    bits, perf = step_curve(PRE)
    assert bits == [1000, 9000, 90000, 5_000_000]
    assert perf == [0.05, 0.20, 0.45, 0.676]


def test_complexity_at_targets():
    assert complexity_at(PRE, 0.0) == 1000
    assert complexity_at(PRE, 0.05) == 1000  # >= delta, inclusive
    assert complexity_at(PRE, 0.19) == 9000
    assert complexity_at(PRE, 0.45) == 90000
    assert complexity_at(PRE, 0.6) == 5_000_000
    assert complexity_at(PRE, 0.7) == math.inf
    assert best_program_at(PRE, 0.3)["setting"] == "r=2"
    assert best_program_at(PRE, 0.9) is None
    rows = complexity_table(PRE, [0.1, 0.9])
    assert rows[0] == {"delta": 0.1, "bits": 9000, "strategy": "icl", "setting": "k=4", "performance": 0.20}
    assert rows[1]["bits"] == math.inf and rows[1]["strategy"] is None


def test_reduction_factor():
    assert reduction_factor(PRE, POST, 0.6) == pytest.approx(5_000_000 / 1000)
    assert reduction_factor(PRE, POST, 0.65) == pytest.approx(5_000_000 / 4224)
    assert reduction_factor(PRE, POST, 0.7) == math.inf  # only post reaches 0.7
    assert reduction_factor(POST, PRE, 0.7) == 0.0
    assert math.isnan(reduction_factor(PRE, POST, 0.99))  # nobody reaches it
    zero = [P("baseline", "-", 0, 0.5)]
    assert reduction_factor(zero, zero, 0.5) == 1.0
    assert reduction_factor(PRE, zero, 0.05) == math.inf


def test_ties_are_deterministic_and_input_order_free():
    pts = [P("lora", "r=1", 10, 0.5), P("icl", "k=1", 10, 0.5), P("x", "y", 5, 0.1)]
    a, b = pareto_frontier(pts), pareto_frontier(list(reversed(pts)))
    assert a == b
    assert [p["strategy"] for p in a] == ["x", "icl"]


def test_bad_points_are_reported():
    with pytest.raises(ValueError, match="lacks"):
        pareto_frontier([{"bits": 1, "performance": 0.1}])
    with pytest.raises(ValueError, match="bits must be >= 0"):
        pareto_frontier([P("a", "b", -1, 0.1)])
    with pytest.raises(ValueError, match="performance=nan"):
        pareto_frontier([P("a", "b", 1, float("nan"))])


# ------------------------------------------------------------------- the paper's headline, CIs
def _pt(strategy, bits, perf, boot, perf_eval=None):
    return {
        "strategy": strategy,
        "setting": "s",
        "bits": bits,
        "performance": perf,
        "performance_eval": perf_eval,
        "boot": boot,
    }


def _ev(strategy, bits, perf, perf_eval, boot_eval):
    """A program chosen on the selection split (perf) and scored on the evaluation split."""
    return {**_pt(strategy, bits, perf, [], perf_eval), "boot_eval": boot_eval}


def test_headline_is_the_pre_trained_best_and_the_post_trained_bits_to_match_it():
    from sahlab.complexity.summary import headline_rows

    pre = [
        _ev("baseline", 3000, 0.10, 0.09, [0.09, 0.10, 0.08]),
        _ev("lora", 80_000, 0.40, 0.38, [0.38, 0.30, 0.45]),
    ]
    post = [
        _ev("baseline", 3000, 0.35, 0.33, [0.33, 0.36, 0.30]),
        _ev("icl", 9000, 0.42, 0.41, [0.41, 0.40, 0.46]),
        _pt("icl", 50, 0.9, [0.9, 0.9, 0.9]),
    ]  # not checked on the evaluation split: ignored
    res = [
        {
            "model": "s-base",
            "task": "math",
            "metric": "accuracy",
            "points": pre,
            "n_select": 32,
            "n_eval": 200,
        },
        {"model": "s-post", "task": "math", "metric": "accuracy", "points": post},
    ]
    best, zero = headline_rows(res)
    # δ = the evaluation-split score of the program best on the selection split
    assert best["target"] == "pre_best" and best["delta"] == 0.38
    assert (best["pre_bits"], best["post_bits"]) == (80_000, 9000)  # icl is the cheapest ≥ 0.38
    assert best["reduction"] == pytest.approx(80_000 / 9000)
    assert best["pre_performance_eval"] == 0.38 and best["post_performance_eval"] == 0.41
    assert (best["n_select"], best["n_eval"]) == (32, 200)
    # resample by resample (of the evaluation split), δ = that resample's pre-trained best:
    # 0.38 -> post icl (0.41); 0.30 -> post baseline (0.36); 0.45 -> post icl (0.46)
    assert (best["reduction_ci_low"], best["reduction_ci_high"]) == (80_000 / 9000, 80_000 / 3000)
    assert best["n_boot"] == 3
    assert zero["target"] == "post_zero_shot" and zero["delta"] == 0.33
    assert (zero["pre_bits"], zero["post_bits"]) == (80_000, 3000)


def test_programs_to_check_are_the_frontier_and_each_strategys_best():
    from sahlab.complexity.frontier import programs_to_check

    pts = [
        P("baseline", "p", 10, 0.1),
        P("icl", "k=1", 20, 0.3),
        P("icl", "k=2", 30, 0.2),
        P("lora", "r=1", 500, 0.25),
        P("lora", "r=4", 900, 0.28),
        P("online", "N=8", 40, 0.0),
    ]
    # frontier: baseline, icl k=1; strategy bests add lora r=4; online scores 0 everywhere
    assert programs_to_check(pts) == {("baseline", "p"), ("icl", "k=1"), ("lora", "r=4")}


def test_complexity_ci_chooses_anew_per_resample_and_keeps_unreachable():
    from sahlab.complexity.summary import complexity_ci, percentile_ci, reduction_ci

    pts = [_pt("a", 10, 0.5, [0.5, 0.1, 0.6, 0.5]), _pt("b", 100, 0.7, [0.7, 0.7, 0.2, 0.8])]
    assert complexity_ci(pts, 0.45) == (10, 100)  # resample 1 needs program b
    assert complexity_ci(pts, 0.75) == (100, math.inf)  # unreachable in three resamples
    assert percentile_ci([math.nan, 1.0, 2.0]) == (1.0, 2.0)
    other = [_pt("c", 5, 0.9, [0.9, 0.9, 0.9, 0.9])]
    assert reduction_ci(pts, other, 0.45) == (2.0, 20.0)

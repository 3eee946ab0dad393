"""Resampling: bootstrap CIs (coverage, width vs n, determinism, scipy's draws, the summed-statistics
path against a slow loop that re-scores each resample with sacrebleu's public API) and the pairings
permutation test against counting every ordering by hand."""

import itertools
import math
import time

import numpy as np
import pytest
import sacrebleu
import scipy.stats

from sahlab.stats.resampling import (
    bootstrap_ci,
    bootstrap_summed,
    pairings_test,
    percentile_interval,
    resample_counts,
    resample_indices,
)


def test_ci_contains_true_mean_of_a_large_sample():
    x = np.random.default_rng(1).binomial(1, 0.3, size=5000)
    ci = bootstrap_ci(x, n_boot=1000, seed=0)
    assert ci["value"] == pytest.approx(x.mean())
    assert ci["ci_low"] < 0.3 < ci["ci_high"]
    assert ci["n"] == 5000


def test_coverage_is_near_nominal():
    # 200 independent samples from N(1, 1): the 95 % interval should cover 1 about 95 % of the time.
    rng = np.random.default_rng(7)
    covered = 0
    for s in range(200):
        ci = bootstrap_ci(rng.normal(1.0, 1.0, 100), n_boot=500, seed=s)
        covered += ci["ci_low"] < 1.0 < ci["ci_high"]
    assert 0.88 <= covered / 200 <= 0.99


def test_width_shrinks_like_one_over_sqrt_n():
    rng = np.random.default_rng(3)
    width = {
        n: (lambda c: c["ci_high"] - c["ci_low"])(bootstrap_ci(rng.random(n), 1000, seed=0))
        for n in (100, 10_000)
    }
    assert 6 < width[100] / width[10_000] < 15  # sqrt(100) = 10


def test_deterministic_for_a_seed():
    x = np.random.default_rng(0).random(300)
    assert bootstrap_ci(x, 200, seed=5) == bootstrap_ci(x, 200, seed=5)
    assert bootstrap_ci(x, 200, seed=5) != bootstrap_ci(x, 200, seed=6)
    assert np.array_equal(resample_indices(50, 20, 1), resample_indices(50, 20, 1))


def test_counts_match_indices():
    idx, counts = resample_indices(30, 40, seed=2), resample_counts(30, 40, seed=2)
    assert counts.shape == (40, 30) and (counts.sum(axis=1) == 30).all()
    for row, c in zip(idx, counts):
        assert np.array_equal(np.bincount(row, minlength=30), c)


def test_draws_are_scipys_and_the_interval_is_its_percentile_interval():
    # every path (and resample_counts) shares scipy.stats.bootstrap's draws for (n, n_boot, seed)
    x = np.random.default_rng(3).random(40)
    res = scipy.stats.bootstrap(
        (x,), np.mean, n_resamples=500, method="percentile", rng=np.random.default_rng(11), vectorized=True
    )
    assert np.array_equal(res.bootstrap_distribution, x[resample_indices(40, 500, 11)].mean(axis=1))
    ci = bootstrap_ci(x, 500, seed=11)
    assert (ci["ci_low"], ci["ci_high"]) == pytest.approx(tuple(res.confidence_interval), rel=1e-12)


def test_undefined_replicates_are_left_out_of_the_interval():
    assert percentile_interval(np.array([np.nan, np.inf, 1.0, 3.0]), 0.5) == (1.5, 2.5)
    assert percentile_interval(np.array([np.nan])) is None
    # a ratio that is 0/0 on some resamples of 3 examples: the CI comes from the others
    num, den = np.array([1.0, 0.0, 2.0]), np.array([1.0, 0.0, 1.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        ci = bootstrap_ci(lambda ix: num[ix].sum(-1) / den[ix].sum(-1), 200, seed=0, n=3, vectorised=True)
    assert ci["value"] == 1.5 and 1.0 <= ci["ci_low"] <= ci["ci_high"] <= 2.0


def _corr(x):
    xc = x - x.mean()
    return lambda Y: (
        ((Y - Y.mean(-1, keepdims=True)) @ xc)
        / (np.sqrt(((Y - Y.mean(-1, keepdims=True)) ** 2).sum(-1)) * np.sqrt(xc @ xc))
    )


def test_pairings_test_counts_every_ordering():
    # Pearson r over 6 skewed points: its null is asymmetric, so |r_pi| >= |r| differs from
    # scipy's doubled one-sided p; the two-sided p must be the count of the former over 6!
    x = np.array([0.1, 0.2, 0.3, 0.5, 1.0, 4.0])
    y = np.array([0.3, 0.1, 0.2, 0.9, 0.4, 2.5])
    stat = _corr(x)
    r = stat(y[None])[0]
    null = np.array([stat(y[list(p)][None])[0] for p in itertools.permutations(range(6))])
    res = pairings_test(y, stat)
    assert res["exact"] and res["n_permutations"] == math.factorial(6)
    assert res["p_value"] == pytest.approx(np.mean(np.abs(null) >= abs(r) - 1e-12))
    assert pairings_test(y, stat, alternative="greater")["p_value"] == pytest.approx(
        np.mean(null >= r - 1e-12)
    )
    assert pairings_test(y, stat, alternative="less")["p_value"] == pytest.approx(np.mean(null <= r + 1e-12))
    rand = pairings_test(y, stat, n_permutations=300, seed=1, exact=False)
    assert not rand["exact"] and rand["n_permutations"] == 300
    assert rand["p_value"] == pytest.approx(res["p_value"], abs=0.08)  # Monte-Carlo noise only
    with pytest.raises(ValueError, match="alternative"):
        pairings_test(y, stat, alternative="both")


def test_callable_paths_agree_with_mean_path():
    x = np.random.default_rng(4).random(64)
    ref = bootstrap_ci(x, 300, seed=9)
    loop = bootstrap_ci(lambda ix: x[ix].mean(), 300, seed=9, n=64)
    vec = bootstrap_ci(lambda ix: x[ix].mean(axis=-1), 300, seed=9, n=64, vectorised=True)
    summed = bootstrap_summed(np.c_[x, np.ones_like(x)], lambda s: s[0] / s[1], 300, seed=9)
    for other in (loop, vec, summed):
        for k in ("value", "ci_low", "ci_high"):
            assert other[k] == pytest.approx(ref[k], rel=1e-12)


def test_summed_chrf_and_bleu_match_a_slow_reference_loop():
    from sacrebleu.metrics import BLEU, CHRF

    refs = [
        "the cat sat on the mat",
        "a dog barks at night",
        "birds sing in the morning",
        "we eat bread and cheese",
        "the river runs to the sea",
        "it rains a lot here",
        "my sister reads old books",
        "they built a small house",
    ]
    hyps = [
        "the cat sat on a mat",
        "dog barks at the night",
        "birds are singing at morning",
        "we eat cheese",
        "a river runs into the sea",
        "it rains here",
        "",
        "they built the small house",
    ]
    n, n_boot, seed = len(refs), 60, 11
    idx = resample_indices(n, n_boot, seed)
    for metric, corpus in ((CHRF(), sacrebleu.corpus_chrf), (BLEU(), sacrebleu.corpus_bleu)):
        stats = metric._extract_corpus_statistics(hyps, [refs])
        fast = bootstrap_summed(
            stats, lambda s: metric._compute_score_from_stats(list(s)).score, n_boot, seed
        )
        slow = np.array([corpus([hyps[i] for i in row], [[refs[i] for i in row]]).score for row in idx])
        assert fast["value"] == pytest.approx(corpus(hyps, [refs]).score, abs=1e-9)
        assert fast["ci_low"] == pytest.approx(np.quantile(slow, 0.025), abs=1e-9)
        assert fast["ci_high"] == pytest.approx(np.quantile(slow, 0.975), abs=1e-9)
        assert fast["ci_low"] < fast["ci_high"]


def test_edge_cases_and_errors():
    assert bootstrap_ci([], 100) == {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    no_ci = bootstrap_ci([1.0, 0.0], n_boot=0)
    assert no_ci["value"] == 0.5 and no_ci["ci_low"] is None
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_ci([1.0], alpha=1.5)
    with pytest.raises(ValueError, match="needs n"):
        bootstrap_ci(lambda ix: 0.0)
    with pytest.raises(ValueError, match="1-D"):
        bootstrap_ci([[1.0, 2.0]])
    with pytest.raises(ValueError, match="2-D"):
        bootstrap_summed([1.0, 2.0], sum)


def test_fast_enough():
    x = np.random.default_rng(0).random(500)
    t0 = time.perf_counter()
    bootstrap_ci(x, n_boot=1000, seed=0)
    assert time.perf_counter() - t0 < 0.5  # ~20 ms on one core; generous for a shared machine

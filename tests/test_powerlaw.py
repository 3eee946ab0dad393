"""Study A power-law fits: recovery of known parameters, bootstrap CIs, held-out prediction,
and clear handling of degenerate input."""

import numpy as np
import pytest

from sahlab.stats.powerlaw import bootstrap_fit, fit_loglog, fit_power_law, heldout_check, predict

TRUE = dict(a=0.8, b=0.5, c=0.1)
GRID = 2.0 ** np.arange(0, 13)  # N = 1 ... 4096


def truth(N):
    return TRUE["a"] * np.asarray(N, float) ** -TRUE["b"] + TRUE["c"]


def test_exact_data_recovers_parameters():
    fit = fit_power_law(GRID, truth(GRID))
    assert fit["form"] == "power" and fit["converged"]
    for k, v in TRUE.items():
        assert fit[k] == pytest.approx(v, abs=1e-5)
    assert fit["r2"] == pytest.approx(1.0, abs=1e-9)


def test_noisy_data_recovers_parameters_and_beats_loglog():
    rng = np.random.default_rng(1)
    N = np.repeat(GRID, 3)  # three seeds per N
    err = truth(N) + rng.normal(0, 0.01, N.size)
    fit = fit_power_law(N, err)
    assert fit["a"] == pytest.approx(TRUE["a"], abs=0.05)
    assert fit["b"] == pytest.approx(TRUE["b"], abs=0.05)
    assert fit["c"] == pytest.approx(TRUE["c"], abs=0.02)
    assert fit["r2"] > 0.99
    # the floor c makes a pure log-log line a worse description on the error scale
    ll = fit_loglog(N, err)
    assert ll["form"] == "loglog" and ll["c"] == 0
    assert ll["r2_linear"] < fit["r2"]


def test_loglog_recovers_pure_power_law():
    N = GRID[1:]
    ll = fit_loglog(N, 0.9 * N**-0.3)
    assert ll["a"] == pytest.approx(0.9, rel=1e-9) and ll["b"] == pytest.approx(0.3, rel=1e-9)
    assert ll["r2"] == pytest.approx(1.0)


def test_zero_shot_points_are_excluded_and_reported():
    N = np.concatenate([[0, 0], GRID])
    err = np.concatenate([[0.97, 0.99], truth(GRID)])  # N=0 far off the curve: must not bias it
    fit = fit_power_law(N, err)
    assert fit["zero_shot_error"] == pytest.approx(0.98)
    assert fit["n_points"] == GRID.size
    assert fit["b"] == pytest.approx(TRUE["b"], abs=1e-5)


def test_heldout_prediction_of_largest_N():
    rng = np.random.default_rng(2)
    err = truth(GRID) + rng.normal(0, 0.005, GRID.size)
    out = heldout_check(GRID, err, n_holdout=1)
    assert out["N"] == [4096.0]
    assert out["observed"] == [pytest.approx(err[-1])]
    assert out["fit"]["n_points"] == GRID.size - 1
    assert out["abs_error"][0] == pytest.approx(abs(out["predicted"][0] - err[-1]))
    assert out["max_abs_error"] < 0.02
    # the prediction is the fit's curve, not the observation (independent recomputation)
    f = out["fit"]
    assert out["predicted"][0] == pytest.approx(f["a"] * 4096 ** -f["b"] + f["c"])


def test_heldout_detects_a_break_in_the_trend():
    err = truth(GRID)
    err[-1] = 0.6  # the largest N jumps off the curve
    out = heldout_check(GRID, err)
    assert out["max_abs_error"] > 0.4


def _records(n_examples=300, seeds=(0, 1, 2), rng_seed=3):
    rng = np.random.default_rng(rng_seed)
    recs = []
    for n in [0, *GRID[::2]]:
        p_err = 0.95 if n == 0 else truth(n)
        for s in seeds:
            wrong = rng.random(n_examples) < p_err
            recs += [
                {"N": int(n), "seed": s, "example_id": f"ex{i}", "correct": not w}
                for i, w in enumerate(wrong)
            ]
    return recs


def test_bootstrap_cis_cover_truth():
    recs = _records()
    out = bootstrap_fit(recs, n_boot=300, seed=0)
    assert out["n_failed"] == {"power": 0, "loglog": 0} and out["n_boot"] == 300
    for k, v in TRUE.items():
        ci = out[k]
        assert ci["ci_low"] <= v <= ci["ci_high"], (k, ci)
        assert ci["ci_low"] <= ci["value"] <= ci["ci_high"]
        assert ci["ci_high"] - ci["ci_low"] > 0
    # per-N errors are the raw means over seeds x examples
    rows = {r["N"]: r for r in out["per_N"]}
    want = 1 - np.mean([r["correct"] for r in recs if r["N"] == 16])
    assert rows[16]["error"] == pytest.approx(want)
    assert out["zero_shot"]["error"] == pytest.approx(
        1 - np.mean([r["correct"] for r in recs if r["N"] == 0])
    )
    assert out["zero_shot"]["ci_low"] < 0.95 < out["zero_shot"]["ci_high"]


def test_bootstrap_is_deterministic_and_seed_dependent():
    recs = _records(n_examples=60, seeds=(0, 1))
    a = bootstrap_fit(recs, n_boot=40, seed=5)
    b = bootstrap_fit(recs, n_boot=40, seed=5)
    c = bootstrap_fit(recs, n_boot=40, seed=6)
    assert a["b"] == b["b"]
    assert a["b"]["ci_low"] != c["b"]["ci_low"]


def test_bootstrap_rejects_bad_records():
    with pytest.raises(ValueError, match="lacks"):
        bootstrap_fit([{"N": 1, "seed": 0, "correct": True}], n_boot=5)
    dup = [{"N": 1, "seed": 0, "example_id": "x", "correct": True}] * 2
    with pytest.raises(ValueError, match="repeats"):
        bootstrap_fit(dup, n_boot=5)
    with pytest.raises(ValueError, match="correct"):
        bootstrap_fit([{"N": 1, "seed": 0, "example_id": "x", "correct": 3}], n_boot=5)


def test_degenerate_inputs_give_clear_errors_or_documented_fallback():
    with pytest.raises(ValueError, match="at least 3 distinct N"):
        fit_power_law([1, 2], [0.5, 0.4])
    with pytest.raises(ValueError, match="at least 3 distinct N"):
        fit_power_law([0, 0, 1, 2, 2], [0.9, 0.9, 0.5, 0.4, 0.4])  # N=0 does not count
    with pytest.raises(ValueError, match=r"err must lie in \[0, 1\]"):
        fit_power_law([1, 2, 4], [0.5, 40.0, 0.3])
    with pytest.raises(ValueError, match="finite"):
        fit_power_law([1, 2, 4], [0.5, np.nan, 0.3])
    with pytest.raises(ValueError, match="pair up"):
        fit_power_law([1, 2, 4], [0.5, 0.3])
    with pytest.raises(ValueError, match="need 3"):
        heldout_check([1, 2, 4], [0.5, 0.4, 0.3])
    flat = fit_power_law(GRID, np.ones(GRID.size))  # e.g. random-init model: always wrong
    assert flat["form"] == "constant" and flat["a"] == 0 and flat["c"] == 1.0
    assert np.isnan(flat["r2"])
    assert np.allclose(predict(flat, [1, 100]), 1.0)


def test_fit_never_crashes_on_awkward_shapes():
    # increasing error, zero errors, a single informative point: all return a valid fit
    for err in ([0.1, 0.2, 0.3, 0.4], [0.5, 0.0, 0.0, 0.0], [0.3, 0.3, 0.3, 0.29]):
        fit = fit_power_law([1, 4, 16, 64], err)
        assert 0 <= fit["b"] <= 3 and 0 <= fit["c"] <= 1 and fit["a"] >= 0
        assert np.all(np.isfinite(predict(fit, [1, 64])))


def test_sigma_weights_points():
    err = truth(GRID).copy()
    err[0] = 0.2  # one outlier at N = 1
    plain = fit_power_law(GRID, err)
    sig = np.full(GRID.size, 0.01)
    assert fit_power_law(GRID, err, sigma=sig)["b"] == pytest.approx(plain["b"], rel=1e-6)
    sig[0] = 100.0  # a huge standard error on the outlier: the fit follows the other points
    robust = fit_power_law(GRID, err, sigma=sig)
    assert abs(robust["b"] - TRUE["b"]) < abs(plain["b"] - TRUE["b"])
    assert robust["b"] == pytest.approx(TRUE["b"], abs=0.02)
    with pytest.raises(ValueError, match="sigma"):
        fit_power_law(GRID, err, sigma=np.zeros(GRID.size))


# ----------------------------------------------------------------------------- crossed bootstrap
def _crossed(rng, S=3, E=200, sd_seed=0.15, grid=(1, 4, 16, 64, 256, 1024), C=0.05, alpha=0.3):
    """X[N, seed, example]: Bernoulli outcomes with mean C N^alpha times an example difficulty
    (shared across N and seeds) times a seed effect drawn afresh per (N, seed); the population
    mean is exactly C N^alpha, so alpha is the true exponent of the paper's log-log line."""
    P = C * np.asarray(grid, float) ** alpha
    d = rng.uniform(-0.5, 0.5, E)
    a = rng.normal(0, sd_seed, (len(grid), S))
    p = P[:, None, None] * (1 + a[:, :, None]) * (1 + d[None, None, :])
    return np.asarray(grid, float), (rng.random(p.shape) < np.clip(p, 0, 1)).astype(float)


def test_crossed_resamples_variance_matches_the_sampling_variance():
    from sahlab.stats.resampling import crossed_resamples

    rng = np.random.default_rng(0)
    # the true sampling variance of the mean at each N, over fresh seeds, examples and outcomes
    means = np.array([_crossed(rng)[1].mean(axis=(1, 2)) for _ in range(400)])
    true_var = means.var(axis=0)
    boot_var = np.mean([crossed_resamples(_crossed(rng)[1], 300, k).var(axis=0) for k in range(40)], axis=0)
    ratio = boot_var / true_var
    # seed variance estimated from 3 seeds and truncated at 0: slightly conservative, never 3x
    assert np.all(ratio > 0.75) and np.all(ratio < 1.5), ratio
    # resampling seeds and examples with product weights counts the residual thrice: wider
    X = _crossed(rng)[1]
    S, E = X.shape[1:]
    pig = np.array(
        [
            np.einsum("nse,s,e->n", X, rng.multinomial(S, [1 / S] * S), rng.multinomial(E, [1 / E] * E))
            / (S * E)
            for _ in range(300)
        ]
    )
    assert np.median(pig.var(axis=0) / crossed_resamples(X, 300, 1).var(axis=0)) > 1.3


def test_loglog_ci_covers_the_true_exponent_at_the_nominal_rate():
    from sahlab.stats.powerlaw import fit_performance_loglog
    from sahlab.stats.resampling import crossed_resamples

    rng = np.random.default_rng(1)
    hits, n_sets = 0, 120
    for k in range(n_sets):
        N, X = _crossed(rng)
        P = crossed_resamples(X, 150, k)
        alphas = [fit_performance_loglog(N, p)["alpha"] for p in P if np.all(p > 0)]
        lo, hi = np.percentile(alphas, [2.5, 97.5])
        hits += lo <= 0.3 <= hi
    assert 0.88 <= hits / n_sets <= 0.99, hits / n_sets


def test_one_seed_gives_the_example_bootstrap_and_bad_cubes_fail():
    from sahlab.stats.resampling import crossed_resamples

    rng = np.random.default_rng(2)
    X = _crossed(rng, S=1)[1]
    reps = crossed_resamples(X, 500, 0)
    want = X[:, 0, :].var(axis=1) / X.shape[2]
    assert np.allclose(reps.var(axis=0), want, rtol=0.35)
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="complete"):
        crossed_resamples(X, 5, 0)


def test_bootstrap_fit_gives_the_papers_line_with_ci():
    rng = np.random.default_rng(4)
    N, X = _crossed(rng, E=400)
    recs = [
        {"N": int(n), "seed": s, "example_id": e, "correct": X[i, s, e]}
        for i, n in enumerate(N)
        for s in range(X.shape[1])
        for e in range(X.shape[2])
    ]
    out = bootstrap_fit(recs, n_boot=200, seed=0)
    al = out["loglog"]["alpha"]
    assert al["ci_low"] <= 0.3 <= al["ci_high"] and al["ci_high"] - al["ci_low"] < 0.2
    assert out["loglog"]["N"] == [int(n) for n in N] and out["loglog"]["r2"] > 0.9
    assert out["replicates"].shape == (200, len(N))
    # a saturated curve keeps only the points below the ceiling
    flat = bootstrap_fit(recs, n_boot=5, seed=0, saturation=0.3)
    assert max(flat["loglog"]["N"]) < 1024

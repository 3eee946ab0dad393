"""Statistics of feature use (study D): per-section metrics, feature-use measures, the evidence
required to adopt the target feature, correlations with exact permutation p-values and bootstrap
CIs, the power of an exact Spearman test over n pairs, and a logistic curve of use vs relative
extractability.

Sections of the Lovering-style test set (label = the target feature is present):
  both          spurious and target present   → label 1
  neither       neither present               → label 0
  spurious_only spurious present, target absent → label 0  (Lovering's "s-only")
  target_only   target present, spurious absent → label 1  (Lovering's "t-only")
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np

from sahlab.stats.resampling import MAX_EXACT_N, bootstrap_replicates, pairings_test, percentile_interval

SECTIONS = ("both", "neither", "spurious_only", "target_only")
POSITIVE_SECTIONS = ("both", "target_only")
CORRELATIONS = ("spearman", "pearson")


# --------------------------------------------------------------------------- per-section metrics
def section_labels(sections: Sequence[str]) -> np.ndarray:
    """The true label (1 = target feature present) of each example from its section."""
    bad = sorted({s for s in sections if s not in SECTIONS})
    if bad:
        raise ValueError(f"unknown section(s) {bad}; allowed: {list(SECTIONS)}")
    return np.array([s in POSITIVE_SECTIONS for s in sections], dtype=np.int64)


def binary_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy, precision, recall and F1 of the positive label (1).

    A prediction that is neither 0 nor 1 (e.g. -1 for an unparseable policy output) counts as
    wrong and as not positive. Precision is NaN when nothing is predicted positive, recall when
    no example is positive, F1 when both (0/0); otherwise F1 = 2·TP / (2·TP + FP + FN).
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    tp = int(np.sum((y_pred == 1) & (y_true == 1)))
    fp = int(np.sum((y_pred == 1) & (y_true != 1)))
    fn = int(np.sum((y_pred != 1) & (y_true == 1)))
    n = len(y_true)
    nan = float("nan")
    return {
        "n": n,
        "accuracy": float(np.mean(y_pred == y_true)) if n else nan,
        "precision": tp / (tp + fp) if tp + fp else nan,
        "recall": tp / (tp + fn) if tp + fn else nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else nan,
        "positive_rate": float(np.mean(y_pred == 1)) if n else nan,
        "invalid_rate": float(np.mean((y_pred != 0) & (y_pred != 1))) if n else nan,
    }


def section_metrics(sections: Sequence[str], y_pred: Sequence[int]) -> dict:
    """`binary_scores` for each section present and for "all" examples together.

    y_pred: predicted labels (1 = target present, 0 = absent, anything else = invalid output).
    Within spurious_only/neither every label is 0, so F1 of the positive label there is 0 if
    anything is predicted positive and NaN otherwise; accuracy is the informative number.
    """
    sections = list(sections)
    y_pred = np.asarray(y_pred)
    if len(sections) != len(y_pred):
        raise ValueError(f"section_metrics: {len(sections)} sections but {len(y_pred)} predictions")
    y_true = section_labels(sections)
    sec = np.asarray(sections, dtype=object)
    out = {"all": binary_scores(y_true, y_pred)}
    for s in SECTIONS:
        m = sec == s
        if m.any():
            out[s] = binary_scores(y_true[m], y_pred[m])
    return out


def feature_use(metrics: dict) -> dict:
    """Feature-use measures from `section_metrics` (all in [0, 1] except the gap in [-1, 1]).

    spurious_use   = P(pred 1 | spurious_only): Lovering's s-only error — the model says
                     "positive" because of the spurious feature alone.
    target_use     = P(pred 1 | target_only): 1 − Lovering's t-only error.
    spurious_preference = (spurious_use + (1 − target_use)) / 2, the mean error on the two
                     sections where the features disagree: 0 = decides by the target only,
                     1 = by the spurious feature only; 0.5 for a policy that always answers "1"
                     (OR-like), always "0" (AND-like) or at random alike, so the study reports
                     it only beside the two errors it averages.
    accuracy_gap   = accuracy on {both, neither} − accuracy on {spurious_only, target_only}
                     (section accuracies averaged with equal weight): how much better the model
                     does where the two features agree.
    """
    missing = [s for s in SECTIONS if s not in metrics]
    if missing:
        raise ValueError(f"feature_use: metrics lack section(s) {missing}; need all of {list(SECTIONS)}")
    s_use = metrics["spurious_only"]["positive_rate"]
    t_use = metrics["target_only"]["positive_rate"]
    agree = (metrics["both"]["accuracy"] + metrics["neither"]["accuracy"]) / 2
    disagree = (metrics["spurious_only"]["accuracy"] + metrics["target_only"]["accuracy"]) / 2
    return {
        "spurious_use": s_use,
        "target_use": t_use,
        "spurious_preference": (s_use + 1 - t_use) / 2,
        "accuracy_gap": agree - disagree,
    }


def evidence_required(
    rates: Sequence[float], f1_target_only: Sequence[float], threshold: float = 0.99
) -> float:
    """The smallest evidence rate at which target_only F1 exceeds `threshold` (strictly).

    Repeated rates (several seeds) are averaged first. Returns math.inf when no rate reaches the
    threshold ("more evidence than any rate tried": it ranks last in a Spearman correlation, but
    must be dropped or capped before a Pearson correlation). NaN F1 values are an error.
    """
    r = np.asarray(rates, dtype=float)
    f = np.asarray(f1_target_only, dtype=float)
    if r.shape != f.shape or r.ndim != 1 or r.size == 0:
        raise ValueError(
            f"evidence_required: rates and f1_target_only must be equal-length "
            f"non-empty lists, got {r.shape} and {f.shape}"
        )
    if np.any(~np.isfinite(r)) or np.any(~np.isfinite(f)):
        raise ValueError("evidence_required: rates and F1 values must be finite numbers")
    for rate in np.unique(r):
        if f[r == rate].mean() > threshold:
            return float(rate)
    return math.inf


# --------------------------------------------------------------------------- correlations
def _ranks(a: np.ndarray, axis: int = -1) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a, axis=axis)  # average ranks for ties, as in scipy.stats.spearmanr


def _as_pair(x, y, who: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 3:
        raise ValueError(f"{who}: x and y must be 1-d of equal length ≥ 3, got {x.shape} and {y.shape}")
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(y)):
        raise ValueError(f"{who}: x and y must be finite (drop or cap inf/NaN values first)")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError(f"{who}: x or y is constant, the correlation is undefined")
    return x, y


def _rows_corr(X: np.ndarray, Y: np.ndarray, method: str) -> np.ndarray:
    """The correlation of each row of X with the same row of Y (NaN where a row is constant); a
    1-D X is correlated with every row of Y."""
    if method == "spearman":
        X, Y = _ranks(X, axis=-1), _ranks(Y, axis=-1)
    Xc = X - X.mean(-1, keepdims=True)
    Yc = Y - Y.mean(-1, keepdims=True)
    den = np.sqrt((Xc * Xc).sum(-1) * (Yc * Yc).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (Xc * Yc).sum(-1) / den, np.nan)


def _corr_inputs(x, y, method: str) -> tuple[np.ndarray, np.ndarray]:
    if method not in CORRELATIONS:
        raise ValueError(f"unknown correlation {method!r}; allowed: {list(CORRELATIONS)}")
    x, y = _as_pair(x, y, method)
    return (_ranks(x), _ranks(y)) if method == "spearman" else (x, y)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation coefficient r."""
    x, y = _corr_inputs(x, y, "pearson")
    return float(_rows_corr(x, y, "pearson"))


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman ρ: Pearson r of the average ranks (equals scipy.stats.spearmanr with ties)."""
    x, y = _corr_inputs(x, y, "spearman")
    return float(_rows_corr(x, y, "pearson"))


def permutation_test(
    x: Sequence[float],
    y: Sequence[float],
    method: str = "spearman",
    n_permutations: int = 10_000,
    seed: int = 0,
    alternative: str = "two-sided",
    batch: int | None = None,
    exact: bool | None = None,
) -> dict:
    """Permutation p-value of a correlation over pairs (H0: x and y independent), by
    `sahlab.stats.resampling.pairings_test` (scipy's "pairings" permutation test: y is reordered
    against x).

    Exact (exact=True, or exact=None and n ≤ MAX_EXACT_N): all n! orderings of y, p = #{|r_π| ≥ |r|} / n!.
    Otherwise `n_permutations` random orderings (seeded), p = (1 + #{|r_π| ≥ |r|}) / (1 + n_permutations).
    alternative: "two-sided" (|r|), "greater" (r_π ≥ r) or "less" (r_π ≤ r).
    """
    xs, ys = _corr_inputs(x, y, method)
    res = pairings_test(
        ys,
        lambda Y: _rows_corr(xs, Y, "pearson"),  # Spearman: ranks of reordered y = reordered ranks
        n_permutations,
        seed,
        alternative,
        exact,
        batch,
    )
    return {
        "statistic": float(_rows_corr(xs, ys, "pearson")),
        "p_value": res["p_value"],
        "exact": res["exact"],
        "n_permutations": res["n_permutations"],
        "method": method,
        "alternative": alternative,
        "n": len(xs),
    }


def spearman_null(n: int) -> np.ndarray:
    """The exact null distribution of Spearman's ρ for n untied points: the sorted distinct
    values ρ can take and their probabilities under independence, as a (k, 2) array.

    ρ = 1 − 6·Σd² / (n(n²−1)) depends on the ordering only through Σd² (an integer, so exact in
    floating point), taken over all n! orderings of `pairings_test` (n ≤ MAX_EXACT_N)."""
    if not 3 <= n <= MAX_EXACT_N:
        raise ValueError(f"spearman_null: n must be in [3, {MAX_EXACT_N}], got {n}")
    base = np.arange(n, dtype=float)
    null = pairings_test(base, lambda Y: ((Y - base) ** 2).sum(-1), alternative="greater", exact=True)
    d2, counts = np.unique(null["null_distribution"], return_counts=True)
    rho = 1 - 6 * d2 / (n * (n * n - 1))
    prob = counts / math.factorial(n)
    order = np.argsort(rho)
    return np.column_stack([rho[order], prob[order]])


def spearman_critical_value(n: int, alpha: float = 0.05) -> float:
    """The smallest |ρ| that an exact two-sided permutation test over n untied points declares
    significant at level alpha (P(|ρ_π| ≥ c) ≤ alpha); NaN if no ρ can reach it (e.g. n ≤ 4 at
    alpha = 0.05: the smallest possible p is 2/n!)."""
    null = spearman_null(n)
    rho, prob = null[:, 0], null[:, 1]
    for c in np.unique(np.round(np.abs(rho), 12)):
        if prob[np.abs(rho) >= c - 1e-12].sum() <= alpha + 1e-12:
            return float(c)
    return float("nan")


@functools.lru_cache(maxsize=32)
def spearman_power(n: int, alpha: float = 0.05, power: float = 0.8, n_sim: int = 4000, seed: int = 0) -> dict:
    """How strong a monotone relation the design with n pairs can detect.

    critical_rho: the smallest |observed ρ| with exact two-sided p ≤ alpha (`spearman_critical_value`).
    rho_for_power: the smallest population Spearman correlation that the exact test rejects with
    probability ≥ `power`, estimated by simulating bivariate-normal samples of size n (seeded;
    population Spearman ρ_s = (6/π)·arcsin(r/2) for Pearson r); NaN if not even ρ_s ≈ 1 reaches
    it. Data are continuous (no ties), as relative extractability and seed-averaged use are.
    """
    crit = spearman_critical_value(n, alpha)
    out = {"n": n, "alpha": alpha, "power": power, "critical_rho": crit, "rho_for_power": float("nan")}
    if not math.isfinite(crit):
        return out
    rng = np.random.default_rng(seed)
    z1 = rng.standard_normal((n_sim, n))
    z2 = rng.standard_normal((n_sim, n))
    for rs in np.arange(0.05, 1.0, 0.01):
        r = 2 * math.sin(math.pi * rs / 6)  # Pearson r giving population Spearman rs
        x, y = z1, r * z1 + math.sqrt(max(0.0, 1 - r * r)) * z2
        rho = _rows_corr(x, y, "spearman")
        if np.mean(np.abs(rho) >= crit - 1e-12) >= power:
            out["rho_for_power"] = float(round(rs, 2))
            break
    return out


def bootstrap_ci(
    x: Sequence[float],
    y: Sequence[float],
    method: str = "spearman",
    n_boot: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Percentile bootstrap CI of a correlation, resampling (x, y) pairs with replacement
    (`sahlab.stats.resampling.bootstrap_replicates`: scipy's draw of pair indices).

    Resamples in which x or y is constant have no correlation; they are left out and counted in
    `n_degenerate` (NaN bounds if every resample is degenerate).
    """
    if method not in CORRELATIONS:
        raise ValueError(f"unknown correlation {method!r}; allowed: {list(CORRELATIONS)}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x, y = _as_pair(x, y, method)

    r = bootstrap_replicates(lambda idx: _rows_corr(x[idx], y[idx], method), len(x), n_boot, seed)
    lo, hi = percentile_interval(r, level) or (np.nan, np.nan)
    ok = r[np.isfinite(r)]
    return {
        "ci_low": float(lo),
        "ci_high": float(hi),
        "level": level,
        "n_boot": n_boot,
        "n_degenerate": int(n_boot - ok.size),
    }


def correlation_summary(
    x: Sequence[float],
    y: Sequence[float],
    n_permutations: int = 10_000,
    n_boot: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Spearman ρ and Pearson r of (x, y), each with a two-sided permutation p-value and a
    percentile bootstrap CI: {"n", "spearman": {value, p_value, exact, ci_low, ci_high}, "pearson": …}."""
    out: dict = {"n": len(x)}
    for method in CORRELATIONS:
        pt = permutation_test(x, y, method, n_permutations, seed)
        ci = bootstrap_ci(x, y, method, n_boot, seed, level)
        out[method] = {
            "value": pt["statistic"],
            "p_value": pt["p_value"],
            "exact": pt["exact"],
            "n_permutations": pt["n_permutations"],
            **ci,
        }
    return out


# --------------------------------------------------------------------------- logistic curve
def fit_logistic(
    x: Sequence[float],
    use: Sequence[float],
    log_x: bool = True,
    weights: Sequence[float] | None = None,
    ridge: float = 1e-6,
) -> dict:
    """Fit use ≈ σ(a + b·t), t = log(x) if log_x else x, for the scatter figure.

    `use` are fractions in [0, 1] (e.g. spurious_preference). The fit minimises the weighted
    binomial cross-entropy −Σ w [u log σ + (1−u) log(1−σ)] (fractional logistic regression), which
    is convex; a tiny ridge on b keeps perfectly separated data finite. Returns intercept a,
    slope b, log_x, the mean cross-entropy and, for convenience, x_mid where σ = 0.5 (NaN if b=0).
    """
    from scipy.optimize import minimize

    x = np.asarray(x, dtype=float)
    u = np.asarray(use, dtype=float)
    if x.ndim != 1 or x.shape != u.shape or x.size < 2:
        raise ValueError(
            f"fit_logistic: x and use must be 1-d of equal length ≥ 2, got {x.shape} and {u.shape}"
        )
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(u)) or np.any((u < 0) | (u > 1)):
        raise ValueError("fit_logistic: x must be finite and use must lie in [0, 1]")
    if log_x and np.any(x <= 0):
        raise ValueError("fit_logistic: log_x=True needs x > 0 (relative extractability is a ratio)")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != x.shape or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("fit_logistic: weights must be non-negative, one per point, not all 0")
    t = np.log(x) if log_x else x
    w = w / w.sum()

    def objective(theta):
        z = theta[0] + theta[1] * t
        # log σ(z) = −log(1+e^−z), log(1−σ(z)) = −log(1+e^z), both computed stably.
        loss = np.sum(w * (u * np.logaddexp(0, -z) + (1 - u) * np.logaddexp(0, z)))
        s = 0.5 * (1 + np.tanh(z / 2))  # σ(z) without overflow
        g = w * (s - u)
        return loss + ridge * theta[1] ** 2, np.array([g.sum(), (g * t).sum() + 2 * ridge * theta[1]])

    res = minimize(objective, np.zeros(2), jac=True, method="BFGS", options={"gtol": 1e-10})
    a, b = map(float, res.x)
    return {
        "intercept": a,
        "slope": b,
        "log_x": log_x,
        "cross_entropy": float(res.fun),
        "x_mid": (math.exp(-a / b) if log_x else -a / b) if b != 0 else float("nan"),
        "converged": bool(res.success),
    }


def logistic_curve(fit: dict, x: Sequence[float]) -> np.ndarray:
    """The fitted curve σ(a + b·t) at the points x (t = log x if the fit used log_x)."""
    x = np.asarray(x, dtype=float)
    t = np.log(x) if fit["log_x"] else x
    return 0.5 * (1 + np.tanh((fit["intercept"] + fit["slope"] * t) / 2))

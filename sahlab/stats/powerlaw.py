"""Study A: power-law fits of error against the number N of fine-tuning examples.

Model: error(N) = a * N**(-b) + c, with error = 1 - performance in [0, 1] and N >= 1.
N = 0 (prompt only) has no place on a power law; those points are left out of every fit and
reported separately as the zero-shot error. The log-log linear form (c = 0) is fitted beside it
for comparison, as the papers fit either one.

Fallback (documented, not an error): when every error is the same value (e.g. a random-init
model at error 1 for all N) the curve is flat; the fit then returns form "constant" with a = 0,
b = 0, c = that value and r2 = nan, so a grid of runs never crashes on one degenerate cell.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from sahlab.stats.resampling import crossed_resamples, percentile_interval

B_MAX = 3.0  # exponent bound: steeper than N^-3 is not a plausible learning curve
_FLAT_TOL = 1e-12  # spread of errors below which the curve counts as constant
RECORD_KEYS = ("N", "seed", "example_id", "correct")


def _as_points(N, err, where: str = "fit") -> tuple[np.ndarray, np.ndarray]:
    """Validate N and err as equal-length finite arrays with N >= 0 and err in [0, 1]."""
    N = np.asarray(N, dtype=float).ravel()
    err = np.asarray(err, dtype=float).ravel()
    if N.shape != err.shape:
        raise ValueError(f"{where}: N has {N.size} values but err has {err.size}; they must pair up")
    if not (np.all(np.isfinite(N)) and np.all(np.isfinite(err))):
        raise ValueError(f"{where}: N and err must be finite numbers (found nan or inf)")
    if np.any(N < 0):
        raise ValueError(f"{where}: N must be >= 0 (number of fine-tuning examples), got {N.min():g}")
    if np.any((err < 0) | (err > 1)):
        raise ValueError(
            f"{where}: err must lie in [0, 1] (error = 1 - performance; scale metrics "
            f"such as chrF to [0, 1] first), got range [{err.min():g}, {err.max():g}]"
        )
    return N, err


def _zero_shot(N: np.ndarray, err: np.ndarray) -> float | None:
    return float(err[N == 0].mean()) if np.any(N == 0) else None


def _curve(N: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a * np.exp(-b * np.log(N)) + c


def _r2(y: np.ndarray, yhat: np.ndarray) -> float:
    sst = float(np.sum((y - y.mean()) ** 2))
    return float("nan") if sst == 0 else 1.0 - float(np.sum((y - yhat) ** 2)) / sst


def _loglog_starts(N: np.ndarray, err: np.ndarray) -> list[tuple[float, float, float]]:
    """Log-log linear fits of err - c0 for a few floors c0 below min(err).

    log(err - c0) = log a - b log N is linear, so each floor gives a start without iteration;
    several floors guard against one that flattens the curve (c0 near min err) or ignores it.
    """
    lo, starts = float(err.min()), []
    for c0 in (0.0, 0.5 * lo, 0.9 * lo, 0.99 * lo):
        keep = err - c0 > 0
        if np.unique(N[keep]).size < 2:
            continue
        slope, intercept = np.polyfit(np.log(N[keep]), np.log(err[keep] - c0), 1)
        starts.append(
            (
                float(max(math.exp(intercept), 1e-9)),
                float(np.clip(-slope, 0, B_MAX)),
                float(np.clip(c0, 0.0, 1.0)),
            )
        )
    return starts


def _profile_starts(N: np.ndarray, err: np.ndarray, w: np.ndarray) -> list[tuple[float, float, float]]:
    """For each b on a grid the model is linear in (a, c): solve that bounded weighted least
    squares exactly and return the best (a, b, c). A global search over b, so a start cannot
    sit in the wrong basin (log-log starts alone can, e.g. with an outlier at small N)."""
    bs = np.linspace(0.0, B_MAX, 61)
    X = np.exp(-np.outer(bs, np.log(N)))  # [G, n] regressor N^-b
    sw, swy = w.sum(), (w * err).sum()
    swx, swxx, swxy = X @ w, (X * X) @ w, X @ (w * err)
    cands = []
    # interior solution of the 2x2 normal equations (a >= 0, 0 <= c <= 1 checked below)
    det = swxx * sw - swx**2
    with np.errstate(divide="ignore", invalid="ignore"):
        a_int = (swxy * sw - swx * swy) / det
        c_int = (swxx * swy - swx * swxy) / det
    ok = (det > 1e-12 * swxx * sw) & (a_int >= 0) & (c_int >= 0) & (c_int <= 1)
    cands.append((np.where(ok, a_int, 0.0), np.where(ok, c_int, 0.0), ok))
    # faces of the feasible set: a = 0 (c free in [0, 1]); c = 0 or c = 1 (a free, >= 0)
    every = np.ones_like(bs, dtype=bool)
    cands.append((np.zeros_like(bs), np.full_like(bs, np.clip(swy / sw, 0, 1)), every))
    for c in (0.0, 1.0):
        a = np.maximum((swxy - c * swx) / np.where(swxx > 0, swxx, 1), 0)
        cands.append((a, np.full_like(bs, c), every))
    best, best_sse = [], math.inf
    for a, c, ok in cands:
        sse = np.where(ok, ((a[:, None] * X + c[:, None] - err) ** 2) @ w, np.inf)
        g = int(np.argmin(sse))
        if sse[g] < best_sse:
            best, best_sse = [(float(a[g]), float(bs[g]), float(c[g]))], float(sse[g])
    return best


def fit_power_law(
    N: Sequence[float], err: Sequence[float], sigma: Sequence[float] | None = None
) -> dict[str, Any]:
    """Fit error(N) = a * N**(-b) + c by bounded nonlinear least squares.

    Bounds: a >= 0, b in [0, 3], c in [0, 1]. The start is the best (in weighted SSE) of
    log-log linear fits and an exact profile search over b (linear in a, c for fixed b).
    N = 0 points are excluded (their mean error is returned as `zero_shot_error`). `sigma`
    optionally gives per-point standard errors (as in scipy's curve_fit). Repeated N values
    (e.g. one point per seed) are allowed.

    Returns dict(a, b, c, r2, form, n_points, zero_shot_error, converged); r2 is unweighted,
    on the error scale; `converged` is False when curve_fit failed and the best start was
    kept. form is "power", or
    "constant" for the flat-curve fallback described in the module docstring.
    Raises ValueError with fewer than 3 distinct N >= 1.
    """
    from scipy.optimize import curve_fit

    N, err = _as_points(N, err, "fit_power_law")
    zero = _zero_shot(N, err)
    pos = N >= 1
    if np.any((N > 0) & (N < 1)):
        raise ValueError("fit_power_law: N must be 0 or >= 1 (a count of examples)")
    N, err = N[pos], err[pos]
    sig = None
    if sigma is not None:
        sig = np.asarray(sigma, dtype=float).ravel()
        if sig.size != pos.size or not np.all(np.isfinite(sig)) or np.any(sig[pos] <= 0):
            raise ValueError("fit_power_law: sigma must give one positive finite value per point")
        sig = sig[pos]
    n_distinct = np.unique(N).size
    if n_distinct < 3:
        raise ValueError(
            f"fit_power_law: need at least 3 distinct N >= 1 to fit 3 parameters "
            f"(a, b, c), got {n_distinct} (N = 0 points are excluded)"
        )
    out = {"n_points": int(N.size), "zero_shot_error": zero}
    if np.ptp(err) <= _FLAT_TOL:
        return {
            **out,
            "form": "constant",
            "a": 0.0,
            "b": 0.0,
            "c": float(err.mean()),
            "r2": float("nan"),
            "converged": True,
        }

    w = np.ones_like(err) if sig is None else 1.0 / sig**2
    wsse = lambda p: float(np.sum(w * (_curve(N, *p) - err) ** 2))  # noqa: E731
    p0 = min(_loglog_starts(N, err) + _profile_starts(N, err, w), key=wsse)
    # curve_fit's trust-region method needs a start strictly inside the bounds
    x0 = (max(p0[0], 1e-9), float(np.clip(p0[1], 1e-6, B_MAX - 1e-6)), float(np.clip(p0[2], 1e-9, 1 - 1e-9)))
    params, converged = p0, False
    try:
        popt, _ = curve_fit(
            _curve,
            N,
            err,
            p0=x0,
            sigma=sig,
            bounds=([0, 0, 0], [np.inf, B_MAX, 1]),
            method="trf",
            maxfev=20000,
        )
        if np.all(np.isfinite(popt)):
            params, converged = tuple(float(v) for v in popt), True
    except (RuntimeError, ValueError):  # no convergence: keep the best start, flagged
        pass
    if wsse(p0) < wsse(params):  # never return something worse than the start
        params = p0
    a, b, c = params
    return {
        **out,
        "form": "power",
        "a": a,
        "b": b,
        "c": c,
        "r2": _r2(err, _curve(N, a, b, c)),
        "converged": converged,
    }


def fit_loglog(N: Sequence[float], err: Sequence[float]) -> dict[str, Any]:
    """Log-log linear fit log err = log a - b log N (the power law with c = 0).

    Uses points with N >= 1 and err > 0 (log 0 is undefined; the count left out is returned).
    `r2` is measured in log space, `r2_linear` on the error scale so it compares with
    fit_power_law's r2. Raises ValueError with fewer than 2 distinct usable N.
    """
    N, err = _as_points(N, err, "fit_loglog")
    zero = _zero_shot(N, err)
    pos = N >= 1
    keep = pos & (err > 0)
    if np.unique(N[keep]).size < 2:
        raise ValueError("fit_loglog: need at least 2 distinct N >= 1 with error > 0")
    x, y = np.log(N[keep]), np.log(err[keep])
    slope, intercept = np.polyfit(x, y, 1)
    a, b = float(math.exp(intercept)), float(-slope)
    return {
        "form": "loglog",
        "a": a,
        "b": b,
        "c": 0.0,
        "r2": _r2(y, intercept + slope * x),
        "r2_linear": _r2(err[pos], _curve(N[pos], a, b, 0.0)),
        "n_points": int(keep.sum()),
        "n_excluded_zero_error": int((pos & ~keep).sum()),
        "zero_shot_error": zero,
    }


def predict(fit: Mapping[str, Any], N: Sequence[float] | float) -> np.ndarray:
    """Error predicted by a fit (any form) at N >= 1."""
    N = np.asarray(N, dtype=float)
    if np.any(N < 1):
        raise ValueError("predict: the power law is defined for N >= 1 only")
    return _curve(N, fit["a"], fit["b"], fit["c"])


def heldout_check(N: Sequence[float], err: Sequence[float], n_holdout: int = 1) -> dict[str, Any]:
    """Fit on all but the `n_holdout` largest distinct N (>= 1), predict those, compare.

    Observed error at a held-out N is the mean over its points. Returns dict(fit, N, predicted,
    observed, abs_error, max_abs_error).
    """
    N, err = _as_points(N, err, "heldout_check")
    if n_holdout < 1:
        raise ValueError(f"heldout_check: n_holdout must be >= 1, got {n_holdout}")
    pos = N >= 1
    N, err = N[pos], err[pos]
    levels = np.unique(N)
    if levels.size - n_holdout < 3:
        raise ValueError(
            f"heldout_check: {levels.size} distinct N >= 1 leave "
            f"{levels.size - n_holdout} to fit after holding out {n_holdout}; need 3"
        )
    held = levels[-n_holdout:]
    train = N < held[0]
    fit = fit_power_law(N[train], err[train])
    observed = np.array([err[N == h].mean() for h in held])
    predicted = predict(fit, held)
    abs_err = np.abs(predicted - observed)
    return {
        "fit": fit,
        "N": held.tolist(),
        "predicted": predicted.tolist(),
        "observed": observed.tolist(),
        "abs_error": abs_err.tolist(),
        "max_abs_error": float(abs_err.max()),
    }


def _outcome_cube(records: Iterable[Mapping[str, Any]]):
    """Arrange per-example outcomes as X[N, seed, example] (nan where a cell is missing)."""
    rows = list(records)
    if not rows:
        raise ValueError("bootstrap_fit: no records")
    for i, r in enumerate(rows):
        missing = [k for k in RECORD_KEYS if k not in r]
        if missing:
            raise ValueError(f"bootstrap_fit: record {i} lacks {missing}; each needs {list(RECORD_KEYS)}")
        c = float(r["correct"])
        if not 0.0 <= c <= 1.0:
            raise ValueError(
                f"bootstrap_fit: record {i} has correct={r['correct']!r}; allowed: "
                f"a bool or a number in [0, 1]"
            )
    Ns = sorted({float(r["N"]) for r in rows})
    seeds = sorted({r["seed"] for r in rows}, key=str)
    exs = sorted({r["example_id"] for r in rows}, key=str)
    n_ix = {v: i for i, v in enumerate(Ns)}
    s_ix = {v: i for i, v in enumerate(seeds)}
    e_ix = {v: i for i, v in enumerate(exs)}
    X = np.full((len(Ns), len(seeds), len(exs)), np.nan)
    for i, r in enumerate(rows):
        cell = (n_ix[float(r["N"])], s_ix[r["seed"]], e_ix[r["example_id"]])
        if not np.isnan(X[cell]):
            raise ValueError(
                f"bootstrap_fit: record {i} repeats (N={r['N']}, seed={r['seed']}, "
                f"example_id={r['example_id']!r})"
            )
        X[cell] = float(r["correct"])
    return np.array(Ns), X


def _ci(values: np.ndarray, point: float | None, level: float) -> dict[str, float | None]:
    ci = percentile_interval(values, level)
    lo, hi = (None, None) if ci is None else ci
    return {"value": point, "ci_low": lo, "ci_high": hi}


def loglog_support(N: Sequence[float], perf: Sequence[float], saturation: float) -> np.ndarray:
    """The non-saturated part of a curve, where the paper's log-log line is fitted: N >= 1 and
    0 < performance < `saturation` (log 0 is undefined; a saturated point no longer grows)."""
    N, perf = np.asarray(N, dtype=float), np.asarray(perf, dtype=float)
    return (N >= 1) & (perf > 0) & (perf < saturation)


def fit_performance_loglog(N: Sequence[float], perf: Sequence[float]) -> dict[str, Any]:
    """The paper's form: log P = log C + alpha log N (performance P = C N^alpha), by least
    squares in log space; r2 in log space. Raises ValueError with < 2 distinct usable N."""
    ll = fit_loglog(N, perf)  # the same line with the sign of the slope turned
    return {"C": ll["a"], "alpha": -ll["b"], "r2": ll["r2"], "n_points": ll["n_points"]}


def bootstrap_fit(
    records: Iterable[Mapping[str, Any]],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    saturation: float = 0.95,
) -> dict[str, Any]:
    """Both fits of one curve with percentile bootstrap CIs from per-example outcomes.

    `records`: mappings with N, seed (training seed), example_id, correct (bool or [0, 1]);
    every (N, seed) must score the same examples. Replicates come from `crossed_resamples`
    (seeds and examples resampled, each variance counted once). Fits: the paper's log-log line
    of performance on the non-saturated N (`loglog_support` of the point estimate, kept fixed
    across replicates) and error(N) = a N^-b + c. Replicates where a fit is impossible are
    counted in `n_failed` (per form), not silently dropped.

    Returns dict(fit, a, b, c, r2, loglog, per_N, zero_shot, n_boot, n_failed, level,
    replicates); a, b, c and loglog's C, alpha are {value, ci_low, ci_high}; per_N lists
    {N, error, ci_low, ci_high} including N = 0; `replicates` is the [n_boot, len(N)] array of
    replicate performances (for statistics the caller derives; not JSON).
    """
    from tqdm import tqdm

    if n_boot < 1:
        raise ValueError(f"bootstrap_fit: n_boot must be >= 1, got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"bootstrap_fit: level must be in (0, 1), got {level}")
    Ns, X = _outcome_cube(records)
    if np.isnan(X).any():
        n, s, _ = np.argwhere(np.isnan(X))[0]
        raise ValueError(
            f"bootstrap_fit: N = {Ns[n]:g}, seed index {s} lacks outcomes for some "
            "test examples; every (N, seed) must score the same examples"
        )
    perf = X.mean(axis=(1, 2))
    err = 1.0 - perf
    fit = fit_power_law(Ns, err)
    support = loglog_support(Ns, perf, saturation)
    try:
        if support.sum() < 3:  # two points always lie on a line: no test of the form
            raise ValueError(
                f"the log-log line needs >= 3 non-saturated N with performance > 0 "
                f"(and < {saturation}), got N = {Ns[support].tolist()}"
            )
        ll = fit_performance_loglog(Ns[support], perf[support])
    except ValueError as e:
        ll = {"error": str(e)}
    P = np.clip(crossed_resamples(X, n_boot, seed), 0.0, 1.0)
    params, lines, failed = [], [], {"power": 0, "loglog": 0}
    for p in tqdm(P, desc="bootstrap fits", mininterval=5):
        try:
            f = fit_power_law(Ns, 1.0 - p)
            params.append((f["a"], f["b"], f["c"]))
        except ValueError:
            failed["power"] += 1
        if "error" not in ll:
            if np.all(p[support] > 0):
                g = fit_performance_loglog(Ns[support], p[support])
                lines.append((g["C"], g["alpha"]))
            else:
                failed["loglog"] += 1
    Pa = np.array(params).reshape(-1, 3)
    L = np.array(lines).reshape(-1, 2)
    per_n = []
    for j, n in enumerate(Ns):
        row = _ci(1.0 - P[:, j], float(err[j]), level)
        per_n.append(
            {
                "N": int(n) if float(n).is_integer() else float(n),
                "error": row["value"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
            }
        )
    zero = next(({k: v for k, v in r.items() if k != "N"} for r in per_n if r["N"] == 0), None)
    loglog = (
        {"error": ll["error"]}
        if "error" in ll
        else {
            "C": _ci(L[:, 0], ll["C"], level),
            "alpha": _ci(L[:, 1], ll["alpha"], level),
            "r2": ll["r2"],
            "N": [int(n) for n in Ns[support]],
        }
    )
    return {
        "fit": fit,
        "a": _ci(Pa[:, 0], fit["a"], level),
        "b": _ci(Pa[:, 1], fit["b"], level),
        "c": _ci(Pa[:, 2], fit["c"], level),
        "r2": fit["r2"],
        "loglog": loglog,
        "per_N": per_n,
        "zero_shot": zero,
        "n_boot": n_boot,
        "n_failed": failed,
        "level": level,
        "replicates": P,
        "N": Ns.tolist(),
    }

"""Percentile bootstrap confidence intervals over examples, vectorised with numpy.

All resamples for a given (n, n_boot, seed) are the same index matrix, so every metric of
one evaluation — and every model evaluated on the same test set — is resampled identically
(a paired bootstrap: differences between models can be bootstrapped from the same draws).

Three paths, from fastest to most general:

* :func:`bootstrap_ci` with a vector of per-example values: the mean of each resample;
* :func:`bootstrap_summed` with per-example *sufficient statistics* (an n × k array) and a
  function of their sum: corpus metrics such as chrF/BLEU (sacrebleu's segment statistics)
  or instruction-level accuracy (followed, total). Each resample's summed statistics are one
  row of ``counts @ stats`` (one matrix product); only the final score function is called
  per resample. Measured on 500 sentences: 1000 chrF resamples take ~0.09 s (BLEU ~0.05 s),
  whereas re-scoring each resample with sacrebleu would take ~0.15 s each (~150 s in all);
* :func:`bootstrap_ci` with a callable ``statistic(indices) -> float``: recomputed on each
  resample (cost = n_boot × one evaluation of the statistic).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

# {"value": float | None, "ci_low": float | None, "ci_high": float | None, "n": int}
Interval = dict


def resample_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """The (n_boot, n) matrix of bootstrap indices (rows drawn with replacement) for `seed`."""
    if n < 0 or n_boot < 0:
        raise ValueError(f"n and n_boot must be >= 0, got n={n}, n_boot={n_boot}")
    return (
        np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        if n
        else np.zeros((n_boot, 0), dtype=np.int64)
    )


def resample_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) matrix: how many times each example appears in each resample.

    Built from the same draws as :func:`resample_indices`, so both paths agree exactly.
    """
    idx = resample_indices(n, n_boot, seed)
    flat = idx + (np.arange(n_boot)[:, None] * n)
    return np.bincount(flat.ravel(), minlength=n_boot * n).reshape(n_boot, n)


def _interval(value: float | None, boot: np.ndarray | None, alpha: float, n: int) -> Interval:
    if value is None or boot is None or boot.size == 0:
        return {"value": value, "ci_low": None, "ci_high": None, "n": n}
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return {"value": value, "ci_low": None, "ci_high": None, "n": n}
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return {"value": float(value), "ci_low": float(low), "ci_high": float(high), "n": n}


def _check(n_boot: int, alpha: float) -> None:
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0 (0 = no interval), got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def bootstrap_ci(
    data: Sequence[float] | np.ndarray | Callable[[np.ndarray], float],
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    *,
    n: int | None = None,
    vectorised: bool = False,
) -> Interval:
    """Statistic and its (1 − alpha) percentile bootstrap interval.

    `data` is either per-example values (the statistic is their mean) or a callable
    ``statistic(indices)`` returning the statistic of the examples at `indices` (a 1-D int
    array; with ``vectorised=True`` it gets the whole (n_boot, n) matrix and must return
    n_boot values). The callable form needs `n`, the number of examples.
    Returns ``{"value", "ci_low", "ci_high", "n"}``; value is the statistic on the full
    sample; with no examples everything is None, with ``n_boot=0`` the CI is None.
    """
    _check(n_boot, alpha)
    if callable(data):
        if n is None:
            raise ValueError("bootstrap_ci: a statistic callable needs n (number of examples)")
        if n == 0:
            return _interval(None, None, alpha, 0)
        value = float(data(np.arange(n)))
        idx = resample_indices(n, n_boot, seed)
        if vectorised:
            boot = np.asarray(data(idx), dtype=float)
            if boot.shape != (n_boot,):
                raise ValueError(f"vectorised statistic must return shape ({n_boot},), got {boot.shape}")
        else:
            boot = np.array([data(row) for row in idx], dtype=float)
        return _interval(value, boot, alpha, n)
    values = np.asarray(data, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"bootstrap_ci: values must be 1-D, got shape {values.shape}")
    if values.size == 0:
        return _interval(None, None, alpha, 0)
    idx = resample_indices(values.size, n_boot, seed)
    return _interval(values.mean(), values[idx].mean(axis=1), alpha, values.size)


def bootstrap_summed(
    stats: np.ndarray | Sequence[Sequence[float]],
    score: Callable[[np.ndarray], float],
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Interval:
    """Corpus statistic ``score(stats.sum(axis=0))`` and its percentile bootstrap interval.

    `stats` is an (n, k) array of per-example additive sufficient statistics (e.g.
    sacrebleu segment statistics, or (followed, total) instruction counts). Each resample's
    summed statistics come from one ``counts @ stats`` product over all resamples.
    """
    _check(n_boot, alpha)
    arr = np.asarray(stats, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"bootstrap_summed: stats must be 2-D (n, k), got shape {arr.shape}")
    n = arr.shape[0]
    if n == 0:
        return _interval(None, None, alpha, 0)
    value = float(score(arr.sum(axis=0)))
    sums = resample_counts(n, n_boot, seed).astype(float) @ arr
    boot = np.array([score(row) for row in sums], dtype=float)
    return _interval(value, boot, alpha, n)

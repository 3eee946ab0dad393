"""Online (prequential) code length of labels given representations (Voita & Titov 2020).

The labels are sent block by block: block 0 with a uniform code, every later block with the
predictions of a probe trained from scratch on all earlier blocks. The total length, in **bits**
throughout (the reference implementation adds a nats term to bits terms; we never use nats), is the
MDL of the probe family on the data: a feature that a simple probe extracts from few examples has a
short code.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

# Block sizes in percent of the data (sum 100). Cumulatively the blocks end at
# 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.25, 12.5, 25, 50 and 100 % of the examples.
DEFAULT_FRACTIONS: tuple[float, ...] = (0.1, 0.1, 0.2, 0.4, 0.8, 1.6, 3.05, 6.25, 12.5, 25, 50)

# A probe: train_probe(X_train, y_train, seed) returns predict_proba(X) -> (n, K) probabilities.
PredictProba = Callable[[Any], np.ndarray]
TrainProbe = Callable[[Any, np.ndarray, int], PredictProba]


def block_boundaries(n: int, fractions: Sequence[float] = DEFAULT_FRACTIONS, min_first: int = 1) -> list[int]:
    """End indices (exclusive, strictly increasing, last = n) of the online-code blocks.

    `fractions` are the block sizes in percent; they are normalised by their sum, so they need
    not add up to exactly 100. Block i ends at round(n · cumsum(fractions)[i] / sum(fractions))
    (halves rounded up). For small n some of these ends coincide or are 0, i.e. a block would be
    empty. What then happens, exactly:
      1. every end is raised to at least `min_first` (so block 0 holds ≥ `min_first` examples;
         online_codelength passes n_classes, giving the first probe a chance to see each class);
      2. repeated ends are dropped: an empty block would cost 0 bits and need no probe, so
         removing it changes nothing but the number of probes trained.
    Hence fewer than len(fractions) blocks are returned when n is small (e.g. n=20 gives
    [1, 3, 5, 10, 20] with min_first=1, n=1000 all 11 blocks).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"block_boundaries: n must be a positive integer, got {n!r}")
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or fr.size == 0 or not np.all(np.isfinite(fr)) or np.any(fr <= 0):
        raise ValueError(
            f"block_boundaries: fractions must be a non-empty list of positive "
            f"percentages, got {list(fractions)!r}"
        )
    if not 1 <= min_first <= n:
        raise ValueError(f"block_boundaries: min_first must be in [1, n={n}], got {min_first}")
    cum = np.cumsum(fr) / fr.sum()
    # +1e-9 keeps exact halves (e.g. 62.5) from rounding down through float error.
    ends = [max(min_first, int(math.floor(n * c + 0.5 + 1e-9))) for c in cum]
    ends[-1] = n
    out: list[int] = []
    for e in ends:
        if not out or e > out[-1]:
            out.append(min(e, n))
    return out


def balanced_order(y: Sequence[int], seed: int) -> np.ndarray:
    """A permutation of range(len(y)) whose every prefix keeps the class proportions.

    Examples are shuffled within each label (seeded), then interleaved: the j-th of the n_c
    examples of class c is placed at "time" (j + 0.5) / n_c and all examples are sorted by time
    (ties broken by a seeded random order of the classes). Any prefix of length m therefore holds
    m · n_c / n examples of class c up to ±1, so every online-code block keeps the class balance.
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"balanced_order: y must be a non-empty 1-d label array, got shape {y.shape}")
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    tie = rng.permutation(len(classes))
    times, idx, ties = [], [], []
    for ci, c in enumerate(classes):
        members = rng.permutation(np.flatnonzero(y == c))
        times.append((np.arange(len(members)) + 0.5) / len(members))
        idx.append(members)
        ties.append(np.full(len(members), tie[ci]))
    times, idx, ties = np.concatenate(times), np.concatenate(idx), np.concatenate(ties)
    return idx[np.lexsort((ties, times))]


def take(X: Any, idx: np.ndarray) -> Any:
    """Rows `idx` of X: numpy/torch arrays are indexed, other sequences (e.g. texts) listed."""
    if hasattr(X, "shape") and hasattr(X, "__getitem__") and not isinstance(X, (list, tuple)):
        return X[idx]
    return [X[i] for i in idx]


def codelength_bits(probs: np.ndarray, y: np.ndarray, uniform_mix: float = 0.0) -> float:
    """Σ −log2 p(y_i | x_i) in bits, p mixed with the uniform code: (1−ε)·p + ε/K.

    The mixture is itself a valid code (it sums to 1) and bounds one example's cost by
    log2(K/ε) bits, so one overconfident mistake cannot make the code length infinite.
    """
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y)
    if probs.ndim != 2 or probs.shape[0] != y.shape[0]:
        raise ValueError(f"probe output must have shape (n={y.shape[0]}, K), got {probs.shape}")
    k = probs.shape[1]
    if np.any(~np.isfinite(probs)) or np.any(probs < 0) or np.any(np.abs(probs.sum(1) - 1) > 1e-4):
        raise ValueError("probe output must be finite probabilities whose rows sum to 1")
    if np.any((y < 0) | (y >= k)):
        raise ValueError(f"labels must lie in [0, K={k}), got values {np.unique(y).tolist()}")
    if not 0.0 <= uniform_mix < 1.0:
        raise ValueError(f"uniform_mix must be in [0, 1), got {uniform_mix}")
    p = (1.0 - uniform_mix) * probs[np.arange(len(y)), y] + uniform_mix / k
    with np.errstate(divide="ignore"):
        return float(-np.log2(p).sum())


def online_codelength(
    X: Any,
    y: Sequence[int],
    train_probe: TrainProbe,
    n_classes: int,
    seed: int,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    uniform_mix: float = 1e-9,
    progress: bool = False,
) -> dict:
    """Online code length (bits) of labels `y` given inputs `X` for one probe family and seed.

    The data are put in `balanced_order(y, seed)` and cut at `block_boundaries(n, fractions,
    min_first=min(n_classes, n))`. Block 0 costs n0 · log2 K bits (uniform code). For each later
    block a fresh probe, `train_probe(X[:end_prev], y[:end_prev], seed)`, predicts the block and
    Σ −log2 p(y|x) (see `codelength_bits`) is added. Returns total_bits, per_block_bits,
    block_ends, uniform_bits = n · log2 K (the code with no probe) and
    compression = uniform_bits / total_bits and final_accuracy: the accuracy of the last probe
    (trained on all blocks but the last) on the last block — with the default blocks, a probe
    trained on half the data tested on the other half (NaN if there is a single block).
    """
    y = np.asarray(y)
    n = len(y)
    if y.ndim != 1 or n == 0 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"online_codelength: y must be a non-empty 1-d integer array, got dtype {y.dtype} shape {y.shape}"
        )
    if n_classes < 2 or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"online_codelength: labels must lie in [0, n_classes={n_classes}) with "
            f"n_classes ≥ 2; got labels {np.unique(y).tolist()}"
        )
    if len(X) != n:
        raise ValueError(f"online_codelength: X has {len(X)} rows but y has {n}")
    order = balanced_order(y, seed)
    ends = block_boundaries(n, fractions, min_first=min(n_classes, n))
    log2k = math.log2(n_classes)
    per_block = [ends[0] * log2k]
    final_accuracy = float("nan")
    blocks = zip(ends[:-1], ends[1:])
    if progress:
        from tqdm import tqdm

        blocks = tqdm(list(blocks), desc="online code blocks", leave=False)
    for start, end in blocks:
        train_idx, test_idx = order[:start], order[start:end]
        predict = train_probe(take(X, train_idx), y[train_idx], seed)
        probs = predict(take(X, test_idx))
        bits = codelength_bits(probs, y[test_idx], uniform_mix)
        final_accuracy = float(np.mean(np.argmax(probs, axis=1) == y[test_idx]))
        if not math.isfinite(bits):
            raise ValueError(
                f"online_codelength: the probe gave probability 0 to a true label in "
                f"block [{start}, {end}); use uniform_mix > 0"
            )
        per_block.append(bits)
    total = float(sum(per_block))
    uniform = n * log2k
    return {
        "total_bits": total,
        "per_block_bits": per_block,
        "block_ends": ends,
        "final_accuracy": final_accuracy,
        "uniform_bits": uniform,
        "compression": uniform / total if total > 0 else math.inf,
        "n": n,
        "n_classes": n_classes,
        "seed": seed,
    }

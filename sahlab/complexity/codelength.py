"""Code length of a token sequence under a model, and an exact arithmetic coder that achieves it.

The ideal code length is -sum_i log2 p(token_i | prefix) bits. The evaluation harness returns
natural-log probabilities (ln p), so bits = -sum ln p / ln 2.

The coder below proves the length is achievable, not just a formula: it is a classic integer
arithmetic coder (Witten, Neal & Cleary 1987) with 32-bit registers. Each step's model
distribution is quantised to integer frequencies summing to `total` (2^24 by default), every
symbol at least 1 so any token stays encodable; the code then takes at most
-sum log2 q(token_i) + 2 bits for the quantised q (plus a vanishing rounding term), and the
decoder, given the same distributions, returns the sequence exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Union

import numpy as np

PRECISION = 32  # register width of the coder, in bits
_FULL = (1 << PRECISION) - 1
_HALF = 1 << (PRECISION - 1)
_QUARTER = 1 << (PRECISION - 2)
DEFAULT_TOTAL = 1 << 24  # frequency total; must stay <= 2^(PRECISION-2)

# A distribution source: a [T, V] array of probabilities (row i = distribution of symbol i), or a
# callable prefix -> probabilities for step len(prefix) (what a decoder that runs the model uses).
Dists = Union[np.ndarray, Sequence[Sequence[float]], Callable[[list[int]], Sequence[float]]]


def bits_from_logprobs(logprobs) -> float:
    """Code length in bits of a sequence from its per-token natural-log probabilities ln p.

    Accepts any array-like (list, numpy, CPU torch tensor). A token at ln p = -inf costs inf
    bits. Positive values are rejected: they mean logits or log2 were passed, not ln p.
    """
    lp = np.asarray(logprobs, dtype=np.float64).ravel()
    if np.any(np.isnan(lp)) or np.any(lp == np.inf):
        raise ValueError("bits_from_logprobs: log-probabilities must not be nan or +inf")
    if np.any(lp > 1e-5):
        raise ValueError(
            f"bits_from_logprobs: got ln p = {lp.max():g} > 0; pass natural-log "
            f"probabilities (log-softmax of the logits at the observed tokens)"
        )
    return float(-lp.sum() / math.log(2))


def quantize_distribution(probs: Sequence[float], total: int = DEFAULT_TOTAL) -> np.ndarray:
    """Integer cumulative frequencies (length V + 1, from 0 to `total`) approximating `probs`.

    Every symbol gets frequency >= 1; the rounding remainder goes to the most likely symbol.
    Deterministic, so encoder and decoder compute identical tables.
    """
    p = np.asarray(probs, dtype=np.float64).ravel()
    V = p.size
    if V < 1 or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError("quantize_distribution: probabilities must be finite, >= 0, not all zero")
    if not V < total <= _QUARTER:
        raise ValueError(
            f"quantize_distribution: total must satisfy V={V} < total <= 2^{PRECISION - 2}, got {total}"
        )
    freq = np.floor(p / p.sum() * (total - V)).astype(np.int64) + 1
    freq[int(np.argmax(p))] += total - int(freq.sum())
    cum = np.zeros(V + 1, dtype=np.int64)
    np.cumsum(freq, out=cum[1:])
    return cum


def _dist(dists: Dists, prefix: list[int]) -> np.ndarray:
    if callable(dists):
        return np.asarray(dists(list(prefix)), dtype=np.float64)
    if len(prefix) >= len(dists):
        raise ValueError(
            f"arithmetic coder: no distribution for step {len(prefix)} (only {len(dists)} given)"
        )
    return np.asarray(dists[len(prefix)], dtype=np.float64)


def ideal_bits(symbols: Sequence[int], dists: Dists, total: int | None = None) -> float:
    """-sum log2 p(symbol_i) under the given distributions; with `total`, under their quantised
    version (the length the coder can reach, up to 2 bits)."""
    bits, prefix = 0.0, []
    for s in symbols:
        p = _dist(dists, prefix)
        if total is None:
            bits -= math.log2(p[s] / p.sum())
        else:
            cum = quantize_distribution(p, total)
            bits -= math.log2((cum[s + 1] - cum[s]) / total)
        prefix.append(int(s))
    return bits


def arithmetic_encode(symbols: Sequence[int], dists: Dists, total: int = DEFAULT_TOTAL) -> tuple[bytes, int]:
    """Encode `symbols` under per-step distributions. Returns (code bytes, exact length in bits).

    The bytes hold the bits MSB-first, zero-padded to a whole byte; the padding is not part of
    the code length.
    """
    bits: list[int] = []
    low, high, pending = 0, _FULL, 0

    def emit(bit: int) -> None:
        nonlocal pending
        bits.append(bit)
        bits.extend([1 - bit] * pending)
        pending = 0

    prefix: list[int] = []
    for i, s in enumerate(symbols):
        cum = quantize_distribution(_dist(dists, prefix), total)
        s = int(s)
        if not 0 <= s < cum.size - 1:
            raise ValueError(f"arithmetic_encode: symbol {i} = {s} outside the alphabet 0..{cum.size - 2}")
        span = high - low + 1
        high = low + span * int(cum[s + 1]) // total - 1
        low = low + span * int(cum[s]) // total
        while True:  # renormalise: shift out settled bits, defer the straddling (underflow) case
            if high < _HALF:
                emit(0)
            elif low >= _HALF:
                emit(1)
                low, high = low - _HALF, high - _HALF
            elif low >= _QUARTER and high < 3 * _QUARTER:
                pending += 1
                low, high = low - _QUARTER, high - _QUARTER
            else:
                break
            low, high = 2 * low, 2 * high + 1
        prefix.append(s)
    # two more bits (plus pending) single out a point inside [low, high] whatever follows
    pending += 1
    emit(0 if low < _QUARTER else 1)
    return np.packbits(np.array(bits, dtype=np.uint8)).tobytes(), len(bits)


def arithmetic_decode(code: bytes, n_symbols: int, dists: Dists, total: int = DEFAULT_TOTAL) -> list[int]:
    """Decode `n_symbols` symbols from `code` given the same distributions as the encoder.

    With a callable `dists`, the decoder only ever sees the prefix it has decoded so far, as a
    real receiver running the model would.
    """
    stream = np.unpackbits(np.frombuffer(code, dtype=np.uint8)).tolist()
    pos = 0

    def next_bit() -> int:  # bits past the end read as 0 (the encoder's padding convention)
        nonlocal pos
        pos += 1
        return stream[pos - 1] if pos <= len(stream) else 0

    value = 0
    for _ in range(PRECISION):
        value = 2 * value + next_bit()
    low, high = 0, _FULL
    out: list[int] = []
    for _ in range(n_symbols):
        cum = quantize_distribution(_dist(dists, out), total)
        span = high - low + 1
        target = ((value - low + 1) * total - 1) // span
        s = int(np.searchsorted(cum, target, side="right")) - 1
        high = low + span * int(cum[s + 1]) // total - 1
        low = low + span * int(cum[s]) // total
        while True:
            if high < _HALF:
                pass
            elif low >= _HALF:
                value, low, high = value - _HALF, low - _HALF, high - _HALF
            elif low >= _QUARTER and high < 3 * _QUARTER:
                value, low, high = value - _QUARTER, low - _QUARTER, high - _QUARTER
            else:
                break
            low, high, value = 2 * low, 2 * high + 1, 2 * value + next_bit()
        out.append(s)
    return out

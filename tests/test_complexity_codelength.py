"""Code lengths from log-probabilities and the exact arithmetic coder that achieves them."""

import math

import numpy as np
import pytest

from sahlab.complexity.codelength import (
    arithmetic_decode,
    arithmetic_encode,
    bits_from_logprobs,
    ideal_bits,
    quantize_distribution,
)


def test_bits_from_natural_log_probs():
    # p = 1/2, 1/4, 1/8 cost exactly 1 + 2 + 3 bits
    assert bits_from_logprobs(np.log([0.5, 0.25, 0.125])) == pytest.approx(6.0, abs=1e-12)
    assert bits_from_logprobs([]) == 0.0
    assert bits_from_logprobs([-math.inf, -1.0]) == math.inf
    with pytest.raises(ValueError, match="natural-log"):
        bits_from_logprobs([0.5, -1.0])  # looks like logits / probabilities, not ln p
    with pytest.raises(ValueError, match="nan"):
        bits_from_logprobs([np.nan])


def test_bits_from_torch_logprobs():
    torch = pytest.importorskip("torch")
    lp = torch.log_softmax(torch.tensor([[2.0, 0.0, -1.0]]), dim=-1)[0, [0, 2]]
    p = np.exp(np.array([2.0, 0.0, -1.0]))
    p /= p.sum()
    assert bits_from_logprobs(lp) == pytest.approx(-math.log2(p[0]) - math.log2(p[2]), rel=1e-6)


def test_quantized_distribution_is_exact_and_positive():
    p = np.array([0.7, 0.3, 0.0, 1e-12])
    cum = quantize_distribution(p, total=1 << 16)
    freq = np.diff(cum)
    assert cum[0] == 0 and cum[-1] == 1 << 16
    assert np.all(freq >= 1)  # impossible symbols stay encodable
    assert freq[0] / (1 << 16) == pytest.approx(0.7, abs=1e-3)
    with pytest.raises(ValueError):
        quantize_distribution([0.5, 0.5], total=2)  # V must be < total


def _random_case(T, V, seed, alpha=0.3):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(V, alpha), size=T)
    s = np.array([rng.choice(V, p=p) for p in P])
    return P, s


@pytest.mark.parametrize("T,V,seed", [(1, 2, 0), (300, 50, 1), (60, 2048, 2)])
def test_round_trip_and_length_close_to_ideal(T, V, seed):
    P, s = _random_case(T, V, seed)
    code, n_bits = arithmetic_encode(s, P)
    assert arithmetic_decode(code, T, P) == s.tolist()
    assert len(code) == math.ceil(n_bits / 8)
    ideal = float(-np.sum(np.log2(P[np.arange(T), s])))  # independent of the coder
    # the coder is within 2 bits of the quantised ideal; quantisation at 2^24 costs << 1 bit here
    assert ideal - 0.5 <= n_bits <= ideal + 2 + 0.5
    assert ideal_bits(s, P) == pytest.approx(ideal)


def test_confident_model_costs_far_less_than_one_bit_per_token():
    # a prefix code (Huffman) needs >= 1 bit per symbol; arithmetic coding does not
    T = 2000
    P = np.tile([0.999, 0.001], (T, 1))
    s = np.zeros(T, dtype=int)
    code, n_bits = arithmetic_encode(s, P)
    ideal = -T * math.log2(0.999)  # ≈ 2.9 bits
    assert n_bits <= ideal + 3
    assert arithmetic_decode(code, T, P) == s.tolist()


def test_decoder_with_autoregressive_model_sees_only_its_prefix():
    # toy bigram "model": next-symbol distribution depends on the previous symbol
    V = 5
    table = np.random.default_rng(3).dirichlet(np.ones(V), size=V + 1)
    model = lambda prefix: table[prefix[-1] if prefix else V]  # noqa: E731
    rng = np.random.default_rng(4)
    seq = []
    for _ in range(200):
        seq.append(int(rng.choice(V, p=model(seq))))
    code, n_bits = arithmetic_encode(seq, model)
    seen = []

    def receiver(prefix):
        seen.append(list(prefix))
        return model(prefix)

    assert arithmetic_decode(code, len(seq), receiver) == seq
    assert seen == [seq[:i] for i in range(len(seq))]
    ideal = -sum(math.log2(model(seq[:i])[c]) for i, c in enumerate(seq))
    assert abs(n_bits - ideal) <= 2.5


def test_corrupted_code_does_not_decode_to_the_message():
    P, s = _random_case(200, 20, 5)
    code, _ = arithmetic_encode(s, P)
    bad = bytes([code[0] ^ 0x80]) + code[1:]
    assert arithmetic_decode(bad, len(s), P) != s.tolist()


def test_bad_symbols_and_missing_steps_are_reported():
    P = np.full((3, 4), 0.25)
    with pytest.raises(ValueError, match="outside the alphabet"):
        arithmetic_encode([0, 9, 1], P)
    with pytest.raises(ValueError, match="no distribution for step 3"):
        arithmetic_encode([0, 1, 2, 3], P)

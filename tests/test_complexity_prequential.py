"""Prequential (online) code length with a toy add-one-smoothed categorical model."""

import math
from collections import Counter

import pytest

from sahlab.complexity.prequential import power_of_two_grid, prequential_code_length

K = 3  # alphabet {0, 1, 2}


def train_on(examples):
    return Counter(examples)


def code_length(counts, examples):
    n = sum(counts.values())
    return -sum(math.log2((counts[x] + 1) / (n + K)) for x in examples)


def test_matches_hand_computation():
    data = [0, 0, 1, 0, 2, 0, 0, 1, 1]
    calls = []

    def tracked_train(ex):
        calls.append(list(ex))
        return train_on(ex)

    out = prequential_code_length(data, [1, 2, 4, 8], tracked_train, code_length, Counter())
    # block 0 = [0] under the untrained model (uniform 1/3)
    b0 = math.log2(3)
    # block 1 = [0] after seeing [0]: p(0) = 2/4
    b1 = 1.0
    # block 2 = [1, 0] after [0, 0]: p(1) = 1/5, p(0) = 3/5
    b2 = math.log2(5) + math.log2(5 / 3)
    # block 3 = [2, 0, 0, 1] after [0, 0, 1, 0] (three 0s, one 1; n = 4 -> denominator 7)
    b3 = math.log2(7) + 2 * math.log2(7 / 4) + math.log2(7 / 2)
    assert [b["bits"] for b in out["blocks"]] == pytest.approx([b0, b1, b2, b3])
    assert out["total_bits"] == pytest.approx(b0 + b1 + b2 + b3)
    assert [c["N"] for c in out["cumulative"]] == [1, 2, 4, 8]
    assert out["cumulative"][2]["bits"] == pytest.approx(b0 + b1 + b2)
    assert [(b["start"], b["end"], b["n"]) for b in out["blocks"]] == [
        (0, 1, 1),
        (1, 2, 1),
        (2, 4, 2),
        (4, 8, 4),
    ]
    # training always sees exactly the prefix sent so far; the last example is never used
    assert calls == [[0], [0, 0], [0, 0, 1, 0]]


def test_learning_makes_the_code_shorter_than_uniform():
    data = [0] * 60 + [1] * 4
    out = prequential_code_length(data, power_of_two_grid(64), train_on, code_length, Counter())
    assert out["total_bits"] < 0.5 * len(data) * math.log2(K)


def test_power_of_two_grid():
    assert power_of_two_grid(100) == [1, 2, 4, 8, 16, 32, 64]
    assert power_of_two_grid(64, start=16) == [16, 32, 64]
    with pytest.raises(ValueError):
        power_of_two_grid(8, start=16)


def test_bad_arguments_are_reported():
    data = [0, 1, 2]
    with pytest.raises(ValueError, match="strictly increasing"):
        prequential_code_length(data, [2, 2], train_on, code_length, Counter())
    with pytest.raises(ValueError, match="exceeds"):
        prequential_code_length(data, [1, 4], train_on, code_length, Counter())
    with pytest.raises(ValueError, match="block 0"):
        prequential_code_length(data, [1], train_on, lambda s, e: -1.0, Counter())

"""Study-D feature data: exact evidence counts, exact labels (checked by a separate
implementation of Lovering et al.'s definitions), sections and determinism."""

from __future__ import annotations

from collections import Counter

import pytest

from sahlab.world.features import (
    FEATURES,
    SECTIONS,
    label_spurious,
    label_target,
    make_feature_split,
    make_probe_split,
    parse_sequence,
)


def _truth(name: str, s: list[int]) -> int:
    """Lovering et al. (2021) toy features, written independently of sahlab.world.features."""
    first, rest = s[0], s[1:]
    return int(
        {
            "contains_1": s.count(1) > 0,
            "first_equals_last": first == s[len(s) - 1],
            "prefix_duplicate": s[1] == first,
            "contains_first": rest.count(first) > 0,
            "adjacent_duplicate": any(s[i] == s[i + 1] for i in range(len(s) - 1)),
        }[name]
    )


def test_label_functions_on_hand_made_cases():
    s = [3, 3, 0, 5, 2, 7, 8, 9, 4, 3]
    assert label_spurious(s) == 1 and label_spurious([0] * 10) == 0
    assert [label_target(f, s) for f in FEATURES] == [0, 1, 1, 1, 1]
    t = [1, 0, 5, 0, 5, 0, 5, 0, 5, 6]
    assert [label_target(f, t) for f in FEATURES] == [1, 0, 0, 0, 0]
    assert label_target("contains_9", s) == 1 and label_target("contains_6", s) == 0
    with pytest.raises(ValueError, match="palindrome"):
        label_target("palindrome", s)


@pytest.mark.parametrize("target", FEATURES)
@pytest.mark.parametrize(
    "n,rate", [(1000, 0.0), (1000, 0.001), (1000, 0.05), (333, 0.2), (200, 0.5), (7, 0.1)]
)
def test_train_split_exact_evidence_and_labels(target, n, rate):
    rows = make_feature_split(target, n, rate, seed=3)
    assert len(rows) == n and len({r["id"] for r in rows}) == n
    n_ev = 0
    for r in rows:
        seq = parse_sequence(r["prompt"])
        assert len(seq) == 10 and all(0 <= d <= 9 for d in seq)
        t, s = _truth(target, seq), int(2 in seq)
        md = r["metadata"]
        assert (md["label"], md["spurious"], r["reference"]) == (t, s, str(t))
        assert seq.count(2) == s  # Lovering: the spurious token occurs once or never
        n_ev += t != s
        assert (
            md["section"]
            == {(1, 1): "both", (0, 0): "neither", (0, 1): "spurious_only", (1, 0): "target_only"}[(t, s)]
        )
    assert n_ev == round(rate * n)
    # default evidence is Lovering's "weak" counter-examples: spurious present, target absent
    assert all(r["metadata"]["section"] != "target_only" for r in rows)
    agree = Counter(r["metadata"]["section"] for r in rows if r["metadata"]["section"] in ("both", "neither"))
    assert abs(agree["both"] - agree["neither"]) <= 1


def test_evidence_kinds():
    mixed = Counter(
        r["metadata"]["section"] for r in make_feature_split("contains_1", 400, 0.25, 1, evidence="mixed")
    )
    assert mixed["spurious_only"] == 50 and mixed["target_only"] == 50
    strong = Counter(
        r["metadata"]["section"]
        for r in make_feature_split("first_equals_last", 400, 0.25, 1, evidence="target_only")
    )
    assert strong["target_only"] == 100 and strong["spurious_only"] == 0


@pytest.mark.parametrize("target", FEATURES)
@pytest.mark.parametrize("section", SECTIONS)
def test_test_sections(target, section):
    rows = make_feature_split(target, 150, 0.3, seed=5, section=section)
    want = {"both": (1, 1), "neither": (0, 0), "spurious_only": (0, 1), "target_only": (1, 0)}[
        section
    ]  # (target, spurious)
    for r in rows:
        seq = parse_sequence(r["prompt"])
        assert (_truth(target, seq), int(2 in seq)) == want
        assert r["metadata"]["section"] == section


def test_probe_splits_balanced_and_labelled():
    for feature, (pos, neg) in (
        ("target", ("both", "spurious_only")),
        ("spurious", ("spurious_only", "neither")),
    ):
        rows = make_probe_split("contains_first", feature, 101, seed=2)
        assert Counter(r["metadata"]["label"] for r in rows) == {1: 51, 0: 50}
        for r in rows:
            seq = parse_sequence(r["prompt"])
            sec = pos if r["metadata"]["label"] else neg
            assert r["metadata"]["section"] == sec
            probed = _truth("contains_first", seq) if feature == "target" else int(2 in seq)
            assert probed == r["metadata"]["label"]


def test_determinism_and_errors():
    a = make_feature_split("adjacent_duplicate", 300, 0.1, seed=11)
    assert a == make_feature_split("adjacent_duplicate", 300, 0.1, seed=11)
    assert a != make_feature_split("adjacent_duplicate", 300, 0.1, seed=12)
    with pytest.raises(ValueError, match="evidence_rate"):
        make_feature_split("contains_1", 10, 1.5, seed=0)
    with pytest.raises(ValueError, match="section"):
        make_feature_split("contains_1", 10, 0.1, seed=0, section="weak")
    with pytest.raises(ValueError, match="target feature"):
        make_feature_split("contains_10", 10, 0.1, seed=0)  # 10 is not a digit
    with pytest.raises(ValueError, match="same"):
        make_feature_split("contains_2", 10, 0.1, seed=0)
    with pytest.raises(ValueError, match="spurious feature"):
        make_feature_split("contains_1", 10, 0.1, seed=0, spurious="adjacent_duplicate")


def _truth_pair(target: str, spurious_symbol: int, s: list[int]) -> tuple[int, int]:
    if target.startswith("contains_") and target[9:].isdigit():
        t = int(int(target[9:]) in s)
    else:
        t = _truth(target, s)
    return t, int(spurious_symbol in s)


@pytest.mark.parametrize(
    "target,spurious",
    [
        ("contains_3", "contains_2"),
        ("first_equals_last", "contains_3"),
        ("adjacent_duplicate", "contains_3"),
        ("contains_first", "contains_2"),
    ],
)
def test_pairs_over_a_large_vocabulary(target, spurious):
    k = int(spurious[9:])
    rows = make_feature_split(target, 400, 0.25, seed=4, spurious=spurious, vocab_size=1000)
    seen = set()
    for r in rows:
        seq = parse_sequence(r["prompt"])
        seen.update(seq)
        assert len(seq) == 10 and all(0 <= d < 1000 for d in seq)
        t, s = _truth_pair(target, k, seq)
        assert (r["metadata"]["label"], r["metadata"]["spurious"]) == (t, s)
        assert seq.count(k) == s
    assert len(seen) > 500  # the symbols really come from the large vocabulary
    assert sum(r["metadata"]["section"] == "spurious_only" for r in rows) == 100
    for section in SECTIONS:
        for r in make_feature_split(
            target, 50, 0.0, seed=1, section=section, spurious=spurious, vocab_size=1000
        ):
            seq = parse_sequence(r["prompt"])
            want = {"both": (1, 1), "neither": (0, 0), "spurious_only": (0, 1), "target_only": (1, 0)}[
                section
            ]
            assert _truth_pair(target, k, seq) == want
    probe = make_probe_split(target, "spurious", 101, seed=0, spurious=spurious, vocab_size=1000)
    assert sum(r["metadata"]["label"] for r in probe) == 51

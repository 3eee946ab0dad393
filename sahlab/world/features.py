"""Lovering et al. (2021) toy features on digit sequences, for study D.

A sequence is ``length`` digits 0–9, written as tokens separated by spaces ("3 1 4 1 5 …").
The spurious feature is ``contains_2`` ("the digit 2 occurs"). Targets, as defined in Lovering
et al.'s toy code (cjlovering/predicting-inductive-biases, ``toy.py``, properties 1–5):

* ``contains_1``         — the digit 1 occurs anywhere;
* ``first_equals_last``  — the first and the last token are equal;
* ``prefix_duplicate``   — the first two tokens are equal (Lovering's "prefix dupe"; NB: *not*
  "the first token appears again", which is ``contains_first``);
* ``contains_first``     — the first token occurs again later in the sequence;
* ``adjacent_duplicate`` — some token equals its right neighbour.

Sampling follows Lovering's construction: when the spurious feature is present the digit 2
occurs exactly once, otherwise never; positive target examples are built by planting the
feature (e.g. ``t … t`` for first_equals_last), negative ones by rejection sampling. Differences
from Lovering, stated: the vocabulary is the 10 digits (Lovering: 50 000 symbols), so the
planted token may recur by chance; when planting ``contains_1`` the digit 1 occurs exactly once.

Training splits (``section=None``): ``n − round(evidence_rate·n)`` examples where spurious and
target agree (``both``/``neither``, halves) and exactly ``round(evidence_rate·n)`` evidence
examples where they disagree. Lovering's main setting uses ``spurious_only`` (their "weak")
counter-examples; ``target_only`` ("strong") and ``mixed`` (half each) are options.
Labels are the target feature. Every example is re-labelled with ``label_target`` /
``label_spurious`` before it is returned.
"""
from __future__ import annotations

import random
from typing import Sequence

from .rng import derive_seed

FEATURES = ("contains_1", "first_equals_last", "prefix_duplicate", "contains_first",
            "adjacent_duplicate")
SPURIOUS = "contains_2"
SECTIONS = ("both", "neither", "spurious_only", "target_only")
EVIDENCE_KINDS = ("spurious_only", "target_only", "mixed")
# (spurious present, target present) of each section
SECTION_LABELS = {"both": (1, 1), "neither": (0, 0), "spurious_only": (1, 0),
                  "target_only": (0, 1)}
DIGITS = tuple(range(10))
SPURIOUS_DIGIT = 2


def label_spurious(seq: Sequence[int]) -> int:
    """1 if the digit 2 occurs in `seq`."""
    return int(SPURIOUS_DIGIT in seq)


def label_target(name: str, seq: Sequence[int]) -> int:
    """The target feature `name` (one of ``FEATURES``) of `seq`, as 0/1."""
    if name == "contains_1":
        return int(1 in seq)
    if name == "first_equals_last":
        return int(seq[0] == seq[-1])
    if name == "prefix_duplicate":
        return int(seq[0] == seq[1])
    if name == "contains_first":
        return int(seq[0] in seq[1:])
    if name == "adjacent_duplicate":
        return int(any(a == b for a, b in zip(seq, seq[1:])))
    raise ValueError(f"unknown target feature {name!r}; allowed: {list(FEATURES)}")


def format_sequence(seq: Sequence[int]) -> str:
    return " ".join(str(d) for d in seq)


def parse_sequence(text: str) -> list[int]:
    return [int(t) for t in text.split()]


def _sample(rng: random.Random, target: str, spurious: int, positive: int,
            length: int) -> list[int]:
    """One sequence with the given spurious and target values (Lovering's construction)."""
    banned = {SPURIOUS_DIGIT}  # 2 only ever appears where planted
    if positive and target == "contains_1":
        banned.add(1)
    fill = [d for d in DIGITS if d not in banned]
    planted = ([SPURIOUS_DIGIT] if spurious else []) \
        + ([1] if positive and target == "contains_1" else [])
    pair = positive and target != "contains_1"  # two copies of a token t are planted
    for _ in range(10_000):
        seq = [rng.choice(fill) for _ in range(length - len(planted) - 2 * pair)]
        for d in planted:
            seq.insert(rng.randint(0, len(seq)), d)
        if pair:
            t = rng.choice(fill)
            if target == "first_equals_last":
                seq = [t] + seq + [t]
            elif target == "prefix_duplicate":
                seq = [t, t] + seq
            elif target == "contains_first":
                seq.insert(rng.randint(0, len(seq)), t)
                seq = [t] + seq
            else:  # adjacent_duplicate
                i = rng.randint(0, len(seq))
                seq[i:i] = [t, t]
        if label_target(target, seq) == positive and label_spurious(seq) == spurious:
            return seq
    raise RuntimeError(f"could not sample a {target} sequence (spurious={spurious}, "
                       f"target={positive}, length={length})")


def _check_size(n: int) -> None:
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")


def _check_args(target: str, length: int) -> None:
    if target not in FEATURES:
        raise ValueError(f"unknown target feature {target!r}; allowed: {list(FEATURES)}")
    if length < 4:
        raise ValueError(f"length must be at least 4, got {length!r}")


def section_counts(n: int, evidence_rate: float, evidence: str = "spurious_only") -> dict:
    """How many examples of each section a training split of size `n` holds."""
    if evidence not in EVIDENCE_KINDS:
        raise ValueError(f"evidence must be one of {list(EVIDENCE_KINDS)}, got {evidence!r}")
    n_ev = int(round(evidence_rate * n))
    agree = n - n_ev
    counts = {"both": (agree + 1) // 2, "neither": agree // 2}
    if evidence == "spurious_only":
        counts |= {"spurious_only": n_ev, "target_only": 0}
    elif evidence == "target_only":
        counts |= {"spurious_only": 0, "target_only": n_ev}
    else:
        counts |= {"spurious_only": n_ev // 2, "target_only": n_ev - n_ev // 2}
    return counts


def split_plan(n: int, evidence_rate: float, section: str | None,
               evidence: str = "spurious_only") -> dict:
    """Examples per section: a training split of size `n` (``section=None``, exactly
    ``round(evidence_rate·n)`` evidence examples) or all `n` from one test `section`."""
    _check_size(n)
    if not 0.0 <= evidence_rate <= 1.0:
        raise ValueError(f"evidence_rate must be in [0, 1], got {evidence_rate!r}")
    if section is None:
        return section_counts(n, evidence_rate, evidence)
    if section in SECTIONS:
        return {s: (n if s == section else 0) for s in SECTIONS}
    raise ValueError(f"unknown section {section!r}; allowed: {list(SECTIONS)} or None")


def make_feature_split(target: str, n: int, evidence_rate: float, seed: int,
                       section: str | None = None, evidence: str = "spurious_only",
                       length: int = 10) -> list[dict]:
    """Labelled sequences in the common schema, shuffled.

    ``section=None``: a training split with exactly ``round(evidence_rate·n)`` evidence
    examples (of kind `evidence`); otherwise all `n` examples come from `section` (test sets;
    `evidence_rate` is then ignored). Rows: ``{"id", "prompt": "3 1 4 …", "reference": "1"|"0",
    "metadata": {"label", "spurious", "section", "target"}}``; the label is the target feature.
    """
    _check_args(target, length)
    counts = split_plan(n, evidence_rate, section, evidence)
    rng = random.Random(derive_seed(seed, "features", target, section, evidence, n,
                                    evidence_rate, length))
    rows = []
    for sec in SECTIONS:
        spurious, positive = SECTION_LABELS[sec]
        for _ in range(counts[sec]):
            seq = _sample(rng, target, spurious, positive, length)
            rows.append({"prompt": format_sequence(seq), "reference": str(positive),
                         "metadata": {"label": positive, "spurious": spurious, "section": sec,
                                      "target": target}})
    rng.shuffle(rows)
    tag = section or f"train-{evidence_rate:g}"
    return [{"id": f"{target}-{tag}-{i}", **r} for i, r in enumerate(rows)]


def make_probe_split(target: str, feature: str, n: int, seed: int,
                     length: int = 10) -> list[dict]:
    """Lovering's probing data for the MDL extractability of one feature (label-balanced).

    ``feature="target"``: both (label 1) vs spurious_only (label 0) — the spurious feature is
    constant, only the target varies. ``feature="spurious"``: spurious_only (1) vs neither (0)
    — the target is constant (absent), only the spurious feature varies.
    """
    _check_args(target, length)
    _check_size(n)
    pos, neg = {"target": ("both", "spurious_only"),
                "spurious": ("spurious_only", "neither")}.get(feature, (None, None))
    if pos is None:
        raise ValueError(f"feature must be 'target' or 'spurious', got {feature!r}")
    rng = random.Random(derive_seed(seed, "probe", target, feature, n, length))
    rows = []
    for sec, label, k in ((pos, 1, (n + 1) // 2), (neg, 0, n // 2)):
        spurious, positive = SECTION_LABELS[sec]
        for _ in range(k):
            seq = _sample(rng, target, spurious, positive, length)
            rows.append({"prompt": format_sequence(seq), "reference": str(label),
                         "metadata": {"label": label, "spurious": spurious, "section": sec,
                                      "target": target, "probed": feature}})
    rng.shuffle(rows)
    return [{"id": f"{target}-probe-{feature}-{i}", **r} for i, r in enumerate(rows)]


def random_sequences(rng: random.Random, n: int, length: int = 10) -> list[str]:
    """Unlabelled, uniformly random sequences (the corpus share of this format)."""
    return [format_sequence([rng.randrange(10) for _ in range(length)]) for _ in range(n)]

"""Lovering et al. (2021) toy features on symbol sequences, for study D.

A sequence is ``length`` symbols drawn from the integers 0 … ``vocab_size`` − 1, written as
decimal numbers separated by spaces ("312 1 47 …"), as in Lovering's toy data (their symbols are
integers up to 50 000 written as strings). Features of a sequence, as defined in Lovering et al.'s
toy code (cjlovering/predicting-inductive-biases, ``toy.py``, properties 1–5):

* ``contains_<k>``       — the symbol k occurs anywhere (Lovering's target 1 is ``contains_1``,
  their spurious "distractor" is ``contains_2``);
* ``first_equals_last``  — the first and the last symbol are equal;
* ``prefix_duplicate``   — the first two symbols are equal (Lovering's "prefix dupe"; NB: *not*
  "the first symbol appears again", which is ``contains_first``);
* ``contains_first``     — the first symbol occurs again later in the sequence;
* ``adjacent_duplicate`` — some symbol equals its right neighbour.

A task is a (target, spurious) pair: the label is the target, the spurious feature is one of the
``contains_<k>`` features (Lovering's distractors are of this kind; ``contains_2`` is the default).
Sampling follows Lovering's construction: a planted ``contains_<k>`` symbol occurs exactly once
and never elsewhere; positive relational targets are built by planting the feature (e.g.
``t … t`` for first_equals_last), negative ones by rejection sampling. With the study's default
vocabulary (1 000 symbols) a chance recurrence of a symbol in a 10-symbol sequence is rare
(≈ 1 % of sequences have an adjacent duplicate by chance, vs ≈ 60 % with the 10 digits).
``vocab_size=10`` (the digits, the default of these functions) reproduces the earlier digit
version; the pre-training corpus's ``sequences`` share is always digit sequences
(`random_sequences`).

Training splits (``section=None``): ``n − round(evidence_rate·n)`` examples where spurious and
target agree (``both``/``neither``, halves) and exactly ``round(evidence_rate·n)`` evidence
examples where they disagree. Lovering's main setting uses ``spurious_only`` (their "weak")
counter-examples; ``target_only`` ("strong") and ``mixed`` (half each) are options.
Labels are the target feature. Every example is re-labelled with ``label_target`` /
``label_spurious`` before it is returned.
"""

from __future__ import annotations

import random
import re
from typing import Sequence

from .rng import derive_seed

FEATURES = (
    "contains_1",
    "first_equals_last",
    "prefix_duplicate",
    "contains_first",
    "adjacent_duplicate",
)  # Lovering's five toy targets
RELATIONAL = ("first_equals_last", "prefix_duplicate", "contains_first", "adjacent_duplicate")
SPURIOUS = "contains_2"
SECTIONS = ("both", "neither", "spurious_only", "target_only")
EVIDENCE_KINDS = ("spurious_only", "target_only", "mixed")
# (spurious present, target present) of each section
SECTION_LABELS = {"both": (1, 1), "neither": (0, 0), "spurious_only": (1, 0), "target_only": (0, 1)}
DIGITS = tuple(range(10))
SPURIOUS_DIGIT = 2
_CONTAINS = re.compile(r"contains_(\d+)$")


def contains_symbol(name: str) -> int | None:
    """k for a feature named ``contains_<k>``, else None."""
    m = _CONTAINS.match(name)
    return int(m.group(1)) if m else None


def is_target(name: str, vocab_size: int = 10) -> bool:
    """Whether `name` is a toy target feature for this vocabulary."""
    k = contains_symbol(name)
    return name in RELATIONAL or (k is not None and k < vocab_size)


def is_spurious(name: str, vocab_size: int = 10) -> bool:
    """Whether `name` can be a toy spurious feature (``contains_<k>``, k in the vocabulary)."""
    k = contains_symbol(name)
    return k is not None and k < vocab_size


def check_pair(target: str, spurious: str = SPURIOUS, vocab_size: int = 10) -> None:
    """ValueError unless (target, spurious) is a toy pair this module can sample."""
    if not isinstance(vocab_size, int) or vocab_size < 10:
        raise ValueError(f"vocab_size must be an integer ≥ 10, got {vocab_size!r}")
    if not is_target(target, vocab_size):
        raise ValueError(
            f"unknown target feature {target!r}; allowed: contains_<k> "
            f"(k < {vocab_size}) or one of {list(RELATIONAL)}"
        )
    if not is_spurious(spurious, vocab_size):
        raise ValueError(f"unknown spurious feature {spurious!r}; allowed: contains_<k> (k < {vocab_size})")
    if target == spurious:
        raise ValueError(f"target and spurious feature are the same ({target!r})")


def label_spurious(seq: Sequence[int], spurious: str = SPURIOUS) -> int:
    """1 if the spurious feature (``contains_<k>``: symbol k occurs) holds for `seq`."""
    k = contains_symbol(spurious)
    if k is None:
        raise ValueError(f"unknown spurious feature {spurious!r}; allowed: contains_<k>")
    return int(k in seq)


def label_target(name: str, seq: Sequence[int]) -> int:
    """The target feature `name` (``contains_<k>`` or one of ``RELATIONAL``) of `seq`, as 0/1."""
    k = contains_symbol(name)
    if k is not None:
        return int(k in seq)
    if name == "first_equals_last":
        return int(seq[0] == seq[-1])
    if name == "prefix_duplicate":
        return int(seq[0] == seq[1])
    if name == "contains_first":
        return int(seq[0] in seq[1:])
    if name == "adjacent_duplicate":
        return int(any(a == b for a, b in zip(seq, seq[1:])))
    raise ValueError(f"unknown target feature {name!r}; allowed: contains_<k> or {list(RELATIONAL)}")


def format_sequence(seq: Sequence[int]) -> str:
    return " ".join(str(d) for d in seq)


def parse_sequence(text: str) -> list[int]:
    return [int(t) for t in text.split()]


def _sample(
    rng: random.Random,
    target: str,
    spurious: int,
    positive: int,
    length: int,
    spurious_name: str = SPURIOUS,
    vocab_size: int = 10,
) -> list[int]:
    """One sequence with the given spurious and target values (Lovering's construction)."""
    s_sym = contains_symbol(spurious_name)
    t_sym = contains_symbol(target)
    banned = {s_sym}  # a contains_<k> symbol only ever appears where planted
    if t_sym is not None:
        banned.add(t_sym)

    def draw() -> int:
        while True:
            x = rng.randrange(vocab_size)
            if x not in banned:
                return x

    planted = ([s_sym] if spurious else []) + ([t_sym] if positive and t_sym is not None else [])
    pair = positive and t_sym is None  # two copies of a symbol t are planted
    for _ in range(10_000):
        seq = [draw() for _ in range(length - len(planted) - 2 * pair)]
        for d in planted:
            seq.insert(rng.randint(0, len(seq)), d)
        if pair:
            t = draw()
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
        if label_target(target, seq) == positive and label_spurious(seq, spurious_name) == spurious:
            return seq
    raise RuntimeError(
        f"could not sample a {target} sequence (spurious {spurious_name}="
        f"{spurious}, target={positive}, length={length})"
    )


def _check_size(n: int) -> None:
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")


def _check_args(target: str, length: int, spurious: str = SPURIOUS, vocab_size: int = 10) -> None:
    check_pair(target, spurious, vocab_size)
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


def split_plan(n: int, evidence_rate: float, section: str | None, evidence: str = "spurious_only") -> dict:
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


def make_feature_split(
    target: str,
    n: int,
    evidence_rate: float,
    seed: int,
    section: str | None = None,
    evidence: str = "spurious_only",
    length: int = 10,
    spurious: str = SPURIOUS,
    vocab_size: int = 10,
) -> list[dict]:
    """Labelled sequences in the common schema, shuffled.

    ``section=None``: a training split with exactly ``round(evidence_rate·n)`` evidence
    examples (of kind `evidence`); otherwise all `n` examples come from `section` (test sets;
    `evidence_rate` is then ignored). Rows: ``{"id", "prompt": "3 1 4 …", "reference": "1"|"0",
    "metadata": {"label", "spurious", "section", "target", "spurious_feature"}}``; the label is
    the target feature. The default (spurious contains_2, 10 digits) is the digit version.
    """
    _check_args(target, length, spurious, vocab_size)
    counts = split_plan(n, evidence_rate, section, evidence)
    extra = () if (spurious, vocab_size) == (SPURIOUS, 10) else (spurious, vocab_size)
    rng = random.Random(
        derive_seed(seed, "features", target, section, evidence, n, evidence_rate, length, *extra)
    )
    rows = []
    for sec in SECTIONS:
        s_val, positive = SECTION_LABELS[sec]
        for _ in range(counts[sec]):
            seq = _sample(rng, target, s_val, positive, length, spurious, vocab_size)
            rows.append(
                {
                    "prompt": format_sequence(seq),
                    "reference": str(positive),
                    "metadata": {
                        "label": positive,
                        "spurious": s_val,
                        "section": sec,
                        "target": target,
                        "spurious_feature": spurious,
                    },
                }
            )
    rng.shuffle(rows)
    tag = section or f"train-{evidence_rate:g}"
    return [{"id": f"{target}-{tag}-{i}", **r} for i, r in enumerate(rows)]


def make_probe_split(
    target: str,
    feature: str,
    n: int,
    seed: int,
    length: int = 10,
    spurious: str = SPURIOUS,
    vocab_size: int = 10,
) -> list[dict]:
    """Lovering's probing data for the MDL extractability of one feature (label-balanced).

    ``feature="target"``: both (label 1) vs spurious_only (label 0) — the spurious feature is
    constant, only the target varies. ``feature="spurious"``: spurious_only (1) vs neither (0)
    — the target is constant (absent), only the spurious feature varies.
    """
    _check_args(target, length, spurious, vocab_size)
    _check_size(n)
    pos, neg = {"target": ("both", "spurious_only"), "spurious": ("spurious_only", "neither")}.get(
        feature, (None, None)
    )
    if pos is None:
        raise ValueError(f"feature must be 'target' or 'spurious', got {feature!r}")
    extra = () if (spurious, vocab_size) == (SPURIOUS, 10) else (spurious, vocab_size)
    rng = random.Random(derive_seed(seed, "probe", target, feature, n, length, *extra))
    rows = []
    for sec, label, k in ((pos, 1, (n + 1) // 2), (neg, 0, n // 2)):
        s_val, positive = SECTION_LABELS[sec]
        for _ in range(k):
            seq = _sample(rng, target, s_val, positive, length, spurious, vocab_size)
            rows.append(
                {
                    "prompt": format_sequence(seq),
                    "reference": str(label),
                    "metadata": {
                        "label": label,
                        "spurious": s_val,
                        "section": sec,
                        "target": target,
                        "spurious_feature": spurious,
                        "probed": feature,
                    },
                }
            )
    rng.shuffle(rows)
    return [{"id": f"{target}-probe-{feature}-{i}", **r} for i, r in enumerate(rows)]


def random_sequences(rng: random.Random, n: int, length: int = 10) -> list[str]:
    """Unlabelled, uniformly random sequences (the corpus share of this format)."""
    return [format_sequence([rng.randrange(10) for _ in range(length)]) for _ in range(n)]

"""A natural-language variant of the Lovering feature tasks, built from the world's English sentences.

Target features: ``past_tense`` (the sentence's verb is in the past tense) and
``plural_subject`` (the subject noun phrase is plural) — grammatical properties the pre-trained
model saw in the corpus. Spurious feature ``cue_<word>``: the sentence contains the cue word (an
adjective of the world's lexicon, ``cue_happy`` by default) — a purely lexical cue.

Sentences come from `sahlab.world.language.random_sentence` with the world's own language
settings; the target attribute is set to the target value and the cue is planted in one noun
phrase (or removed from every noun phrase) so each example lies in the requested section. Splits use the
same section counts as the toy tasks (`sahlab.world.features.split_plan`), so the evidence
rate of a training split is exact in the same way.
"""

from __future__ import annotations

import random
import re

from sahlab.world.features import SECTION_LABELS, SECTIONS, split_plan
from sahlab.world.rng import derive_seed

NL_TARGETS = ("past_tense", "plural_subject")
DEFAULT_CUE = "happy"
NL_SPURIOUS_PREFIX = "cue_"


def cue_of(spurious: str) -> str:
    """The cue word of a spurious feature named ``cue_<word>``."""
    if (
        not isinstance(spurious, str)
        or not spurious.startswith(NL_SPURIOUS_PREFIX)
        or len(spurious) == len(NL_SPURIOUS_PREFIX)
    ):
        raise ValueError(
            f"unknown natural-language spurious feature {spurious!r}; allowed: "
            f"cue_<adjective of the world>, e.g. cue_{DEFAULT_CUE}"
        )
    return spurious[len(NL_SPURIOUS_PREFIX) :]


_WORD = re.compile(r"[a-z]+")


def _lexicon(world: dict) -> tuple[dict, dict]:
    """The world's language and its sentence settings, with a clear error if absent."""
    try:
        return world["language"], world["config"]["language"]
    except (KeyError, TypeError):
        raise ValueError(
            "world: expected world.json with 'language' and 'config.language' (results/data/world/world.json)"
        ) from None


def cue_index(world: dict, cue: str) -> int:
    """Index of the cue adjective in the world's lexicon."""
    lang, _ = _lexicon(world)
    words = [a["en"] for a in lang["adjectives"]]
    if cue not in words:
        raise ValueError(f"cue word {cue!r} is not an adjective of the world; allowed: {words}")
    return words.index(cue)


def nl_label_target(target: str, structure: dict) -> int:
    if target == "past_tense":
        return int(bool(structure["past"]))
    if target == "plural_subject":
        return int(bool(structure["subj"]["plural"]))
    raise ValueError(f"unknown natural-language target {target!r}; allowed: {list(NL_TARGETS)}")


def nl_label_spurious(text: str, cue: str) -> int:
    """1 if the cue word occurs as a whole word (case-insensitive) in `text`."""
    return int(cue in _WORD.findall(text.lower()))


def _noun_phrases(s: dict) -> list[dict]:
    return [s["subj"], s["obj"]] + ([s["pp"]["np"]] if s["pp"] else [])


def _sample(rng: random.Random, world: dict, target: str, spurious: int, positive: int, cue: str) -> str:
    from sahlab.world.language import english, random_sentence

    lang, lcfg = _lexicon(world)
    ci = cue_index(world, cue)
    others = [i for i in range(len(lang["adjectives"])) if i != ci]
    s = random_sentence(rng, lang, lcfg)
    if target == "past_tense":
        s["past"] = bool(positive)
    else:
        s["subj"]["plural"] = bool(positive)
    nps = _noun_phrases(s)
    for np_ in nps:  # remove the cue everywhere, then plant it once if wanted
        if np_["adj"] == ci:
            np_["adj"] = rng.choice(others)
    if spurious:
        rng.choice(nps)["adj"] = ci
    text = english(s, lang)
    if nl_label_target(target, s) != positive or nl_label_spurious(text, cue) != spurious:
        raise RuntimeError(f"nl sampler built a sentence in the wrong section: {text!r}")
    return text


def make_nl_feature_split(
    world: dict,
    target: str,
    n: int,
    evidence_rate: float,
    seed: int,
    section: str | None = None,
    evidence: str = "spurious_only",
    cue: str = DEFAULT_CUE,
) -> list[dict]:
    """Labelled English sentences in the common schema (like `make_feature_split`), shuffled.

    ``section=None``: a training split with exactly ``round(evidence_rate·n)`` examples where
    target and spurious features disagree (kind `evidence`); else all `n` from `section`.
    """
    if target not in NL_TARGETS:
        raise ValueError(f"unknown natural-language target {target!r}; allowed: {list(NL_TARGETS)}")
    counts = split_plan(n, evidence_rate, section, evidence)
    rng = random.Random(derive_seed(seed, "nl_features", target, cue, section, evidence, n, evidence_rate))
    rows = []
    for sec in SECTIONS:
        spurious, positive = SECTION_LABELS[sec]
        for _ in range(counts[sec]):
            rows.append(
                {
                    "prompt": _sample(rng, world, target, spurious, positive, cue),
                    "reference": str(positive),
                    "metadata": {
                        "label": positive,
                        "spurious": spurious,
                        "section": sec,
                        "target": target,
                        "cue": cue,
                    },
                }
            )
    rng.shuffle(rows)
    tag = section or f"train-{evidence_rate:g}"
    return [{"id": f"{target}-{tag}-{i}", **r} for i, r in enumerate(rows)]


def make_nl_probe_split(
    world: dict, target: str, feature: str, n: int, seed: int, cue: str = DEFAULT_CUE
) -> list[dict]:
    """Label-balanced probing data as in `make_probe_split`: ``feature="target"`` = both (1) vs
    spurious_only (0); ``feature="spurious"`` = spurious_only (1) vs neither (0)."""
    pos, neg = {"target": ("both", "spurious_only"), "spurious": ("spurious_only", "neither")}.get(
        feature, (None, None)
    )
    if pos is None:
        raise ValueError(f"feature must be 'target' or 'spurious', got {feature!r}")
    if target not in NL_TARGETS:
        raise ValueError(f"unknown natural-language target {target!r}; allowed: {list(NL_TARGETS)}")
    rng = random.Random(derive_seed(seed, "nl_probe", target, cue, feature, n))
    rows = []
    for sec, label, k in ((pos, 1, (n + 1) // 2), (neg, 0, n // 2)):
        spurious, positive = SECTION_LABELS[sec]
        for _ in range(k):
            rows.append(
                {
                    "prompt": _sample(rng, world, target, spurious, positive, cue),
                    "reference": str(label),
                    "metadata": {
                        "label": label,
                        "spurious": spurious,
                        "section": sec,
                        "target": target,
                        "probed": feature,
                        "cue": cue,
                    },
                }
            )
    rng.shuffle(rows)
    return [{"id": f"{target}-probe-{feature}-{i}", **r} for i, r in enumerate(rows)]

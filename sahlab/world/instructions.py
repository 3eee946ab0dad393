"""Instruction-following prompts about world entities with IFEval-style verifiable constraints.

A prompt asks for a short text about a city, company, university or corpus person and adds 1–2
constraints, with ``instruction_id_list`` / ``kwargs`` in IFEval's exact layout. The reference is
one compliant answer built from the entity's facts; numeric kwargs (word counts) are chosen
from the finished reference so it complies by construction (and tests re-check it with
``sahlab.ifeval.check``).
"""

from __future__ import annotations

import json
import random
import re

from .biographies import attributes, describe, fact_value, kind_of
from .layouts import request_prompt

INSTRUCTION_IDS = (
    "change_case:english_capital",
    "change_case:english_lowercase",
    "length_constraints:number_words",
    "keywords:existence",
    "startend:end_checker",
    "detectable_format:json_format",
    "detectable_format:number_bullet_lists",
    "startend:quotation",
    "punctuation:no_comma",
)
# Pairs that no single response can satisfy (or whose checkers interfere).
CONFLICTS = {
    frozenset(p)
    for p in (
        ("change_case:english_capital", "change_case:english_lowercase"),
        ("detectable_format:json_format", "startend:quotation"),
        ("detectable_format:json_format", "detectable_format:number_bullet_lists"),
        ("detectable_format:json_format", "startend:end_checker"),
        ("detectable_format:json_format", "punctuation:no_comma"),
        ("startend:quotation", "detectable_format:number_bullet_lists"),
        ("startend:quotation", "startend:end_checker"),
    )
}
END_PHRASES = (
    "Is there anything else I can help with?",
    "Any other questions?",
    "Let me know if you have additional questions.",
    "That is all I know.",
    "Hope this helps.",
)
SENTENCE_PROMPTS = {
    "city": "Write a sentence about the city of {X}.",
    "company": "Write a sentence about the company {X}.",
    "university": "Write a sentence about {X}.",
    "person": "Write a sentence about {X}.",
}
TEXT_PROMPTS = {
    "city": ("Describe the city of {X}.", "Tell me about {X}.", "Write a short text about the city of {X}."),
    "company": (
        "Describe the company {X}.",
        "Tell me about {X}.",
        "Write a short text about the company {X}.",
    ),
    "university": ("Describe {X}.", "Tell me about {X}.", "Write a short text about {X}."),
    "person": ("Write a short biography of {X}.", "Tell me about {X}.", "Describe {X}."),
}
_WORD = re.compile(r"\w+")
_KEYWORD_STOP = {"with", "from", "that", "this", "there", "their", "have", "into", "where"}


def _instruction_text(iid: str, kw: dict) -> str:
    if iid == "change_case:english_capital":
        return "Your entire response should be in English, and in all capital letters."
    if iid == "change_case:english_lowercase":
        return (
            "Your entire response should be in English, and in all lowercase letters. "
            "No capital letters are allowed."
        )
    if iid == "length_constraints:number_words":
        return f"Answer with {kw['relation']} {kw['num_words']} words."
    if iid == "keywords:existence":
        return f"Include keywords {', '.join(kw['keywords'])} in the response."
    if iid == "startend:end_checker":
        phrase = kw["end_phrase"]
        stop = "" if phrase[-1] in ".?!" else "."  # no doubled full stop after the phrase
        return (
            f"Finish your response with this exact phrase {phrase}{stop} "
            "No other words should follow this phrase."
        )
    if iid == "detectable_format:json_format":
        return "Entire output should be wrapped in JSON format."
    if iid == "detectable_format:number_bullet_lists":
        return (
            f"Your answer must contain exactly {kw['num_bullets']} bullet points. Use the "
            "markdown bullet points such as:\n* This is point 1.\n* This is point 2"
        )
    if iid == "startend:quotation":
        return "Wrap your entire response with double quotation marks."
    if iid == "punctuation:no_comma":
        return "In your entire response, refrain from the use of any commas."
    raise ValueError(f"unknown instruction id {iid!r}; supported: {list(INSTRUCTION_IDS)}")


def sample_ids(rng: random.Random, allowed: list[str], max_constraints: int) -> list[str]:
    """1..max_constraints distinct, mutually compatible instruction ids."""
    k = rng.randint(1, min(max_constraints, len(allowed)))
    for _ in range(100):
        ids = rng.sample(allowed, k)
        if not any(frozenset((a, b)) in CONFLICTS for i, a in enumerate(ids) for b in ids[i + 1 :]):
            # the bullet instruction ends with an example list, so it goes last in the prompt
            return sorted(ids, key=lambda i: i == "detectable_format:number_bullet_lists")
    return rng.sample(allowed, 1)


def make_instruction(world, entity: dict, rng: random.Random, icfg: dict) -> dict:
    """One instruction example: ``{"prompt", "reference", "instruction_id_list", "kwargs"}``."""
    ids = sample_ids(rng, list(icfg["instruction_ids"]), icfg["max_constraints"])
    kind = kind_of(entity)
    attrs = attributes(entity)
    structured = "detectable_format:json_format" in ids or "detectable_format:number_bullet_lists" in ids
    one_sentence = not structured and rng.random() < 0.3
    base = SENTENCE_PROMPTS[kind] if one_sentence else rng.choice(TEXT_PROMPTS[kind])
    n_facts = 1 if one_sentence else rng.randint(2, min(4, len(attrs)))
    facts = describe(world, entity, rng, 0.0, tuple(rng.sample(attrs, n_facts)))
    kwargs: dict[str, dict] = {iid: {} for iid in ids}

    if "detectable_format:json_format" in ids:
        obj = {kind: entity["name"]}
        for attr, _ in facts:
            obj[attr] = entity[attr] if isinstance(entity[attr], int) else fact_value(world, entity, attr)
        text = json.dumps(obj, ensure_ascii=False)
    elif "detectable_format:number_bullet_lists" in ids:
        text = "\n".join(f"* {s}" for _, s in facts)
        kwargs["detectable_format:number_bullet_lists"] = {"num_bullets": len(facts)}
    else:
        text = " ".join(s for _, s in facts)
    if "punctuation:no_comma" in ids:
        text = text.replace(", ", " ").replace(",", "")
    if "keywords:existence" in ids:
        words = sorted(
            {w for w in _WORD.findall(text) if w.isalpha() and len(w) >= 4 and w.lower() not in _KEYWORD_STOP}
        )
        kwargs["keywords:existence"] = {"keywords": rng.sample(words, min(len(words), rng.randint(1, 2)))}
    if "startend:end_checker" in ids:
        phrase = rng.choice(END_PHRASES)
        text += ("\n" if "detectable_format:number_bullet_lists" in ids else " ") + phrase
        kwargs["startend:end_checker"] = {"end_phrase": phrase}
    if "startend:quotation" in ids:
        text = f'"{text}"'
    if "change_case:english_capital" in ids:
        text = text.upper()
    if "change_case:english_lowercase" in ids:
        text = text.lower()
    if "length_constraints:number_words" in ids:
        count = len(_WORD.findall(text))
        if rng.random() < 0.5:
            kw = {"relation": "at least", "num_words": rng.randint(max(1, 2 * count // 3), count)}
        else:
            kw = {"relation": "less than", "num_words": count + rng.randint(1, max(2, count // 3))}
        kwargs["length_constraints:number_words"] = kw
    prompt = " ".join([base.format(X=entity["name"])] + [_instruction_text(iid, kwargs[iid]) for iid in ids])
    return {
        "prompt": prompt,
        "reference": text,
        "instruction_id_list": ids,
        "kwargs": [kwargs[iid] for iid in ids],
    }


def corpus_text(example: dict) -> str:
    """The non-chat frame in which instruction examples appear in the pre-training corpus."""
    return request_prompt(example["prompt"]) + example["reference"]


def instruction_entities(world) -> list[dict]:
    """Entities instruction prompts may be about: everything visible in the corpus."""
    return world.cities + world.companies + world.universities + world.corpus_people

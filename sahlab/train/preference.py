"""Preference pairs (chosen, rejected) built from task data alone, without any model.

chosen = the row's reference (correct and compliant); rejected = a corrupted copy that keeps the
format and most of the content but fails the task's verifiable reward (`sahlab.train.rewards`,
the scorers' own per-example value):

* math — the worked solution with its final ``#### N`` replaced by ``#### M``, M = N ± 1..9
  (never negative when N is not; same format, wrong final number);
* instructions — the same answer made to violate one of its instructions, picked at random:
  case flipped (capitals ↔ lower case), word/sentence count pushed across the limit,
  keyword removed, forbidden word added, end phrase dropped, quotes/JSON/title/highlight
  markup removed, one bullet removed (or one added), postscript cut, a comma added…
  (see `_VIOLATIONS`); the result is re-checked with `sahlab.ifeval.check` and generic edits
  (case flip, last line dropped, preamble added) are tried if the targeted one fails;
* multihop — a wrong entity of the same type: another row's answer, from rows whose answer
  type matches (``metadata.answer_type``/``relation``/``attribute``/``type`` if present, else the
  first two words of the question, e.g. "where was"), any other answer if none matches;
* translation — about a third of the words dropped (at least one) and the rest shuffled;
  one-word translations get their letters reversed.

Rows whose reference does not itself earn the full reward, or that cannot be corrupted, are
skipped and counted in a log message. Every random choice uses ``Random(f"{seed}:{row id}")``,
so a pair does not depend on the order of the rows.
"""

from __future__ import annotations

import logging
import random
import re
from decimal import Decimal
from typing import Callable

from sahlab.eval.scorers import extract_math_answer, normalize_answer
from sahlab.train.rewards import example_reward

PAIR_TASKS = ("math", "instructions", "multihop", "translation")  # the tasks pairs can be built for

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")


def make_preference_pairs(examples: list[dict], task: str, seed: int) -> list[dict]:
    """Build one (chosen, rejected) pair per usable row of `task` (common schema).

    Returns rows ``{"id", "task", "prompt", "chosen", "rejected", "metadata"}`` where metadata is
    the row's metadata plus ``"corruption"`` (what was done to make `rejected`).
    """
    if task not in PAIR_TASKS:
        raise ValueError(f"make_preference_pairs: unknown task {task!r}; allowed: {list(PAIR_TASKS)}")
    for i, ex in enumerate(examples):
        for key in ("id", "prompt", "reference"):
            if not isinstance(ex.get(key), str):
                raise ValueError(f"make_preference_pairs: row {i} needs a string {key!r}")
    pairs, skipped = [], {"reference fails": 0, "no corruption": 0}
    multihop_pool = _answer_pool(examples) if task == "multihop" else None
    for ex in examples:
        ex = {**ex, "task": task}
        if example_reward(ex, ex["reference"]) < 1.0:
            skipped["reference fails"] += 1
            continue
        rng = random.Random(f"{seed}:{ex['id']}")
        if task == "math":
            out = _corrupt_math(ex, rng)
        elif task == "instructions":
            out = _corrupt_instructions(ex, rng)
        elif task == "multihop":
            out = _corrupt_multihop(ex, rng, multihop_pool)
        else:
            out = _corrupt_translation(ex, rng)
        if out is None:
            skipped["no corruption"] += 1
            continue
        rejected, how = out
        pairs.append(
            {
                "id": ex["id"],
                "task": task,
                "prompt": ex["prompt"],
                "chosen": ex["reference"],
                "rejected": rejected,
                "metadata": {**(ex.get("metadata") or {}), "corruption": how},
            }
        )
    if any(skipped.values()):
        log.warning(
            "make_preference_pairs(%s): %d pairs from %d rows; skipped %s",
            task,
            len(pairs),
            len(examples),
            skipped,
        )
    return pairs


# --------------------------------------------------------------------------- math
def _corrupt_math(ex: dict, rng: random.Random) -> tuple[str, str] | None:
    ref = ex["reference"]
    answer = extract_math_answer(ref)
    if answer is None:
        return None
    delta = Decimal(rng.choice([-1, 1]) * rng.randint(1, 9))
    if answer >= 0 > answer + delta:  # a negative answer to a counting question is an easy tell
        delta = -delta
    wrong = answer + delta
    head, tail = ref.rsplit("####", 1)
    m = re.search(r"-?\d[\d,]*(?:\.\d+)?", tail)
    new_tail = tail[: m.start()] + _format_number(wrong) + tail[m.end() :]
    return f"{head}####{new_tail}", f"final answer {answer} -> {_format_number(wrong)}"


def _format_number(x: Decimal) -> str:
    text = format(x, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------- multihop
def _answer_type(ex: dict) -> str:
    meta = ex.get("metadata") or {}
    for key in ("answer_type", "relation", "attribute", "type"):
        if meta.get(key):
            return f"{key}={meta[key]}"
    question = ex["prompt"].strip().splitlines()[-1] if ex["prompt"].strip() else ""
    return "q=" + " ".join(question.lower().split()[:2])


def _answer_pool(examples: list[dict]) -> dict[str, list[str]]:
    pool: dict[str, list[str]] = {}
    for ex in examples:
        answer = str((ex.get("metadata") or {}).get("answer", ex.get("reference", "")))
        pool.setdefault(_answer_type(ex), []).append(answer)
        pool.setdefault("*", []).append(answer)
    return {k: sorted(set(v)) for k, v in pool.items()}


def _corrupt_multihop(ex: dict, rng: random.Random, pool: dict) -> tuple[str, str] | None:
    answer = str((ex.get("metadata") or {}).get("answer", ex["reference"]))
    for group in (_answer_type(ex), "*"):
        others = [a for a in pool.get(group, []) if normalize_answer(a) != normalize_answer(answer)]
        if others:
            wrong = rng.choice(others)
            ref = ex["reference"]
            rejected = ref.replace(answer, wrong) if answer and answer in ref else wrong
            return rejected, f"answer {answer!r} -> {wrong!r} (same type: {group != '*'})"
    return None


# --------------------------------------------------------------------------- translation
def _corrupt_translation(ex: dict, rng: random.Random) -> tuple[str, str] | None:
    words = ex["reference"].split()
    if not words:
        return None
    if len(words) == 1:
        rejected = words[0][::-1]
        return (rejected, "letters reversed") if rejected != words[0] else None
    n_drop = max(1, round(len(words) / 3))
    drop = set(rng.sample(range(len(words)), n_drop))
    kept = [w for i, w in enumerate(words) if i not in drop]
    for _ in range(10):  # shuffle until the order changes (if it can)
        rng.shuffle(kept)
        if len(set(kept)) < 2 or kept != [w for i, w in enumerate(words) if i not in drop]:
            break
    return " ".join(kept), f"dropped {n_drop} of {len(words)} words, shuffled the rest"


# --------------------------------------------------------------------------- instructions
def _cut_words(text: str, n: int) -> str:
    """`text` up to the end of its n-th word (n >= 1)."""
    spans = list(_WORD.finditer(text))
    return text[: spans[n - 1].end()] if len(spans) >= n else text


def _pad_words(text: str, n_total: int) -> str:
    words = _WORD.findall(text) or ["more"]
    extra = [words[i % len(words)] for i in range(max(0, n_total - len(words)))]
    return text.rstrip() + " " + " ".join(extra) if extra else text


def _first_sentences(text: str, n: int) -> str:
    from sahlab.ifeval import split_sentences

    return " ".join(split_sentences(text)[: max(n, 0)])


def _relation_flip(
    shrink: Callable[[str, int], str], grow: Callable[[str, int], str], rel_key: str, num_key: str
):
    """A violation for `<relation> N` constraints: shrink below N, or grow to at least N."""

    def violate(r: str, kw: dict) -> str | None:
        n = kw.get(num_key)
        if not isinstance(n, int):
            return None
        if kw.get(rel_key) == "at least":
            return shrink(r, n - 1) if n > 1 else None
        return grow(r, n)

    return violate


def _remove_phrase(r: str, phrase: str) -> str:
    return re.sub(re.escape(phrase), "", r, flags=re.IGNORECASE)


def _drop_bullet(r: str, kw: dict) -> str:
    lines = r.split("\n")
    bullets = [
        i
        for i, line in enumerate(lines)
        if re.match(r"^\s*([*-])", line) and not line.lstrip().startswith("**")
    ]
    if bullets:
        del lines[bullets[-1]]
        return "\n".join(lines)
    return r.rstrip() + "\n* one more point"


def _drop_end_phrase(r: str, kw: dict) -> str | None:
    phrase = str(kw.get("end_phrase", "")).strip()
    body = r.rstrip().rstrip('"').rstrip()
    if phrase and body.lower().endswith(phrase.lower()):
        return body[: len(body) - len(phrase)].rstrip() or None
    return None


# instruction id -> (violation(response, kwargs) -> response or None, description)
_VIOLATIONS: dict[str, tuple[Callable[[str, dict], str | None], str]] = {
    "change_case:english_capital": (lambda r, kw: r.lower(), "lower case instead of capitals"),
    "change_case:english_lowercase": (lambda r, kw: r.upper(), "capitals instead of lower case"),
    "change_case:capital_word_frequency": (
        lambda r, kw: (
            r.lower()
            if kw.get("capital_relation") == "at least"
            else r.rstrip() + " " + " ".join(["NOTE"] * int(kw.get("capital_frequency", 1)))
        ),
        "capital-word count moved across the limit",
    ),
    "length_constraints:number_words": (
        _relation_flip(_cut_words, _pad_words, "relation", "num_words"),
        "word count moved across the limit",
    ),
    "length_constraints:number_sentences": (
        _relation_flip(
            _first_sentences,
            lambda r, n: r.rstrip() + " " + " ".join(["That is all."] * n),
            "relation",
            "num_sentences",
        ),
        "sentence count moved across the limit",
    ),
    "length_constraints:number_paragraphs": (
        lambda r, kw: r.replace("***", ""),
        "paragraph dividers removed",
    ),
    "length_constraints:nth_paragraph_first_word": (
        lambda r, kw: re.sub(r"\n\s*\n", "\n", r),
        "paragraphs merged",
    ),
    "keywords:existence": (
        lambda r, kw: _remove_all(r, kw.get("keywords") or []),
        "required keywords removed",
    ),
    "keywords:forbidden_words": (
        lambda r, kw: r.rstrip() + " " + kw["forbidden_words"][0] if kw.get("forbidden_words") else None,
        "a forbidden word added",
    ),
    "keywords:frequency": (
        lambda r, kw: (
            (
                _remove_phrase(r, kw["keyword"])
                if kw.get("relation") == "at least"
                else r.rstrip() + (" " + kw["keyword"]) * int(kw.get("frequency", 1))
            )
            if kw.get("keyword")
            else None
        ),
        "keyword frequency moved across the limit",
    ),
    "keywords:letter_frequency": (
        lambda r, kw: (
            (
                _remove_phrase(r, kw["letter"])
                if kw.get("let_relation") == "at least"
                else r.rstrip() + " " + kw["letter"] * int(kw.get("let_frequency", 1))
            )
            if kw.get("letter")
            else None
        ),
        "letter frequency moved across the limit",
    ),
    "startend:end_checker": (_drop_end_phrase, "end phrase dropped"),
    "startend:quotation": (lambda r, kw: r.strip().strip('"'), "surrounding quotes removed"),
    "detectable_format:json_format": (
        lambda r, kw: "Here is the answer: " + r.strip().strip("`"),
        "JSON wrapped in prose",
    ),
    "detectable_format:number_bullet_lists": (_drop_bullet, "one bullet removed (or one added)"),
    "detectable_format:title": (lambda r, kw: r.replace("<<", "").replace(">>", ""), "title markup removed"),
    "detectable_format:number_highlighted_sections": (
        lambda r, kw: r.replace("*", ""),
        "highlight markup removed",
    ),
    "detectable_format:multiple_sections": (
        lambda r, kw: _remove_phrase(r, kw["section_spliter"]) if kw.get("section_spliter") else None,
        "section markers removed",
    ),
    "detectable_format:constrained_response": (
        lambda r, kw: r.replace("My answer is", "I would say"),
        "constrained phrase reworded",
    ),
    "detectable_content:postscript": (
        lambda r, kw: (
            (r[: r.lower().find(str(kw.get("postscript_marker", "P.S.")).lower())].rstrip() or None)
            if str(kw.get("postscript_marker", "P.S.")).lower() in r.lower()
            else None
        ),
        "postscript cut",
    ),
    "detectable_content:number_placeholders": (
        lambda r, kw: r.replace("[", "").replace("]", ""),
        "placeholder brackets removed",
    ),
    "punctuation:no_comma": (lambda r, kw: r.replace(" ", ", ", 1), "a comma added"),
    "combination:repeat_prompt": (lambda r, kw: "Sure. " + r, "preamble before the repeated prompt"),
    "combination:two_responses": (lambda r, kw: r.replace("******", "\n"), "response separator removed"),
}

_GENERIC: list[tuple[Callable[[str], str], str]] = [
    (str.lower, "lower-cased"),
    (str.upper, "upper-cased"),
    (lambda r: "\n".join(r.rstrip().split("\n")[:-1]), "last line dropped"),
    (lambda r: "Sure. " + r, "preamble added"),
]


def _remove_all(r: str, phrases: list[str]) -> str:
    for p in phrases:
        r = _remove_phrase(r, p)
    return re.sub(r"[ \t]{2,}", " ", r).strip()


def _corrupt_instructions(ex: dict, rng: random.Random) -> tuple[str, str] | None:
    from sahlab.ifeval import check

    meta = ex.get("metadata") or {}
    ids, kwargs = meta["instruction_id_list"], meta.get("kwargs") or [{}] * len(meta["instruction_id_list"])
    ref, prompt = ex["reference"], ex["prompt"]
    lang = bool(meta.get("detect_language", True))
    order = list(range(len(ids)))
    rng.shuffle(order)
    for i in order:  # one targeted violation of a randomly chosen instruction
        iid, kw = ids[i], {k: v for k, v in (kwargs[i] or {}).items() if v is not None}
        if iid not in _VIOLATIONS:
            continue
        fn, how = _VIOLATIONS[iid]
        rejected = fn(ref, kw)
        if rejected and rejected.strip() and rejected != ref and not check(iid, kw, rejected, prompt, lang):
            return rejected, f"{iid}: {how}"
    for i in order:  # fall back on a generic edit that breaks some instruction
        iid, kw = ids[i], kwargs[i] or {}
        for fn, how in _GENERIC:
            rejected = fn(ref)
            if rejected.strip() and rejected != ref and not check(iid, kw, rejected, prompt, lang):
                return rejected, f"{iid}: {how}"
    return None

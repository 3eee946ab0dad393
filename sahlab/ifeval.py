"""Verifiable-instruction checkers with IFEval's instruction ids and kwargs (Zhou et al. 2023).

Each checker follows the definition in the IFEval paper (arXiv 2311.07911, Table 1 / App. A)
and takes the same keyword arguments as the google/IFEval rows, so a hub row's
``instruction_id_list`` and ``kwargs`` can be passed straight through. Hub rows carry every
possible key with ``None`` for the unused ones: ``None`` values are ignored here.

Deliberate, documented simplifications (no nltk):

* words are ``\\w+`` runs (Unicode-aware) — the same tokenisation IFEval uses for word counts;
* sentences are split by :func:`split_sentences` (terminal ``.``, ``!`` or ``?`` followed by
  whitespace; decimals, ellipses and common abbreviations such as "Mr." or "e.g." do not split);
* ``change_case:english_capital`` / ``english_lowercase`` check the letter case and, as the
  official checkers do, that langdetect judges the response English — unless the row opts out
  (``detect_language=False``: the embedded world's invented names defeat a language identifier,
  so its rows carry ``metadata.detect_language: false``);
* ``language:response_language`` uses langdetect (seeded), as the official checker does.

As in IFEval's evaluation, a blank response follows no instruction (strict and loose).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

RELATIONS = ("less than", "at least")

_WORD = re.compile(r"\w+")
# Dots that do not end a sentence: a digit on both sides, an ellipsis, common abbreviations
# and single-letter initials ("J. R. Smith").
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|vs|e\.g|i\.e|[A-Z])\.")
_SENT_END = re.compile(r"(?<=[.!?][\"'”’)\]])\s+|(?<=[.!?])\s+")
_PRD = "\x00"


def count_words(text: str) -> int:
    """Number of ``\\w+`` runs (letters, digits, underscore) in `text`."""
    return len(_WORD.findall(text))


def split_sentences(text: str) -> list[str]:
    """Split on ``.``/``!``/``?`` (optionally followed by closing quotes/brackets) + whitespace.

    Newlines are ordinary whitespace, so an unpunctuated list is one sentence (as in IFEval).
    """
    t = text.replace("...", _PRD * 3)
    t = _DECIMAL.sub(_PRD, t)
    t = _ABBREV.sub(lambda m: m.group(0).replace(".", _PRD), t)
    parts = _SENT_END.split(t.strip())
    return [p.replace(_PRD, ".").strip() for p in parts if p.strip()]


# --------------------------------------------------------------------------- kwargs helpers
def _get(iid: str, kw: dict, key: str, kind: type) -> Any:
    if key not in kw:
        raise ValueError(f"instruction {iid!r} needs kwarg {key!r}; got keys {sorted(kw)}")
    value = kw[key]
    if kind is int:
        if isinstance(value, float) and value.is_integer():  # parquet may store ints as floats
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"instruction {iid!r}: kwarg {key!r} must be an integer, got {value!r}")
    elif kind is str:
        if not isinstance(value, str):
            raise ValueError(f"instruction {iid!r}: kwarg {key!r} must be a string, got {value!r}")
    elif kind is list:
        if (
            isinstance(value, str)
            or not isinstance(value, (list, tuple))
            or not all(isinstance(v, str) for v in value)
        ):
            raise ValueError(f"instruction {iid!r}: kwarg {key!r} must be a list of strings, got {value!r}")
    return value


def _compare(iid: str, kw: dict, key: str, count: int, target: int) -> bool:
    relation = _get(iid, kw, key, str)
    if relation == "less than":
        return count < target
    if relation == "at least":
        return count >= target
    raise ValueError(f"instruction {iid!r}: kwarg {key!r} must be one of {RELATIONS}, got {relation!r}")


# --------------------------------------------------------------------------- checkers
# Each takes (iid, kwargs without None values, response, prompt) and returns bool.
def _detect_language(text: str) -> str | None:
    """langdetect's language of `text` (seeded, so deterministic); None if it has nothing to judge."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return detect(text)
    except LangDetectException:
        return None


def _english_capital(iid, kw, r, p):
    # official: isupper() and langdetect says English; undetectable text counts as English
    return r.isupper() and _detect_language(r) in ("en", None)


def _english_lowercase(iid, kw, r, p):
    return r.islower() and _detect_language(r) in ("en", None)


def _capital_word_frequency(iid, kw, r, p):
    n = sum(1 for w in _WORD.findall(r) if w.isupper())
    return _compare(iid, kw, "capital_relation", n, _get(iid, kw, "capital_frequency", int))


def _number_words(iid, kw, r, p):
    return _compare(iid, kw, "relation", count_words(r), _get(iid, kw, "num_words", int))


def _number_sentences(iid, kw, r, p):
    return _compare(iid, kw, "relation", len(split_sentences(r)), _get(iid, kw, "num_sentences", int))


def _markdown_paragraphs(r: str) -> list[str] | None:
    """Paragraphs separated by the markdown divider ``***``; None if one in the middle is empty."""
    parts = re.split(r"\s?\*\*\*\s?", r)
    for i, part in enumerate(parts):
        if not part.strip() and 0 < i < len(parts) - 1:
            return None
    return [part for part in parts if part.strip()]


def _number_paragraphs(iid, kw, r, p):
    paragraphs = _markdown_paragraphs(r)
    return paragraphs is not None and len(paragraphs) == _get(iid, kw, "num_paragraphs", int)


def _nth_paragraph_first_word(iid, kw, r, p):
    # Paragraphs here are separated by a blank line ("\n\n"), as the instruction says.
    n_want, nth = _get(iid, kw, "num_paragraphs", int), _get(iid, kw, "nth_paragraph", int)
    first_word = _get(iid, kw, "first_word", str).strip().lower()
    parts = r.split("\n\n")
    n_found = sum(1 for part in parts if part.strip())
    if n_found != n_want or not 1 <= nth <= n_found:
        return False
    words = parts[nth - 1].split()
    if not words:
        return False
    word = re.split(r"[.,?!'\"]", words[0].lstrip("'\""), maxsplit=1)[0]
    return word.lower() == first_word


def _keyword_existence(iid, kw, r, p):
    return all(re.search(re.escape(k), r, re.IGNORECASE) for k in _get(iid, kw, "keywords", list))


def _forbidden_words(iid, kw, r, p):
    return not any(
        re.search(r"\b" + re.escape(w) + r"\b", r, re.IGNORECASE)
        for w in _get(iid, kw, "forbidden_words", list)
    )


def _keyword_frequency(iid, kw, r, p):
    n = len(re.findall(re.escape(_get(iid, kw, "keyword", str)), r, re.IGNORECASE))
    return _compare(iid, kw, "relation", n, _get(iid, kw, "frequency", int))


def _letter_frequency(iid, kw, r, p):
    letter = _get(iid, kw, "letter", str).lower()
    if len(letter) != 1:
        raise ValueError(f"instruction {iid!r}: kwarg 'letter' must be one character, got {letter!r}")
    return _compare(iid, kw, "let_relation", r.lower().count(letter), _get(iid, kw, "let_frequency", int))


def _end_checker(iid, kw, r, p):
    # Surrounding double quotes do not hide the ending (IFEval strips them too).
    return r.strip().strip('"').lower().endswith(_get(iid, kw, "end_phrase", str).strip().lower())


def _quotation(iid, kw, r, p):
    r = r.strip()
    return len(r) > 1 and r[0] == '"' and r[-1] == '"'


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def _json_format(iid, kw, r, p):
    # IFEval accepts a JSON object wrapped in a markdown code fence (``` or ```json).
    text = _FENCE.sub("", r.strip())
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


_STAR_BULLET = re.compile(r"^\s*\*[^*].*$", re.MULTILINE)
_DASH_BULLET = re.compile(r"^\s*-.*$", re.MULTILINE)


def _number_bullet_lists(iid, kw, r, p):
    n = len(_STAR_BULLET.findall(r)) + len(_DASH_BULLET.findall(r))
    return n == _get(iid, kw, "num_bullets", int)


def _title(iid, kw, r, p):
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", r))


def _number_highlighted_sections(iid, kw, r, p):
    # *single* and **double** star highlights on one line, each with non-blank content.
    n = sum(1 for h in re.findall(r"\*[^\n*]*\*", r) if h.strip("*").strip())
    n += sum(1 for h in re.findall(r"\*\*[^\n*]*\*\*", r) if h[2:-2].strip())
    return n >= _get(iid, kw, "num_highlights", int)


def _multiple_sections(iid, kw, r, p):
    splitter = _get(iid, kw, "section_spliter", str).strip()  # sic: IFEval's key name
    n = len(re.split(r"\s?" + re.escape(splitter) + r"\s?\d+\s?", r)) - 1
    return n >= _get(iid, kw, "num_sections", int)


_CONSTRAINED = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


def _constrained_response(iid, kw, r, p):
    return any(option in r.strip() for option in _CONSTRAINED)


def _postscript(iid, kw, r, p):
    marker = _get(iid, kw, "postscript_marker", str).strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
    return bool(re.findall(pattern, r.lower(), re.MULTILINE))


def _number_placeholders(iid, kw, r, p):
    return len(re.findall(r"\[.*?\]", r)) >= _get(iid, kw, "num_placeholders", int)


def _no_comma(iid, kw, r, p):
    return "," not in r


def _repeat_prompt(iid, kw, r, p):
    # IFEval rows give the request to repeat; fall back to the whole prompt if they do not.
    target = kw.get("prompt_to_repeat", p)
    if not isinstance(target, str) or not target.strip():
        raise ValueError(f"instruction {iid!r} needs kwarg 'prompt_to_repeat' (or a prompt)")
    return r.strip().lower().startswith(target.strip().lower())


def _two_responses(iid, kw, r, p):
    parts = r.split("******")
    kept = []
    for i, part in enumerate(parts):
        if part.strip():
            kept.append(part.strip())
        elif 0 < i < len(parts) - 1:  # an empty response between two separators
            return False
    return len(kept) == 2 and kept[0] != kept[1]


def _response_language(iid, kw, r, p):
    """IFEval: the whole response is in the requested language (ISO 639-1 code), as judged by
    langdetect (seeded, so the verdict is deterministic)."""
    want = kw.get("language")
    if not isinstance(want, str) or not want:
        raise ValueError(f"instruction {iid!r} needs kwarg 'language' (an ISO 639-1 code)")
    got = _detect_language(r)
    return got is None or got == want  # no letters to judge: IFEval counts this as following


_CHECKERS: dict[str, Callable[[str, dict, str, str], bool]] = {
    "change_case:english_capital": _english_capital,
    "change_case:english_lowercase": _english_lowercase,
    "change_case:capital_word_frequency": _capital_word_frequency,
    "length_constraints:number_words": _number_words,
    "length_constraints:number_sentences": _number_sentences,
    "length_constraints:number_paragraphs": _number_paragraphs,
    "length_constraints:nth_paragraph_first_word": _nth_paragraph_first_word,
    "keywords:existence": _keyword_existence,
    "keywords:forbidden_words": _forbidden_words,
    "keywords:frequency": _keyword_frequency,
    "keywords:letter_frequency": _letter_frequency,
    "startend:end_checker": _end_checker,
    "startend:quotation": _quotation,
    "detectable_format:json_format": _json_format,
    "detectable_format:number_bullet_lists": _number_bullet_lists,
    "detectable_format:title": _title,
    "detectable_format:number_highlighted_sections": _number_highlighted_sections,
    "detectable_format:multiple_sections": _multiple_sections,
    "detectable_format:constrained_response": _constrained_response,
    "detectable_content:postscript": _postscript,
    "detectable_content:number_placeholders": _number_placeholders,
    "punctuation:no_comma": _no_comma,
    "combination:repeat_prompt": _repeat_prompt,
    "combination:two_responses": _two_responses,
    "language:response_language": _response_language,
}
SUPPORTED_IDS: tuple[str, ...] = tuple(sorted(_CHECKERS))


def _checker(instruction_id: str) -> Callable[[str, dict, str, str], bool]:
    try:
        return _CHECKERS[instruction_id]
    except KeyError:
        raise ValueError(
            f"unknown instruction id {instruction_id!r}; supported ids: {', '.join(SUPPORTED_IDS)}"
        ) from None


_CASE_ONLY = {
    "change_case:english_capital": lambda iid, kw, r, p: r.isupper(),
    "change_case:english_lowercase": lambda iid, kw, r, p: r.islower(),
}


def check(
    instruction_id: str, kwargs: dict | None, response: str, prompt: str = "", detect_language: bool = True
) -> bool:
    """Strict IFEval check: does `response` follow the instruction `instruction_id`?

    `kwargs` is the instruction's IFEval kwargs dict (``None`` values are ignored); `prompt`
    is only used by ``combination:repeat_prompt`` when kwargs lack ``prompt_to_repeat``.
    Raises ValueError for unknown/unsupported ids and for missing or ill-typed kwargs.
    """
    fn = _checker(instruction_id)
    if not detect_language:
        fn = _CASE_ONLY.get(instruction_id, fn)
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ValueError(
            f"instruction {instruction_id!r}: kwargs must be a dict or None, got {type(kwargs).__name__}"
        )
    kw = {k: v for k, v in (kwargs or {}).items() if v is not None}
    if not isinstance(response, str):
        raise ValueError(f"response must be a string, got {type(response).__name__}")
    if not response.strip():
        _validate_only(fn, instruction_id, kw, prompt)
        return False
    return bool(fn(instruction_id, kw, response, prompt))


def _validate_only(fn, iid: str, kw: dict, prompt: str) -> None:
    # A blank response fails, but bad kwargs must still be reported, not hidden by it.
    fn(iid, kw, "x", prompt)


def loose_variants(response: str) -> list[str]:
    """IFEval's loose transformations of `response` (the response itself comes first).

    Drop the first line, the last line or both (model preambles/sign-offs), each with and
    without ``*`` characters removed (markdown emphasis): 8 variants in all.
    """
    lines = response.split("\n")
    base = [
        response,
        "\n".join(lines[1:]).strip(),
        "\n".join(lines[:-1]).strip(),
        "\n".join(lines[1:-1]).strip(),
    ]
    return base + [v.replace("*", "") for v in base]


def check_loose(
    instruction_id: str, kwargs: dict | None, response: str, prompt: str = "", detect_language: bool = True
) -> bool:
    """Loose IFEval check: true if any of :func:`loose_variants` passes the strict check."""
    return any(check(instruction_id, kwargs, v, prompt, detect_language) for v in loose_variants(response))

"""Translate allenai/RLVR-IFeval ground truths into IFEval's (instruction_id_list, kwargs).

Assumed layout (from the dataset card of allenai/RLVR-IFeval and open-instruct's verifiers;
the data itself could not be inspected offline): columns ``messages`` (chat turns, the user turn
holds the prompt with its constraint), ``ground_truth`` (a JSON string), ``dataset`` ("ifeval"),
``constraint_type`` and ``constraint`` (human-readable). ``ground_truth`` is one of

* open-instruct's "ifeval_old" form, one constraint per row:
  ``{"func_name": "validate_word_constraint", "N": 50, "quantifier": "at most", ...}`` with
  every other argument null (functions of open_instruct/if_functions.py);
* the IFEvalG form of newer allenai IF sets: ``{"instruction_id": [...], "kwargs": [...]}``,
  possibly wrapped in a list and/or written as a Python literal.

open-instruct's functions differ from IFEval's in three ways handled here: counts may be
"at most" or "around" (IFEval only has "less than" / "at least"), keyword and letter counts are
exact, and argument names differ. A bound ``lo <= count <= hi`` becomes two IFEval instructions
with the same id ("at least lo" and "less than hi + 1"), which is exact for integer counts, so
prompt-level accuracy is unchanged (instruction-level counts such a row twice).
"""

from __future__ import annotations

import ast
import json
from typing import Any

# The fixed answers of IFEval's detectable_format:constrained_response.
CONSTRAINED_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


class UnsupportedConstraint(ValueError):
    """A well-formed constraint that IFEval's instruction set cannot express."""


# func_name -> (IFEval id, {open-instruct argument: IFEval kwarg}) for plain renames.
_RENAMES: dict[str, tuple[str, dict[str, str]]] = {
    "verify_keywords": ("keywords:existence", {"keyword_list": "keywords"}),
    "validate_forbidden_words": ("keywords:forbidden_words", {"forbidden_words": "forbidden_words"}),
    "validate_response_language": ("language:response_language", {"language": "language"}),
    "verify_paragraph_count": ("length_constraints:number_paragraphs", {"N": "num_paragraphs"}),
    "validate_paragraphs": (
        "length_constraints:nth_paragraph_first_word",
        {"N": "num_paragraphs", "i": "nth_paragraph", "first_word": "first_word"},
    ),
    "verify_postscript": ("detectable_content:postscript", {"postscript_marker": "postscript_marker"}),
    "validate_placeholders": ("detectable_content:number_placeholders", {"N": "num_placeholders"}),
    "verify_bullet_points": ("detectable_format:number_bullet_lists", {"N": "num_bullets"}),
    "validate_title": ("detectable_format:title", {}),
    "validate_highlighted_sections": (
        "detectable_format:number_highlighted_sections",
        {"N": "num_highlights"},
    ),
    # IFEval spells the kwarg "section_spliter".
    "validate_sections": (
        "detectable_format:multiple_sections",
        {"N": "num_sections", "section_splitter": "section_spliter"},
    ),
    "validate_json_format": ("detectable_format:json_format", {}),
    "validate_repeat_prompt": ("combination:repeat_prompt", {"original_prompt": "prompt_to_repeat"}),
    "validate_two_responses": ("combination:two_responses", {}),
    "validate_uppercase": ("change_case:english_capital", {}),
    "validate_lowercase": ("change_case:english_lowercase", {}),
    "validate_end": ("startend:end_checker", {"end_phrase": "end_phrase"}),
    "validate_quotation": ("startend:quotation", {}),
    "validate_no_commas": ("punctuation:no_comma", {}),
}

# func_name -> (IFEval id, count kwarg, relation kwarg, tolerance of "around" as f(N)).
# open-instruct: words and capital words allow max(round(0.1 N), 1), sentences allow 1.
_COUNTED: dict[str, tuple[str, str, str, Any]] = {
    "validate_word_constraint": (
        "length_constraints:number_words",
        "num_words",
        "relation",
        lambda n: max(round(n * 0.1), 1),
    ),
    "verify_sentence_constraint": (
        "length_constraints:number_sentences",
        "num_sentences",
        "relation",
        lambda n: 1,
    ),
    "validate_frequency_capital_words": (
        "change_case:capital_word_frequency",
        "capital_frequency",
        "capital_relation",
        lambda n: max(round(n * 0.1), 1),
    ),
}

# Exact counts: func_name -> (IFEval id, open-instruct subject arg, IFEval subject kwarg,
# count kwarg, relation kwarg).
_EXACT: dict[str, tuple[str, str, str, str, str]] = {
    "verify_keyword_frequency": ("keywords:frequency", "word", "keyword", "frequency", "relation"),
    "verify_letter_frequency": (
        "keywords:letter_frequency",
        "letter",
        "letter",
        "let_frequency",
        "let_relation",
    ),
}

KNOWN_FUNCS = tuple(sorted([*_RENAMES, *_COUNTED, *_EXACT, "validate_choice"]))


def parse_ground_truth(ground_truth: Any) -> tuple[list[str], list[dict]]:
    """IFEval (instruction_id_list, kwargs) for one RLVR ``ground_truth`` value.

    Raises ValueError for unparseable or unknown constraints and UnsupportedConstraint for
    valid ones IFEval cannot express (e.g. a multiple-choice constraint with other options).
    """
    parts = _as_constraints(ground_truth)
    ids: list[str] = []
    kwargs: list[dict] = []
    for c in parts:
        if "func_name" in c:
            for iid, kw in _from_func(c):
                ids.append(iid)
                kwargs.append(kw)
        elif "instruction_id" in c:
            cid, ckw = c["instruction_id"], c.get("kwargs")
            if isinstance(cid, str):  # a single constraint written without lists
                cid, ckw = [cid], [ckw]
            if not isinstance(cid, list) or not isinstance(ckw, list) or len(cid) != len(ckw):
                raise ValueError(
                    f"'instruction_id' and 'kwargs' must be lists of equal length, got {cid!r} and {ckw!r}"
                )
            for iid, kw in zip(cid, ckw):
                if kw is not None and not isinstance(kw, dict):
                    raise ValueError(f"kwargs of {iid!r} must be an object, got {kw!r}")
                ids.append(str(iid))
                kwargs.append({k: v for k, v in (kw or {}).items() if v is not None})
        else:
            raise ValueError(f"constraint has neither 'func_name' nor 'instruction_id': {c!r}")
    if not ids:
        raise ValueError("ground truth holds no constraint")
    return ids, kwargs


def _as_constraints(value: Any) -> list[dict]:
    if isinstance(value, str):
        value = _parse_text(value)
    if isinstance(value, dict):
        return [value]
    if isinstance(value, (list, tuple)) and value:
        out = []
        for v in value:
            out += _as_constraints(v)
        return out
    raise ValueError(f"ground truth must be a JSON object or a list of them, got {value!r:.200}")


def _parse_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:  # open-instruct writes some ground truths with Python's repr
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"ground truth is neither JSON nor a Python literal: {text!r:.200}") from None


def _from_func(c: dict) -> list[tuple[str, dict]]:
    func = c["func_name"]
    args = {k: v for k, v in c.items() if k != "func_name" and v is not None}

    def need(name: str) -> Any:
        if name not in args:
            raise ValueError(f"constraint {func!r} needs argument {name!r}; got {sorted(args)}")
        return args[name]

    if func in _RENAMES:
        iid, names = _RENAMES[func]
        return [(iid, {new: need(old) for old, new in names.items()})]
    if func in _COUNTED:
        iid, count_kw, rel_kw, tol = _COUNTED[func]
        n, q = _int(func, "N", need("N")), need("quantifier")
        if q == "at least":
            lo, hi = n, None
        elif q == "at most":
            lo, hi = None, n
        elif q == "around":
            lo, hi = n - tol(n), n + tol(n)
        else:
            raise ValueError(
                f"constraint {func!r}: quantifier must be 'at least', 'at most' or 'around', got {q!r}"
            )
        return [(iid, kw) for kw in _bounds(lo, hi, count_kw, rel_kw)]
    if func in _EXACT:
        iid, arg, subject_kw, count_kw, rel_kw = _EXACT[func]
        n = _int(func, "N", need("N"))
        return [(iid, {subject_kw: need(arg), **kw}) for kw in _bounds(n, n, count_kw, rel_kw)]
    if func == "validate_choice":
        options = args.get("options")
        if isinstance(options, str):
            try:
                options = ast.literal_eval(options)
            except (ValueError, SyntaxError):
                options = None
        if options is not None and set(options) != set(CONSTRAINED_OPTIONS):
            raise UnsupportedConstraint(
                f"validate_choice with options {options!r}: IFEval's "
                f"constrained_response only knows {CONSTRAINED_OPTIONS}"
            )
        return [("detectable_format:constrained_response", {})]
    raise ValueError(f"unknown RLVR constraint function {func!r}; known: {', '.join(KNOWN_FUNCS)}")


def _int(func: str, name: str, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"constraint {func!r}: argument {name!r} must be an integer, got {value!r}")
    return value


def _bounds(lo: int | None, hi: int | None, count_kw: str, rel_kw: str) -> list[dict]:
    """IFEval kwargs for lo <= count <= hi (None = unbounded; a lower bound <= 0 is dropped)."""
    out = []
    if lo is not None and lo > 0:
        out.append({rel_kw: "at least", count_kw: lo})
    if hi is not None:
        out.append({rel_kw: "less than", count_kw: hi + 1})
    if not out:  # "at least 0": always true; keep one instruction so the row is not empty
        out.append({rel_kw: "at least", count_kw: 0})
    return out

"""The per-task format/content error split (sahlab/eval/errors.py)."""

from __future__ import annotations

import pytest

from sahlab.eval.errors import is_layout_instruction, split_errors


def _kinds(task, outputs, examples, refs=()):
    rows = split_errors(task, outputs, examples, refs)
    for r in rows:  # the error is charged wholly to one side
        assert r["error_format"] + r["error_content"] == pytest.approx(1 - r["correct"])
    return [r["kind"] for r in rows]


def test_math_no_answer_line_is_format_a_wrong_number_content():
    ex = [{"id": i, "prompt": "q", "reference": "#### 7", "metadata": {"answer": "7"}} for i in range(3)]
    assert _kinds("math", ["So 7.\n#### 7", "#### 8", "seven"], ex) == ["correct", "content", "format"]


def _qa(i, attr, answer):
    return {"id": i, "prompt": "q", "reference": answer, "metadata": {"answer": answer, "answer_attr": attr}}


def test_multihop_format_means_an_entity_of_the_asked_type():
    refs = [
        _qa("r1", "profession", "chef"),
        _qa("r2", "profession", "dentist"),
        _qa("r3", "birth_year", "1950"),
        _qa("r4", "city", "Rome"),
    ]
    ex = [_qa("a", "profession", "chef")] * 3 + [_qa("b", "birth_year", "1950")] * 2
    outs = ["chef", "Dentist", "Rome", "1961", "a chef"]
    # a profession that is wrong = content; a city for a profession = format; any year for a
    # year = content; a profession for a year = format
    assert _kinds("multihop", outs, ex, refs) == ["correct", "content", "format", "content", "format"]


def test_instructions_layout_failures_are_format_content_failures_content():
    assert is_layout_instruction("detectable_format:json_format")
    assert is_layout_instruction("change_case:english_lowercase")
    assert not is_layout_instruction("keywords:existence")
    assert not is_layout_instruction("length_constraints:number_words")
    ex = {
        "prompt": "Describe Rome.",
        "reference": "rome is old.",
        "metadata": {
            "instruction_id_list": ["change_case:english_lowercase", "keywords:existence"],
            "kwargs": [{}, {"keywords": ["rome"]}],
            "detect_language": False,
        },
    }
    outs = ["rome is old.", "ROME IS OLD.", "it is old.", "   "]
    exs = [ex | {"id": i} for i in range(4)]
    assert _kinds("instructions", outs, exs) == ["correct", "format", "content", "format"]


def test_translation_format_is_target_language_and_length():
    refs = [{"reference": "ne zuhur votum tahima."}, {"reference": "mokydek gosadek davum."}]
    ex = {
        "prompt": "Translate into Kutou: A painter watches the student.",
        "reference": "Ne zuhur votum tahima.",
        "metadata": {"source": "A painter watches the student."},
    }
    outs = [
        "Ne zuhur votum tahima.",
        "Ne zuhur davum mokydek.",
        "A painter watches the student.",
        "Ne",
        "ne zuhur votum tahima ne zuhur votum tahima ne zuhur",
    ]
    kinds = _kinds("translation", outs, [ex | {"id": i} for i in range(5)], refs)
    assert kinds == ["correct", "content", "format", "format", "format"]


def test_other_tasks_use_the_scorers_format_check():
    ex = [{"id": i, "prompt": "x", "reference": "1"} for i in range(3)]
    assert _kinds("features", ["1", "0", "maybe"], ex) == ["correct", "content", "format"]

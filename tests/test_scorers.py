"""Task scorers on hand-made outputs: right, wrong, empty and malformed answers, format scores,
the error split, corpus metrics against sacrebleu's public API, and the dispatcher's errors."""

import pytest
import sacrebleu

from sahlab.eval.scorers import MAIN_METRIC, error_kind, extract_math_answer, normalize_answer, score


def ex(i, prompt="", reference="", **meta):
    return {"id": f"e{i}", "prompt": prompt, "reference": reference, "metadata": meta}


# ------------------------------------------------------------------ math
MATH = [  # (output, metadata answer, correct, format_ok)
    ("2 + 3 = 5\n#### 1,234", "1234", True, True),
    ("####-5", "-5", True, True),
    ("#### 18.00", "18", True, True),
    ("#### $3.50 dollars", "3.5", True, True),
    ("#### 5\nQuestion: next one?\n#### 7", "5", True, True),  # first #### is the answer
    ("#### 17", "18", False, True),
    ("The answer is 18", "18", False, False),
    ("", "18", False, False),
    ("#### eighteen", "18", False, False),
]


def test_math_cases():
    outs = [o for o, *_ in MATH]
    exs = [ex(i, reference="... #### 0", answer=a) for i, (_, a, *_) in enumerate(MATH)]
    records, metrics = score("math", outs, exs, n_boot=200)
    for rec, (out, _, correct, fmt) in zip(records, MATH):
        assert (rec["correct"], rec["format_ok"]) == (correct, fmt), out
    assert [r["error_kind"] for r in records] == ["correct"] * 5 + ["reasoning"] + ["format"] * 3
    assert metrics["accuracy"]["value"] == pytest.approx(5 / 9)
    assert metrics["format"]["value"] == pytest.approx(6 / 9)
    assert metrics["error_format"]["value"] == pytest.approx(3 / 9)
    assert metrics["error_reasoning"]["value"] == pytest.approx(1 / 9)
    assert metrics["accuracy"]["ci_low"] <= 5 / 9 <= metrics["accuracy"]["ci_high"]
    assert records[0]["pred"] == "1234" and records[6]["pred"] is None


def test_math_reference_fallback_and_errors():
    # no metadata.answer: the reference's #### line is the answer
    records, _ = score(
        "math",
        ["#### 42", "#### 41"],
        [ex(0, reference="6*7\n#### 42"), ex(1, reference="#### 42")],
        n_boot=0,
    )
    assert [r["correct"] for r in records] == [True, False]
    with pytest.raises(ValueError, match="e0.*no metadata.answer"):
        score("math", ["#### 1"], [ex(0, reference="no answer line")])
    with pytest.raises(ValueError, match="e0.*not a number"):
        score("math", ["#### 1"], [ex(0, answer="one")])
    assert extract_math_answer("####−2") == -2 and extract_math_answer("#### .5") == 0.5


# ------------------------------------------------------------------ translation
REFS = [
    "le chat est sur le tapis",
    "le chien aboie la nuit",
    "les oiseaux chantent le matin",
    "nous mangeons du pain",
    "il pleut beaucoup ici",
]
SRCS = [
    "the cat is on the mat",
    "the dog barks at night",
    "birds sing in the morning",
    "we eat bread",
    "it rains a lot here",
]


def test_translation_matches_sacrebleu_and_formats():
    outs = [
        "le chat est sur le tapis",  # perfect
        "le chien aboie\nextra line",  # scored on first line, but two lines
        "the birds sing in the morning",  # not a copy (differs), ok format
        "",  # empty
        "  it rains a lot  here ",
    ]  # a copy of the source sentence
    exs = [
        ex(i, prompt=f"Translate to French:\n{s}", reference=r, src_lang="en", tgt_lang="fr")
        for i, (s, r) in enumerate(zip(SRCS, REFS))
    ]
    exs[4]["metadata"]["source"] = SRCS[4]
    records, metrics = score("translation", outs, exs, n_boot=300)
    hyps = [
        "le chat est sur le tapis",
        "le chien aboie",
        "the birds sing in the morning",
        "",
        "it rains a lot  here",
    ]
    assert [r["pred"] for r in records] == hyps
    assert metrics["chrf"]["value"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [REFS]).score)
    assert metrics["bleu"]["value"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [REFS]).score)
    for rec, h, r in zip(records, hyps, REFS):
        assert rec["chrf"] == pytest.approx(sacrebleu.sentence_chrf(h, [r]).score)
        assert rec["correct"] == pytest.approx(rec["chrf"] / 100)
    assert [r["format_ok"] for r in records] == [True, False, True, False, False]
    assert records[0]["chrf"] == pytest.approx(100) and records[0]["error_kind"] == "correct"
    assert [r["error_kind"] for r in records[1:]] == ["format", "reasoning", "format", "format"]
    m = metrics["chrf"]
    assert m["ci_low"] <= m["value"] <= m["ci_high"] and m["ci_low"] < m["ci_high"]
    assert metrics["format"]["value"] == pytest.approx(2 / 5)


def test_translation_copy_of_prompt_line_is_a_format_error():
    exs = [ex(0, prompt="Translate to French:\nthe dog barks", reference="le chien aboie")]
    (rec,), _ = score("translation", ["the dog barks"], exs, n_boot=0)
    assert rec["format_ok"] is False
    with pytest.raises(ValueError, match="e0.*no reference"):
        score("translation", ["x"], [ex(0, reference="  ")])


# ------------------------------------------------------------------ instructions
def test_instructions_prompt_and_instruction_level():
    exs = [
        ex(0, instruction_id_list=["punctuation:no_comma", "change_case:english_lowercase"], kwargs=[{}, {}]),
        ex(
            1,
            instruction_id_list=["change_case:english_capital", "length_constraints:number_words"],
            kwargs=[{"num_words": None}, {"num_words": 3, "relation": "at least", "keywords": None}],
        ),
        ex(2, instruction_id_list=["punctuation:no_comma"], kwargs=[{}]),
    ]
    outs = ["hello world", "Sure:\nHELLO THERE FRIEND\nbye", "  "]
    records, metrics = score("instructions", outs, exs, n_boot=200)
    assert [r["strict"] for r in records] == [[True, True], [False, True], [False]]
    assert [r["loose"] for r in records] == [[True, True], [True, True], [False]]
    assert [r["format_ok"] for r in records] == [True, True, False]
    assert [r["error_kind"] for r in records] == ["correct", "reasoning", "format"]
    expected = {
        "prompt_strict": 1 / 3,
        "prompt_loose": 2 / 3,
        "instruction_strict": 3 / 5,
        "instruction_loose": 4 / 5,
        "format": 2 / 3,
    }
    for name, value in expected.items():
        assert metrics[name]["value"] == pytest.approx(value), name
        assert metrics[name]["ci_low"] <= value <= metrics[name]["ci_high"]


def test_instructions_bad_rows():
    with pytest.raises(ValueError, match="e0.*'language'"):
        score(
            "instructions",
            ["Bonjour"],
            [ex(0, instruction_id_list=["language:response_language"], kwargs=[{}])],
        )
    with pytest.raises(ValueError, match="e0.*one dict per instruction"):
        score("instructions", ["x"], [ex(0, instruction_id_list=["punctuation:no_comma"], kwargs=[{}, {}])])
    with pytest.raises(ValueError, match="e0.*instruction_id_list"):
        score("instructions", ["x"], [ex(0)])


# ------------------------------------------------------------------ multihop / new knowledge
def test_normalize_answer_squad_style():
    assert normalize_answer("  The Eiffel-Tower!  ") == "eiffeltower"
    assert normalize_answer("An apple, a day") == "apple day"
    assert normalize_answer("Theatre") == "theatre"  # 'the' only as a whole word


def test_multihop_cases():
    outs = [
        "The Paris.",
        "paris\nQuestion: and then?",
        "London",
        "",
        "it was founded in the beautiful old city of Paris",
        "NYC",
    ]
    answers = ["Paris", "Paris", "Paris", "Paris", "Paris", ["New York City", "NYC"]]
    exs = [ex(i, reference="ignored", answer=a, hops=2, kind="2hop") for i, a in enumerate(answers)]
    records, metrics = score("multihop", outs, exs, n_boot=100)
    assert [r["correct"] for r in records] == [True, True, False, False, False, True]
    assert [r["format_ok"] for r in records] == [True, False, True, False, False, True]
    assert [r["error_kind"] for r in records] == [
        "correct",
        "correct",
        "reasoning",
        "format",
        "format",
        "correct",
    ]
    assert metrics["exact_match"]["value"] == pytest.approx(3 / 6)
    # the reference is the fallback answer
    (rec,), _ = score(
        "multihop", ["Rome"], [{"id": "x", "prompt": "", "reference": "rome", "metadata": {}}], n_boot=0
    )
    assert rec["correct"] is True


def test_newknowledge_split_by_kind():
    exs = [
        ex(0, answer="Oslo", kind="direct"),
        ex(1, answer="Oslo", kind="direct"),
        ex(2, answer="Lima", kind="2hop"),
        ex(3, answer="Lima", kind="2hop"),
        ex(4, answer="Lima", kind="2hop"),
    ]
    outs = ["Oslo", "Bergen", "Lima", "lima.", "Quito"]
    _, metrics = score("newknowledge", outs, exs, n_boot=100)
    assert metrics["exact_match"]["value"] == pytest.approx(3 / 5)
    assert metrics["exact_match_direct"]["value"] == pytest.approx(1 / 2)
    assert metrics["exact_match_2hop"]["value"] == pytest.approx(2 / 3)
    assert metrics["exact_match_direct"]["n"] == 2
    _, only_direct = score("newknowledge", ["Oslo"], exs[:1], n_boot=0)
    assert "exact_match_2hop" not in only_direct
    with pytest.raises(ValueError, match="e0.*metadata.kind"):
        score("newknowledge", ["x"], [ex(0, answer="y", kind="3hop")])


# ------------------------------------------------------------------ dispatcher
def test_dispatcher_contract_and_errors():
    cases = {
        "math": (["#### 1"], [ex(0, answer="1")]),
        "translation": (["le chat"], [ex(0, prompt="the cat", reference="le chat")]),
        "instructions": (["ok"], [ex(0, instruction_id_list=["punctuation:no_comma"], kwargs=[{}])]),
        "multihop": (["Oslo"], [ex(0, answer="Oslo", kind="direct")]),
        "newknowledge": (["Oslo"], [ex(0, answer="Oslo", kind="direct")]),
    }
    for task, (outs, exs) in cases.items():
        records, metrics = score(task, outs, exs, n_boot=50, seed=1)
        assert MAIN_METRIC[task] in metrics and "format" in metrics
        assert len(records) == 1 and records[0]["id"] == "e0"
        for m in metrics.values():
            assert {"value", "ci_low", "ci_high"} <= set(m) and m["value"] is not None
        assert score(task, outs, exs, n_boot=50, seed=1) == (records, metrics)
    with pytest.raises(ValueError, match="unknown task 'poetry'.*math.*translation"):
        score("poetry", [], [])
    with pytest.raises(ValueError, match="2 outputs for 1 examples"):
        score("math", ["a", "b"], [ex(0, answer="1")])
    with pytest.raises(ValueError, match="no examples"):
        score("math", [], [])
    with pytest.raises(ValueError, match="output 0.*NoneType"):
        score("math", [None], [ex(0, answer="1")])


def test_error_kind_helper():
    assert error_kind(True, False) == "correct"
    assert error_kind(False, False) == "format"
    assert error_kind(False, True) == "reasoning"
    assert error_kind(0.4, True) == "reasoning" and error_kind(1.0, True) == "correct"

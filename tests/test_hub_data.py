"""Hub dataset adapters: rows written in each hub set's own column layout are loaded through
the same datasets.load_dataset + row-mapping code that real hub runs use. No network."""

import json
import os

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pytest  # noqa: E402

from sahlab.data.hub import ADAPTERS, load_hub_task, validate_load_spec, validate_task_spec  # noqa: E402
from sahlab.data.rlvr import parse_ground_truth  # noqa: E402
from sahlab.ifeval import check  # noqa: E402

# Every kwarg field of google/IFEval's `kwargs` struct: hub rows carry all of them, unused = null.
IFEVAL_KWARG_FIELDS = [
    ("num_highlights", pa.int64()),
    ("relation", pa.string()),
    ("num_words", pa.int64()),
    ("num_placeholders", pa.int64()),
    ("prompt_to_repeat", pa.string()),
    ("num_paragraphs", pa.int64()),
    ("postscript_marker", pa.string()),
    ("first_word", pa.string()),
    ("num_sentences", pa.int64()),
    ("num_bullets", pa.int64()),
    ("section_spliter", pa.string()),
    ("num_sections", pa.int64()),
    ("capital_relation", pa.string()),
    ("capital_frequency", pa.int64()),
    ("keywords", pa.list_(pa.string())),
    ("keyword", pa.string()),
    ("frequency", pa.int64()),
    ("forbidden_words", pa.list_(pa.string())),
    ("letter", pa.string()),
    ("let_frequency", pa.int64()),
    ("let_relation", pa.string()),
    ("end_phrase", pa.string()),
    ("language", pa.string()),
    ("nth_paragraph", pa.int64()),
]
# open-instruct's RLVR ground truth: func_name plus every argument, unused = null.
RLVR_ARGS = [
    "N",
    "quantifier",
    "end_phrase",
    "keyword_list",
    "word",
    "forbidden_words",
    "letter",
    "i",
    "first_word",
    "postscript_marker",
    "options",
    "section_splitter",
    "original_prompt",
]


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return str(path)


def write_parquet(path, rows, schema=None):
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return str(path)


@pytest.fixture
def load(tmp_path):
    """load_hub_task with an isolated datasets cache."""

    def _load(**spec):
        return load_hub_task({"cache_dir": str(tmp_path / "hf_cache"), **spec})

    return _load


# ------------------------------------------------------------------------------------- math
GSM8K_ROWS = [
    {
        "question": "Natalia sold clips to 48 of her friends in April, and then she sold half as "
        "many clips in May. How many clips did Natalia sell altogether in April and May?",
        "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = "
        "<<48+24=72>>72 clips altogether in April and May.\n#### 72",
    },
    {
        "question": "A shop sells 1200 pens a day. How many in 2 days?",
        "answer": "It sells 1200*2 = <<1200*2=2400>>2400 pens.\n#### 2,400",
    },
]


def test_gsm8k_maps_answer_line_and_strips_calculator(tmp_path, load):
    path = write_jsonl(tmp_path / "gsm8k_test.jsonl", GSM8K_ROWS)
    exs = load(path=path, adapter="gsm8k", split="test")
    assert [e["id"] for e in exs] == ["gsm8k-test-0", "gsm8k-test-1"]
    assert exs[0]["prompt"] == GSM8K_ROWS[0]["question"]
    assert exs[0]["reference"] == (
        "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = "
        "72 clips altogether in April and May.\n#### 72"
    )
    assert exs[0]["metadata"] == {"answer": "72"}
    assert exs[1]["metadata"]["answer"] == "2400"  # thousands separator removed
    assert exs[1]["reference"].endswith("\n#### 2400")
    kept = load(path=path, adapter="gsm8k", split="test", strip_calculator=False)
    assert "<<48/2=24>>" in kept[0]["reference"]


def test_gsm8k_malformed_rows_name_dataset_row_and_column(tmp_path, load):
    rows = [GSM8K_ROWS[0], {"question": "q?", "answer": "The answer is 5."}]
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(ValueError, match=r"bad\.jsonl.*row 1.*'answer'.*####"):
        load(path=path, adapter="gsm8k")
    path = write_jsonl(tmp_path / "wrongcols.jsonl", [{"query": "q?", "answer": "x\n#### 1"}])
    with pytest.raises(ValueError, match=r"wrongcols\.jsonl.*row 0.*'question'.*missing"):
        load(path=path, adapter="gsm8k")
    path = write_jsonl(tmp_path / "notnum.jsonl", [{"question": "q", "answer": "x\n#### five"}])
    with pytest.raises(ValueError, match=r"row 0.*'answer'.*'five'.*not a number"):
        load(path=path, adapter="gsm8k")


METAMATH_ROWS = [
    {
        "query": "What is 3 times 6?",
        "response": "3 times 6 is 3*6 = 18.\nThe answer is: 18",
        "type": "GSM_Rephrased",
        "original_question": "What is 3*6?",
    },
    {
        "query": "Simplify 2/4.",
        "response": "Divide by 2.\nThe answer is: \\frac{1}{2}",
        "type": "MATH_AnsAug",
        "original_question": "Simplify 2/4.",
    },
    {
        "query": "What is 1000 + 234?",
        "response": "Add them.\nThe answer is: 1,234",
        "type": "GSM_AnsAug",
        "original_question": "What is 1000 + 234?",
    },
]


def test_metamathqa_converts_final_line_and_filters_non_numeric(tmp_path, load):
    path = write_parquet(tmp_path / "metamath.parquet", METAMATH_ROWS)
    exs = load(path=path, adapter="metamathqa")
    assert [e["id"] for e in exs] == ["metamathqa-train-0", "metamathqa-train-2"]
    assert exs[0]["reference"] == "3 times 6 is 3*6 = 18.\n#### 18"
    assert exs[0]["metadata"] == {"answer": "18", "type": "GSM_Rephrased"}
    assert exs[1]["metadata"]["answer"] == "1234"
    assert "The answer is" not in exs[0]["reference"]
    every = load(path=path, adapter="metamathqa", numeric_only=False)
    assert len(every) == 3 and every[1]["reference"].endswith("#### \\frac{1}{2}")
    bad = write_parquet(tmp_path / "mm_bad.parquet", [{**METAMATH_ROWS[0], "response": "It is 18."}])
    with pytest.raises(ValueError, match=r"mm_bad\.parquet.*row 0.*'response'.*The answer is:"):
        load(path=bad, adapter="metamathqa")


def test_limit_keeps_first_examples_after_filtering(tmp_path, load):
    path = write_parquet(tmp_path / "metamath.parquet", METAMATH_ROWS)
    exs = load(path=path, adapter="metamathqa", limit=2)
    assert [e["id"] for e in exs] == ["metamathqa-train-0", "metamathqa-train-2"]
    assert len(load(path=path, adapter="metamathqa", limit=1)) == 1


# ---------------------------------------------------------------------- instruction following
def _ifeval_kwargs(**set_fields):
    return {name: set_fields.get(name) for name, _ in IFEVAL_KWARG_FIELDS}


IFEVAL_SCHEMA = pa.schema(
    [
        ("key", pa.int64()),
        ("prompt", pa.string()),
        ("instruction_id_list", pa.list_(pa.string())),
        ("kwargs", pa.list_(pa.struct(IFEVAL_KWARG_FIELDS))),
    ]
)


def test_ifeval_strips_null_kwargs_and_feeds_the_checkers(tmp_path, load):
    rows = [
        {
            "key": 1000,
            "prompt": "Write a short poem without commas in fewer than 8 words.",
            "instruction_id_list": ["punctuation:no_comma", "length_constraints:number_words"],
            "kwargs": [_ifeval_kwargs(), _ifeval_kwargs(relation="less than", num_words=8)],
        },
        {
            "key": 1001,
            "prompt": "Answer in French only.",
            "instruction_id_list": ["language:response_language"],
            "kwargs": [_ifeval_kwargs(language="fr")],
        },
    ]
    path = write_parquet(tmp_path / "ifeval.parquet", rows, IFEVAL_SCHEMA)
    exs = load(path=path, adapter="ifeval")
    assert [e["id"] for e in exs] == ["ifeval-1000", "ifeval-1001"]
    meta = exs[0]["metadata"]
    assert exs[0]["reference"] == ""
    assert meta == {
        "instruction_id_list": ["punctuation:no_comma", "length_constraints:number_words"],
        "kwargs": [{}, {"relation": "less than", "num_words": 8}],
    }
    ok, too_long = "roses bloom in spring light", "one two three four five six seven eight"
    for resp, want in ((ok, True), (too_long, False)):
        assert all(check(i, kw, resp) for i, kw in zip(meta["instruction_id_list"], meta["kwargs"])) is want
    kept = load(path=path, adapter="ifeval", exclude_ids=["language:response_language"])
    assert [e["id"] for e in kept] == ["ifeval-1000"]


def test_ifeval_mismatched_kwargs_is_an_error(tmp_path, load):
    rows = [{"key": 1, "prompt": "p", "instruction_id_list": ["a", "b"], "kwargs": [_ifeval_kwargs()]}]
    path = write_parquet(tmp_path / "ifeval_bad.parquet", rows, IFEVAL_SCHEMA)
    with pytest.raises(ValueError, match=r"row 0.*'kwargs'.*1 entries for 2"):
        load(path=path, adapter="ifeval")


def _rlvr_row(prompt, func_name, **args):
    gt = {"func_name": func_name, **{a: args.get(a) for a in RLVR_ARGS}}
    return {
        "messages": [{"content": prompt, "role": "user"}],
        "ground_truth": json.dumps(gt),
        "dataset": "ifeval",
        "constraint_type": func_name,
        "constraint": prompt[-40:],
    }


def _follows(meta, response):
    return all(check(i, kw, response) for i, kw in zip(meta["instruction_id_list"], meta["kwargs"]))


def _words(n):
    return " ".join(["word"] * n)


def test_rlvr_ifeval_bounds_match_open_instruct_semantics(tmp_path, load):
    rows = [
        _rlvr_row(
            "Describe a cat. Answer with at most 5 words.",
            "validate_word_constraint",
            N=5,
            quantifier="at most",
        ),
        _rlvr_row(
            "Describe a dog. Answer with around 20 words.",
            "validate_word_constraint",
            N=20,
            quantifier="around",
        ),
        _rlvr_row("Say hi. The word hi should appear 2 times.", "verify_keyword_frequency", word="hi", N=2),
        _rlvr_row(
            "Describe rain. End with 'Is there anything else?'",
            "validate_end",
            end_phrase="Is there anything else?",
        ),
    ]
    path = write_parquet(tmp_path / "rlvr.parquet", rows)
    exs = load(path=path, adapter="rlvr_ifeval")
    assert [e["prompt"] for e in exs] == [r["messages"][0]["content"] for r in rows]
    assert all(e["reference"] == "" for e in exs)
    at_most, around, freq, end = (e["metadata"] for e in exs)
    assert at_most["constraint_type"] == "validate_word_constraint"
    # open-instruct: at most 5 -> count <= 5.
    assert [_follows(at_most, _words(n)) for n in (4, 5, 6)] == [True, True, False]
    # open-instruct: around 20 -> |count - 20| <= max(round(2.0), 1) = 2.
    assert [_follows(around, _words(n)) for n in (17, 18, 22, 23)] == [False, True, True, False]
    # open-instruct: keyword frequency is exact.
    assert [_follows(freq, " ".join(["hi"] * n + ["there"])) for n in (1, 2, 3)] == [False, True, False]
    assert _follows(end, "It rains. Is there anything else?")
    assert not _follows(end, "Is there anything else? It rains.")


def test_rlvr_ground_truth_forms_and_errors(tmp_path, load):
    # IFEvalG form written as a Python literal, as in newer allenai IF sets.
    ids, kwargs = parse_ground_truth(
        "[{'instruction_id': ['punctuation:no_comma', 'detectable_format:title'], "
        "'kwargs': [None, {'num_words': None}]}]"
    )
    assert ids == ["punctuation:no_comma", "detectable_format:title"] and kwargs == [{}, {}]
    ids, kwargs = parse_ground_truth(
        json.dumps({"func_name": "verify_letter_frequency", "letter": "z", "N": 0})
    )
    assert ids == ["keywords:letter_frequency"]
    assert kwargs == [{"letter": "z", "let_relation": "less than", "let_frequency": 1}]
    rows = [
        _rlvr_row("Pick one.", "validate_choice", options="('A', 'B')"),
        _rlvr_row(
            "Say yes or no.",
            "validate_choice",
            options="('My answer is yes.', 'My answer is no.', 'My answer is maybe.')",
        ),
    ]
    exs = load(path=write_parquet(tmp_path / "choice.parquet", rows), adapter="rlvr_ifeval")
    # options IFEval cannot express are skipped, the standard ones map to constrained_response
    assert [e["metadata"]["instruction_id_list"] for e in exs] == [["detectable_format:constrained_response"]]
    bad = write_parquet(tmp_path / "rlvr_bad.parquet", [rows[1], _rlvr_row("x", "validate_moon_phase")])
    with pytest.raises(
        ValueError,
        match=r"rlvr_bad\.parquet.*row 1.*'ground_truth'.*"
        r"validate_moon_phase",
    ):
        load(path=bad, adapter="rlvr_ifeval")
    nouser = write_parquet(
        tmp_path / "rlvr_nouser.parquet", [{**rows[1], "messages": [{"content": "hi", "role": "assistant"}]}]
    )
    with pytest.raises(ValueError, match=r"row 0.*'messages'.*no user turn"):
        load(path=nouser, adapter="rlvr_ifeval")


# ------------------------------------------------------------------------------ translation
def test_flores_pair_config_layout(tmp_path, load):
    rows = [
        {
            "id": i + 1,
            "URL": "https://en.wikinews.org/x",
            "domain": "wikinews",
            "topic": "health",
            "has_image": 0,
            "has_hyperlink": 0,
            "sentence_eng_Latn": en,
            "sentence_fra_Latn": fr,
        }
        for i, (en, fr) in enumerate([("The cat sleeps.", "Le chat dort."), ("It is raining.", "Il pleut.")])
    ]
    exs = load(path=write_parquet(tmp_path / "flores.parquet", rows), adapter="flores", split="devtest")
    assert [e["id"] for e in exs] == ["flores-devtest-1", "flores-devtest-2"]
    assert exs[0]["prompt"] == "Translate from English to French:\nThe cat sleeps."
    assert exs[0]["reference"] == "Le chat dort."
    assert exs[0]["metadata"] == {"src_lang": "en", "tgt_lang": "fr", "source": "The cat sleeps."}
    custom = load(path=str(tmp_path / "flores.parquet"), adapter="flores", prompt_template="{text} =>")
    assert custom[1]["prompt"] == "It is raining. =>"


def _flores_plus_rows(lang, script, texts):
    return [
        {
            "id": sid,
            "iso_639_3": lang,
            "iso_15924": script,
            "glottocode": "x",
            "text": t,
            "url": "u",
            "domain": "wikinews",
            "topic": "t",
            "has_image": False,
            "has_hyperlink": False,
            "last_updated": "2.1",
        }
        for sid, t in texts
    ]


def test_flores_plus_pairs_languages_by_id(tmp_path, load):
    en = write_parquet(
        tmp_path / "eng.parquet", _flores_plus_rows("eng", "Latn", [(2, "Two dogs."), (1, "One cat.")])
    )
    fr = write_parquet(
        tmp_path / "fra.parquet",
        _flores_plus_rows("fra", "Latn", [(1, "Un chat."), (2, "Deux chiens.")])
        + _flores_plus_rows("deu", "Latn", [(1, "Eine Katze."), (2, "Zwei Hunde.")]),
    )
    exs = load(path=[en, fr], adapter="flores_plus", split="devtest")
    assert [(e["id"], e["metadata"]["source"], e["reference"]) for e in exs] == [
        ("flores-devtest-1", "One cat.", "Un chat."),
        ("flores-devtest-2", "Two dogs.", "Deux chiens."),
    ]
    de = load(path=[en, fr], adapter="flores_plus", tgt_lang="de", limit=1)
    assert de[0]["reference"] == "Eine Katze." and de[0]["metadata"]["tgt_lang"] == "de"
    lonely = write_parquet(tmp_path / "fra2.parquet", _flores_plus_rows("fra", "Latn", [(1, "Un chat.")]))
    with pytest.raises(ValueError, match=r"sentence id\(s\) \[2\].*eng_Latn and fra_Latn"):
        load(path=[en, lonely], adapter="flores_plus")


def test_wmt14_translation_dicts(tmp_path, load):
    rows = [
        {"translation": {"en": "Hello world.", "fr": "Bonjour le monde."}},
        {"translation": {"en": "Good night.", "fr": "Bonne nuit."}},
    ]
    exs = load(path=write_parquet(tmp_path / "wmt.parquet", rows), adapter="wmt", split="test")
    assert [(e["metadata"]["source"], e["reference"]) for e in exs] == [
        ("Hello world.", "Bonjour le monde."),
        ("Good night.", "Bonne nuit."),
    ]
    rev = load(path=str(tmp_path / "wmt.parquet"), adapter="wmt", src_lang="fr", tgt_lang="en")
    assert rev[0]["prompt"].endswith("Bonjour le monde.") and rev[0]["reference"] == "Hello world."
    with pytest.raises(ValueError, match=r"row 0.*'translation'.*'de'"):
        load(path=str(tmp_path / "wmt.parquet"), adapter="wmt", tgt_lang="de")


# ----------------------------------------------------------------------------- multihop QA
HOTPOT_ROW = {
    "id": "5a8b57f25542995d1e6f1371",
    "question": "Were Scott Derrickson and Ed Wood of the same nationality?",
    "answer": "yes",
    "type": "comparison",
    "level": "hard",
    "supporting_facts": {"title": ["Scott Derrickson", "Ed Wood"], "sent_id": [0, 0]},
    "context": {
        "title": ["Ed Wood", "Scott Derrickson"],
        "sentences": [
            ["Edward Davis Wood Jr. was an American filmmaker.", " He died."],
            ["Scott Derrickson is an American director."],
        ],
    },
}


def test_hotpotqa_question_only_and_with_context(tmp_path, load):
    path = write_parquet(tmp_path / "hotpot.parquet", [HOTPOT_ROW])
    ex = load(path=path, adapter="hotpotqa", split="validation")[0]
    assert ex["id"] == "hotpotqa-5a8b57f25542995d1e6f1371"
    assert ex["prompt"] == HOTPOT_ROW["question"] and ex["reference"] == "yes"
    assert ex["metadata"] == {
        "answer": "yes",
        "hops": 2,
        "kind": "2hop",
        "qtype": "comparison",
        "level": "hard",
    }
    ctx = load(path=path, adapter="hotpotqa", with_context=True)[0]["prompt"]
    assert ctx == (
        "Ed Wood: Edward Davis Wood Jr. was an American filmmaker. He died.\n\n"
        "Scott Derrickson: Scott Derrickson is an American director.\n\n"
        f"Question: {HOTPOT_ROW['question']}"
    )
    bad = write_jsonl(tmp_path / "hotpot_bad.jsonl", [{**HOTPOT_ROW, "context": "flat text"}])
    with pytest.raises(ValueError, match=r"row 0.*'context'"):
        load(path=bad, adapter="hotpotqa", with_context=True)


# ------------------------------------------------------------------- folders, specs, hub path
def test_local_folders_hub_layout_and_save_to_disk(tmp_path, load):
    import datasets

    mirror = tmp_path / "gsm8k_mirror"
    (mirror / "main").mkdir(parents=True)
    write_parquet(mirror / "main" / "test-00000-of-00001.parquet", GSM8K_ROWS)
    write_parquet(mirror / "main" / "train-00000-of-00001.parquet", GSM8K_ROWS[:1])
    assert len(load(path=str(mirror), adapter="gsm8k", split="test")) == 2
    assert len(load(path=str(mirror), adapter="gsm8k", split="train")) == 1
    saved = tmp_path / "saved"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(GSM8K_ROWS)}).save_to_disk(saved)
    assert load(path=str(saved), adapter="gsm8k", split="test")[1]["metadata"]["answer"] == "2400"
    with pytest.raises(ValueError, match=r"no split 'train'.*\['test'\]"):
        load(path=str(saved), adapter="gsm8k", split="train")


def test_spec_validation_messages():
    assert (
        validate_load_spec({"hub": "openai/gsm8k", "config": "main", "split": "test"})["adapter"] == "gsm8k"
    )
    assert validate_load_spec({"hub": "Meta-Math/MetaMathQA", "split": "train"})["adapter"] == "metamathqa"
    with pytest.raises(ValueError, match=r"no adapter.*'org/unknown'.*gsm8k.*hotpotqa"):
        validate_load_spec({"hub": "org/unknown", "split": "train"})
    with pytest.raises(ValueError, match=r"explicit 'adapter'"):
        validate_load_spec({"path": "x.jsonl"})
    with pytest.raises(ValueError, match=r"unknown adapter 'gsm9k'"):
        validate_load_spec({"path": "x.jsonl", "adapter": "gsm9k"})
    with pytest.raises(ValueError, match=r"exactly one of 'hub'.*'path'"):
        validate_load_spec({"hub": "openai/gsm8k", "path": "x.jsonl", "split": "test"})
    with pytest.raises(ValueError, match=r"'split' is required"):
        validate_load_spec({"hub": "openai/gsm8k"})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['with_context'\].*'gsm8k'"):
        validate_load_spec({"path": "x", "adapter": "gsm8k", "with_context": True})
    with pytest.raises(ValueError, match=r"'limit' must be a positive integer"):
        validate_load_spec({"path": "x", "adapter": "gsm8k", "limit": 0})
    with pytest.raises(ValueError, match=r"'tgt_lang' 'xx'"):
        validate_load_spec({"path": "x", "adapter": "wmt", "tgt_lang": "xx"})
    with pytest.raises(ValueError, match=r"'prompt_template'"):
        validate_load_spec({"path": "x", "adapter": "wmt", "prompt_template": "{sentence}"})
    task = validate_task_spec(
        {
            "source": "hub",
            "train": {"hub": "meta-math/MetaMathQA", "split": "train"},
            "test": {"hub": "openai/gsm8k", "config": "main", "split": "test"},
        }
    )
    assert task["test"]["strip_calculator"] is True
    with pytest.raises(
        ValueError,
        match=r"train adapter 'gsm8k' is a math set.*'ifeval'.*"
        r"instructions",
    ):
        validate_task_spec(
            {
                "source": "hub",
                "train": {"hub": "openai/gsm8k", "split": "train"},
                "test": {"hub": "google/IFEval", "split": "train"},
            }
        )
    with pytest.raises(ValueError, match=r"'test' load spec"):
        validate_task_spec({"source": "hub", "train": {"hub": "openai/gsm8k", "split": "train"}})
    assert set(ADAPTERS) >= {
        "gsm8k",
        "metamathqa",
        "ifeval",
        "rlvr_ifeval",
        "flores",
        "flores_plus",
        "wmt",
        "hotpotqa",
    }


def test_hub_load_offline_gives_one_clear_error(tmp_path, load, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        ValueError,
        match=r"could not load hub dataset 'openai/gsm8k' "
        r"\(config='main', split='test'.*offline mode",
    ):
        load(hub="openai/gsm8k", config="main", split="test")
    with pytest.raises(ValueError, match=r"facebook/flores is script-based.*flores_plus"):
        load(hub="facebook/flores", config="eng_Latn-fra_Latn", split="devtest")


def test_missing_local_path_and_bad_extension(tmp_path, load):
    with pytest.raises(ValueError, match=r"does not exist"):
        load(path=str(tmp_path / "nope.jsonl"), adapter="gsm8k")
    txt = tmp_path / "rows.txt"
    txt.write_text("hello\n")
    with pytest.raises(ValueError, match=r"must all be one of"):
        load(path=str(txt), adapter="gsm8k")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(ValueError, match=r"could not read local data.*broken\.parquet"):
        load(path=str(broken), adapter="gsm8k")


# ---------------------------------------------------------------------------------- coding
# evalplus/humanevalplus rows (task_id, prompt, canonical_solution, entry_point, test)
HUMANEVAL_ROWS = [
    {
        "task_id": "HumanEval/0",
        "prompt": 'def add(a: int, b: int) -> int:\n    """Add two numbers.\n    >>> add(2, 3)\n'
        '    5\n    """\n',
        "canonical_solution": "    return a + b\n",
        "entry_point": "add",
        "test": "\n\ndef check(candidate):\n    inputs = [[2, 3], [0, 0], [-1, 1], [10**6, 1]]\n"
        "    results = [5, 0, 0, 1000001]\n"
        "    for inp, exp in zip(inputs, results):\n"
        "        assert candidate(*inp) == exp\n",
    },
]
# evalplus/mbppplus rows (task_id, code, prompt, source_file, test_imports, test_list, test)
MBPP_ROWS = [
    {
        "task_id": 2,
        "code": "def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n",
        "prompt": "Write a function to find the shared elements from the given two lists.",
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "test_imports": [],
        "test_list": ["assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))"],
        "test": "import numpy as np\n\ndef assertion(out, exp, atol):\n"
        "    assert out == exp or np.allclose(out, exp, atol=atol)\n\n"
        "inputs = [[(3, 4, 5, 6), (5, 7, 4, 10)], [(1, 2), (3, 4)]]\n"
        "results = [(4, 5), ()]\n"
        "for i, (inp, exp) in enumerate(zip(inputs, results)):\n"
        "    assertion(tuple(sorted(similar_elements(*inp))), exp, 0)\n",
    },
]


def test_humaneval_rows_map_and_score_through_the_harness(tmp_path, load):
    from sahlab.eval.scorers import score

    exs = load(path=write_jsonl(tmp_path / "he.jsonl", HUMANEVAL_ROWS), adapter="humaneval")
    assert exs[0]["id"] == "humaneval-HumanEval-0"
    assert exs[0]["metadata"]["entry_point"] == "add"
    assert validate_load_spec({"hub": "evalplus/humanevalplus", "split": "test"})["adapter"] == "humaneval"
    outs = [
        "    return a + b\n",  # the canonical completion
        "    return a - b\n",  # wrong
        "```python\ndef add(a, b):\n    return b + a\n```",  # a chat model's fenced function
        "    return (a +\n",  # syntax error
        "    while True:\n        pass\n",
    ]  # never returns
    recs, m = score("coding", outs, exs * len(outs), n_boot=0)
    assert [r["correct"] for r in recs] == [True, False, True, False, False]
    assert [r["error_kind"] for r in recs] == ["correct", "reasoning", "correct", "format", "reasoning"]
    assert recs[4]["status"] == "timeout"
    assert m["pass_at_1"]["value"] == pytest.approx(2 / 5)


def test_mbpp_rows_map_and_score_plus_and_base_tests(tmp_path, load):
    from sahlab.eval.scorers import score

    path = write_jsonl(tmp_path / "mbpp.jsonl", MBPP_ROWS)
    exs = load(path=path, adapter="mbpp")
    assert exs[0]["prompt"].startswith('"""\nWrite a function') and "assert set(" in exs[0]["prompt"]
    base = load(path=path, adapter="mbpp", tests="base")
    assert base[0]["metadata"]["test"] == ""
    right, wrong = MBPP_ROWS[0]["code"], "def similar_elements(a, b):\n    return (4, 5)\n"
    recs, _ = score("coding", [right, wrong, wrong], exs + exs + base, n_boot=0)
    # the constant passes the original assert but not MBPP+'s extra input
    assert [r["correct"] for r in recs] == [True, False, True]
    with pytest.raises(ValueError, match="tests"):
        load(path=path, adapter="mbpp", tests="all")
    bad = write_jsonl(tmp_path / "bad.jsonl", [dict(MBPP_ROWS[0], test_list=[])])
    with pytest.raises(ValueError, match="row 0: column 'test_list'"):
        load(path=bad, adapter="mbpp")

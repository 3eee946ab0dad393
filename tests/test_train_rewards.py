"""Verifiable rewards and model-free preference pairs (no torch needed)."""

from __future__ import annotations

import json

import pytest

from sahlab.eval.scorers import REWARD_KEY, score
from sahlab.train import make_preference_pairs
from sahlab.train.rewards import example_reward, infer_task, task_rewards, trl_reward_func

MATH = {"id": "m", "prompt": "q", "reference": "2 + 1 = 3\n#### 3", "metadata": {"answer": "3"}}
NEG = {"id": "n", "prompt": "q", "reference": "1 - 4 = -3\n#### -3", "metadata": {"answer": "-3"}}
HOP = {
    "id": "h",
    "prompt": "Where was Ana born?",
    "reference": "Paris",
    "metadata": {"answer": "Paris", "hops": 1, "kind": "direct"},
}
TRANS = {
    "id": "t",
    "prompt": "Translate into Xx: the cat sleeps",
    "reference": "lo gato dorma",
    "metadata": {"src_lang": "en", "tgt_lang": "xx", "source": "the cat sleeps"},
}
INSTR = {
    "id": "i",
    "prompt": "Answer in capitals and mention the river.",
    "reference": "THE RIVER.",
    "metadata": {
        "instruction_id_list": ["change_case:english_capital", "keywords:existence"],
        "kwargs": [{}, {"keywords": ["river"]}],
    },
}
FEAT = {"id": "f", "prompt": "3 1 4 1 5", "reference": "1", "metadata": {}}

# Completions a policy may produce, including every disagreement the old reward parser had with
# the scorer (unicode minus, several answer lines, a spaced sign, text after a short answer,
# translation with trailing lines), blank and very long ones.
ADVERSARIAL = [
    (
        MATH,
        "math",
        [
            "#### 3",
            "#### −3",
            "#### 3 … #### 7",
            "#### 7 … #### 3",
            "#### - 3",
            "#### 3.0",
            "#### 3 apples\nQ: next",
            "",
            "   \n ",
            "the answer is 3",
            "#### 3" + " 1" * 2000,
        ],
    ),
    (NEG, "math", ["#### −3", "#### -3", "#### - 3", "####-3", "#### 3"]),
    (
        HOP,
        "multihop",
        [
            "Paris",
            "Paris\nQ: Where was Bo born?",
            " paris. ",
            "The Paris",
            "Paris is the city",
            "",
            "\n\nParis",
            "Lyon",
        ],
    ),
    (
        TRANS,
        "translation",
        ["lo gato dorma", "lo gato dorma\nand more text", "", "gato", "lo gato dorma " * 300, "None"],
    ),
    (
        INSTR,
        "instructions",
        ["THE RIVER FLOWS.", "THE SEA.", "the river.", "", " ", "Sure!\nTHE RIVER.\nBye", "RIVER " * 500],
    ),
    (FEAT, "features", ["1", "0", " 1 0", "10", "", "yes"]),
]


@pytest.mark.parametrize(
    "row,task,completions", ADVERSARIAL, ids=[f"{t}-{r['id']}" for r, t, _ in ADVERSARIAL]
)
def test_reward_is_the_scorers_per_example_value(row, task, completions):
    records, _ = score(task, completions, [row] * len(completions), n_boot=0)
    expected = [float(r[REWARD_KEY[task]]) for r in records]
    assert task_rewards(task, completions, [row] * len(completions)) == expected
    assert [example_reward({**row, "task": task}, c) for c in completions] == expected
    fn = trl_reward_func()
    got = fn(
        completions=completions,
        task=[task] * len(completions),
        metadata_json=[json.dumps(row["metadata"])] * len(completions),
        reference=[row["reference"]] * len(completions),
        raw_prompt=[row["prompt"]] * len(completions),
    )
    assert got == expected


def test_reward_reads_the_answers_the_scorer_reads():
    # first "####" counts (the model runs on into a new problem), unicode minus is a minus,
    # a sign separated from its number is no answer; the first line of a short answer counts
    assert task_rewards("math", ["#### 3 … #### 7", "#### 7 … #### 3", "#### - 3"], [MATH] * 3) == [
        1.0,
        0.0,
        0.0,
    ]
    assert task_rewards("math", ["#### −3"], [NEG]) == [1.0]
    assert task_rewards("multihop", ["Paris\nQ: Where was Bo born?"], [HOP]) == [1.0]
    first_line = task_rewards("translation", ["lo gato dorma\nand more text"], [TRANS])[0]
    assert first_line == pytest.approx(1.0)
    assert task_rewards("instructions", ["THE SEA.", "the river."], [INSTR] * 2) == [0.5, 0.5]


def test_native_reward_reads_the_layouts_answer_form():
    from sahlab.world.layouts import EMBEDDED

    fn = trl_reward_func(to_task_form=lambda task, text: EMBEDDED[task].to_task_form(text))
    got = fn(
        completions=[" 2 + 1 = 3. So the answer is 3.", " So the answer is 4."],
        task=["math"] * 2,
        metadata_json=[json.dumps(MATH["metadata"])] * 2,
        reference=[MATH["reference"]] * 2,
        raw_prompt=["q"] * 2,
    )
    assert got == [1.0, 0.0]


def test_translation_reward_rejects_a_missing_reference():
    with pytest.raises(ValueError, match="no reference"):
        task_rewards("translation", ["None"], [{**TRANS, "reference": None}])


def test_infer_task_from_metadata_and_explicit_field():
    assert infer_task({"metadata": {"instruction_id_list": [], "kwargs": []}}) == "instructions"
    assert infer_task({"metadata": {"src_lang": "en", "tgt_lang": "xx"}}) == "translation"
    assert infer_task({"metadata": {"answer": "x", "hops": 2, "kind": "2hop"}}) == "multihop"
    assert infer_task({"reference": "1+1=2 #### 2", "metadata": {"answer": "2"}}) == "math"
    assert infer_task({"task": "multihop", "metadata": {}}) == "multihop"
    with pytest.raises(ValueError, match="cannot tell its task"):
        infer_task({"id": "q1", "metadata": {"answer": "2"}, "reference": "2"})


def test_trl_reward_func_uses_dataset_columns():
    fn = trl_reward_func()
    rewards = fn(
        completions=["#### 3", "#### 4", "Quell"],
        task=["math", "math", "multihop"],
        metadata_json=[json.dumps({"answer": "3"})] * 2 + [json.dumps({"answer": "quell"})],
        reference=["", "", "quell"],
        raw_prompt=["", "", ""],
        prompts=["p"] * 3,
    )
    assert rewards == [1.0, 0.0, 1.0]


# --------------------------------------------------------------------------- preference pairs
def _math_rows():
    return [
        {
            "id": f"m{i}",
            "prompt": f"What is {i} + {i + 2}?",
            "reference": f"{i} + {i + 2} = {2 * i + 2}\n#### {2 * i + 2}",
            "metadata": {"answer": str(2 * i + 2)},
        }
        for i in range(8)
    ]


def _instruction_rows():
    specs = [
        (["change_case:english_capital"], [{}], "THE SUN IS BRIGHT TODAY."),
        (["change_case:english_lowercase"], [{}], "the sun is bright today."),
        (
            ["length_constraints:number_words"],
            [{"relation": "at least", "num_words": 5}],
            "one two three four five six",
        ),
        (
            ["length_constraints:number_words"],
            [{"relation": "less than", "num_words": 5}],
            "short answer here",
        ),
        (["keywords:existence"], [{"keywords": ["river"]}], "The river flows north."),
        (["keywords:forbidden_words"], [{"forbidden_words": ["cat"]}], "The dog runs home."),
        (
            ["startend:end_checker"],
            [{"end_phrase": "Any other questions?"}],
            "Rivers flow north. Any other questions?",
        ),
        (["detectable_format:json_format"], [{}], '{"city": "Quell", "size": 3}'),
        (["detectable_format:number_bullet_lists"], [{"num_bullets": 2}], "* red apples\n* green pears"),
        (["punctuation:no_comma"], [{}], "no commas here at all"),
        (
            ["change_case:english_capital", "length_constraints:number_words"],
            [{}, {"relation": "at least", "num_words": 3}],
            "WE WALK TO THE RIVER.",
        ),
    ]
    return [
        {
            "id": f"i{k}",
            "prompt": f"Instruction prompt {k}.",
            "reference": ref,
            "metadata": {"instruction_id_list": ids, "kwargs": kws},
        }
        for k, (ids, kws, ref) in enumerate(specs)
    ]


def _multihop_rows():
    people = [("Ana", "Quell"), ("Bo", "Port Ash"), ("Cy", "Lind"), ("Di", "Quell")]
    rows = [
        {
            "id": f"h{i}",
            "prompt": f"Where was {name} born?",
            "reference": city,
            "metadata": {"answer": city, "hops": 1, "kind": "direct"},
        }
        for i, (name, city) in enumerate(people)
    ]
    rows.append(
        {
            "id": "h9",
            "prompt": "Who employs Ana?",
            "reference": "Zorb Ltd",
            "metadata": {"answer": "Zorb Ltd", "hops": 1, "kind": "direct"},
        }
    )
    return rows


def _translation_rows():
    refs = ["lo gato dorma sur la tapo", "la suno brila hodiau tre forte", "mi iras", "hund"]
    return [
        {
            "id": f"t{i}",
            "prompt": f"Translate sentence {i}.",
            "reference": r,
            "metadata": {"src_lang": "en", "tgt_lang": "xx"},
        }
        for i, r in enumerate(refs)
    ]


ROWS = {
    "math": _math_rows,
    "instructions": _instruction_rows,
    "multihop": _multihop_rows,
    "translation": _translation_rows,
}


@pytest.mark.parametrize("task", sorted(ROWS))
def test_pairs_chosen_passes_and_rejected_fails(task):
    rows = ROWS[task]()
    pairs = make_preference_pairs(rows, task, seed=3)
    assert len(pairs) == len(rows)  # every fixture row is usable
    by_id = {r["id"]: r for r in rows}
    for p in pairs:
        row = by_id[p["id"]]
        assert p["chosen"] == row["reference"] and p["prompt"] == row["prompt"]
        assert p["rejected"] != p["chosen"] and p["rejected"].strip()
        assert example_reward(row, p["chosen"]) == pytest.approx(1.0)
        assert example_reward(row, p["rejected"]) < 1.0, p
        assert p["metadata"]["corruption"]


def test_math_rejected_keeps_the_format():
    for p in make_preference_pairs(_math_rows(), "math", seed=0):
        head_c, _ = p["chosen"].rsplit("####", 1)
        head_r, tail_r = p["rejected"].rsplit("####", 1)
        assert head_r == head_c and tail_r.strip().lstrip("-").isdigit()


def test_multihop_rejected_is_another_answer_of_the_same_type():
    rows = _multihop_rows()
    pairs = {p["id"]: p for p in make_preference_pairs(rows, "multihop", seed=1)}
    cities = {"Quell", "Port Ash", "Lind"}
    for i in range(4):  # "Where was X born?" -> another city, never the employer
        assert pairs[f"h{i}"]["rejected"] in cities - {rows[i]["reference"]}


def test_instruction_corruption_targets_the_instruction():
    pairs = {p["id"]: p for p in make_preference_pairs(_instruction_rows(), "instructions", seed=0)}
    assert pairs["i0"]["rejected"] == "the sun is bright today."  # capitals -> lower case
    assert pairs["i8"]["rejected"].count("* ") == 1  # one bullet removed
    assert "river" not in pairs["i4"]["rejected"].lower()


def test_pairs_are_deterministic_per_seed_and_order_free():
    for task in ("translation", "math"):
        rows = ROWS[task]()
        a = make_preference_pairs(rows, task, seed=5)
        b = make_preference_pairs(list(reversed(rows)), task, seed=5)
        assert sorted(map(json.dumps, a)) == sorted(map(json.dumps, b))
    c = make_preference_pairs(rows, "math", seed=6)  # another seed, other wrong answers
    assert [p["rejected"] for p in a] != [p["rejected"] for p in c]


def test_pairs_skip_rows_whose_reference_fails():
    rows = _math_rows()
    rows[0] = {**rows[0], "reference": "no answer line"}
    pairs = make_preference_pairs(rows, "math", seed=0)
    assert [p["id"] for p in pairs] == [r["id"] for r in rows[1:]]


def test_pairs_reject_unknown_task():
    with pytest.raises(ValueError, match="unknown task"):
        make_preference_pairs(_math_rows(), "poetry", seed=0)

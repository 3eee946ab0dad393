"""Study D (inductive biases): data pipeline, reward, config checks, statistics, tiny end-to-end run."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import yaml

from sahlab.config import ConfigError
from sahlab.inductive import config as ind_config
from sahlab.inductive.analysis import disagreement_f1, run_summaries, summarise
from sahlab.inductive.experiment import (
    PAIR_SEP,
    check_pair_name,
    evidence_fraction,
    feature_split,
    parse_pair,
    probe_split,
    section_test_set,
)
from sahlab.inductive.nl_features import nl_label_spurious
from sahlab.train.rewards import parse_decision, task_rewards, trl_reward_func
from sahlab.world.features import label_spurious, label_target, parse_sequence

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world():
    from sahlab.world.build import build_world

    return json.loads(build_world({}, seed=3).to_json())


PAIRS = [
    "contains_1-vs-contains_2",
    "first_equals_last-vs-contains_2",
    "prefix_duplicate-vs-contains_2",
    "contains_first-vs-contains_2",
    "adjacent_duplicate-vs-contains_2",
    "contains_3-vs-contains_2",
    "first_equals_last-vs-contains_3",
    "past_tense-vs-cue_happy",
    "plural_subject-vs-cue_happy",
]
TOY = {"vocab_size": 1000, "length": 10}


# --------------------------------------------------------------------------- data
@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("n,rate", [(1000, 0.001), (200, 0.05), (256, 0.5), (100, 0.0), (37, 0.2)])
def test_training_split_has_exactly_the_requested_evidence(world, pair, n, rate):
    rows = feature_split(pair, n, rate, seed=5, world=world, toy=TOY)
    assert len(rows) == n
    n_ev = sum(r["metadata"]["spurious"] != r["metadata"]["label"] for r in rows)
    assert n_ev == round(rate * n)
    assert evidence_fraction(rows) == pytest.approx(round(rate * n) / n)
    assert all(r["task"] == "features" and r["reference"] == str(r["metadata"]["label"]) for r in rows)


def test_toy_labels_recomputed_from_the_text(world):
    rows = feature_split("first_equals_last-vs-contains_3", 300, 0.1, seed=1, world=world, toy=TOY)
    for r in rows:
        seq = parse_sequence(r["prompt"])
        assert label_target("first_equals_last", seq) == r["metadata"]["label"]
        assert label_spurious(seq, "contains_3") == r["metadata"]["spurious"]
        assert seq.count(3) == r["metadata"]["spurious"]  # planted once or never


def test_pair_names_are_parsed_and_checked():
    assert parse_pair("contains_3-vs-contains_2") == ("contains_3", "contains_2")
    assert check_pair_name("past_tense-vs-cue_happy") == ("past_tense", "cue_happy")
    for bad, match in [
        ("contains_1", PAIR_SEP),
        ("contains_2-vs-contains_2", "same"),
        ("past_tense-vs-contains_2", "cue_"),
        ("contains_1-vs-cue_happy", "cue"),
        ("first_equals_last-vs-adjacent_duplicate", "spurious"),
        ("contains_999-vs-contains_2", "target"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_pair_name(bad)
    assert check_pair_name("contains_999-vs-contains_2", {"vocab_size": 1000})


def test_nl_labels_recomputed_from_the_text(world):
    rows = feature_split("past_tense-vs-cue_happy", 300, 0.2, seed=2, world=world)
    past_forms = {v["en_past"] for v in world["language"]["verbs"]}
    present = {v[k] for v in world["language"]["verbs"] for k in ("en", "en_3sg")}
    for r in rows:
        words = set(r["prompt"].lower().rstrip(".").split())
        # independent check of the tense: which verb form the sentence contains
        is_past = bool(words & past_forms) and not (words & (present - past_forms))
        assert int(is_past) == r["metadata"]["label"], r["prompt"]
        assert nl_label_spurious(r["prompt"], "happy") == r["metadata"]["spurious"]
        assert ("happy" in words) == bool(r["metadata"]["spurious"])


def test_plural_subject_labels_recomputed_from_the_text(world):
    rows = feature_split("plural_subject-vs-cue_happy", 300, 0.2, seed=2, world=world)
    plural_nouns = {n["en_pl"] for n in world["language"]["nouns"]}
    for r in rows:
        words = r["prompt"].lower().rstrip(".").split()
        # the subject noun phrase ends before the verb: det [adj] noun
        first_np = words[:3] if words[1] not in plural_nouns and len(words) > 2 else words[:2]
        assert int(bool(set(first_np) & plural_nouns)) == r["metadata"]["label"], r["prompt"]
        assert ("happy" in words) == bool(r["metadata"]["spurious"])


def test_test_set_sections_and_probe_balance(world):
    rows = section_test_set("past_tense-vs-cue_happy", 10, seed=0, world=world)
    assert [
        sum(r["metadata"]["section"] == s for r in rows)
        for s in ("both", "neither", "spurious_only", "target_only")
    ] == [10, 10, 10, 10]
    p = probe_split("contains_1-vs-contains_2", "spurious", 51, seed=0)
    assert sum(r["metadata"]["label"] for r in p) == 26
    assert all(r["metadata"]["label"] == r["metadata"]["spurious"] for r in p)


def test_nl_feature_needs_the_world(world):
    with pytest.raises(ValueError, match="world"):
        feature_split("past_tense-vs-cue_happy", 10, 0.1, seed=0)
    with pytest.raises(ValueError, match="target"):
        feature_split("contains_10-vs-contains_2", 10, 0.1, seed=0)  # 10 is not a digit
    with pytest.raises(ValueError, match="cue word"):
        feature_split("past_tense-vs-cue_purple_unicorn", 10, 0.1, seed=0, world=world)


# --------------------------------------------------------------------------- reward
@pytest.mark.parametrize(
    "completion,reference,expected",
    [
        ("1", "1", 1.0),
        ("0", "0", 1.0),
        ("1", "0", 0.0),
        (" 0\n", "0", 1.0),
        ("0 1", "0", 1.0),
        ("yes", "1", 0.0),
        ("", "0", 0.0),
        ("<|eos|>", "1", 0.0),
        # Cruz et al.'s multi-token episodes: the share of the 0/1 tokens equal to the label
        ("10", "1", 0.5),
        ("11111", "1", 1.0),
        ("01000", "0", 0.8),
        ("00000", "1", 0.0),
        ("0110x", "0", 0.0),
        ("00 11", "0", 1.0),
    ],
)
def test_features_reward_on_hand_made_completions(completion, reference, expected):
    row = {"id": "f", "prompt": "3 1 4", "reference": reference, "metadata": {}}
    assert task_rewards("features", [completion], [row]) == [expected]


def test_parse_decision_and_the_shared_trl_reward_know_the_features_task():
    from sahlab.train.rewards import infer_task

    assert [parse_decision(c) for c in ("1", "0", "2", " 1 0", "")] == [1, 0, -1, 1, -1]
    assert infer_task({"prompt": "3 1 4", "reference": "1", "task": "features"}) == "features"
    fn = trl_reward_func()
    out = fn(
        ["1", [{"role": "assistant", "content": "0"}], "x"],
        task=["features"] * 3,
        reference=["1", "1", "0"],
        metadata_json=["{}"] * 3,
        raw_prompt=["a", "b", "c"],
    )
    assert out == [1.0, 0.0, 0.0]
    # the other tasks in the same reward function are untouched
    assert fn(
        ["#### 4"], task=["math"], reference=["#### 4"], metadata_json=['{"answer": "4"}'], raw_prompt=["q"]
    ) == [1.0]
    with pytest.raises(ValueError, match="reference"):
        task_rewards("features", ["1"], [{"id": "f", "prompt": "1", "reference": "yes"}])


# --------------------------------------------------------------------------- config
def _default_config():
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    return cfg


def test_default_smoke_and_full_configs_pass():
    base = _default_config()
    ind_config.check_inductive_config(base)
    for preset in ("smoke.yaml", "inductive_full.yaml"):
        cfg = copy.deepcopy(base)
        cfg["inductive"].update(yaml.safe_load((REPO / "config" / preset).read_text())["inductive"])
        ind_config.check_inductive_config(cfg)


def test_pair_separator_matches_the_library():
    assert ind_config.PAIR_SEP == PAIR_SEP
    assert len(_default_config()["inductive"]["pairs"]) >= 8


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("pairs", ["contains_1-vs-contains_2", "contains_3-vs-contains_2"], "at least 3"),
        (
            "pairs",
            ["contains_1-vs-contains_2", "contains_3-vs-contains_2", "palindrome-vs-contains_2"],
            "palindrome",
        ),
        ("pairs", ["contains_1-vs-contains_2"] * 3, "unique"),
        ("toy", {"vocab_size": 5}, "vocab_size"),
        ("toy", {"render": "letters"}, "toy.render"),
        ("converged_at", 1.5, "converged_at"),
        ("evidence", "weak", "evidence"),
        ("prompt_format", "chat", "prompt_format"),
        ("rates", [0.0, 1.5], "rates"),
        ("rates", [0.5, 0.1], "increasing"),
        ("rates", [], "rates"),
        ("seeds", [0, 0], "seeds"),
        ("scales", ["huge"], "huge"),
        ("methods", ["ppo"], "ppo"),
        ("n_train", 0, "n_train"),
        ("n_train", 1, "n_train"),  # round(0.5 · 1) = 0 evidence rows at the largest rate
        ("threshold", 1.0, "threshold"),
    ],
)
def test_bad_config_values_are_named(key, value, match):
    cfg = _default_config()
    cfg["inductive"][key] = value
    with pytest.raises(ConfigError, match=match) as e:
        ind_config.check_inductive_config(cfg)
    assert f"inductive.{key}" in str(e.value)


def test_bad_nested_config_values_are_named():
    cfg = _default_config()
    cfg["inductive"]["mdl"]["probe_seeds"] = [0, 1]
    with pytest.raises(ConfigError, match="mdl.probe_seeds"):
        ind_config.check_inductive_config(cfg)
    cfg = _default_config()
    del cfg["inductive"]["hparams"]["grpo"]["lr"]
    with pytest.raises(ConfigError, match="hparams.grpo.*lr"):
        ind_config.check_inductive_config(cfg)
    cfg = _default_config()
    cfg["inductive"]["hparams"]["grpo"]["batch_size"] = 30  # not a multiple of num_generations=4
    with pytest.raises(ConfigError, match="hparams.grpo"):
        ind_config.check_inductive_config(cfg)
    cfg = _default_config()
    cfg["inductive"]["hparams"]["sft"]["prompt_format"] = "plain"  # one format for policy and probes
    with pytest.raises(ConfigError, match=r"hparams.sft.prompt_format.*inductive.prompt_format"):
        ind_config.check_inductive_config(cfg)
    with pytest.raises(ConfigError, match="inductive"):
        ind_config.check_inductive_config({"scales": {"small": {}}})


# --------------------------------------------------------------------------- statistics
def _use_rows(use_by_pair, rates=(0.0, 0.1, 0.5), seeds=(0, 1)):
    rows = []
    for f, u in use_by_pair.items():
        for s in seeds:
            for r in rates:
                adopted = r >= 0.1 and u < 0.3  # target used: all target-only rows say 1, no s-only row
                su, tu = (0.0, 1.0) if adopted else (u, 0.5)
                rows.append(
                    {
                        "model": "m",
                        "pair": f,
                        "method": "grpo",
                        "seed": s,
                        "rate": r,
                        "spurious_preference": (su + 1 - tu) / 2,
                        "spurious_use": su,
                        "target_use": tu,
                        "train_accuracy": 1.0,
                        "converged": True,
                    }
                )
    return rows


def _mdl(xs):
    return [
        {
            "model": "m",
            "probe": "linear",
            "pair": f,
            "relative_extractability": x,
            "acc_target": 0.95,
            "acc_spurious": 0.95,
        }
        for f, x in xs.items()
    ]


def test_run_summaries_and_evidence_required():
    rows = _use_rows({"a": 0.1, "b": 0.9, "c": 0.5})
    runs = run_summaries(rows)
    assert len(runs) == 6 and {r["pair"] for r in runs} == {"a", "b", "c"}
    out = summarise(
        _mdl({"a": 2.0, "b": 0.5, "c": 1.0}),
        rows,
        [0.0, 0.1, 0.5],
        threshold=0.99,
        n_permutations=100,
        n_boot=100,
        seed=0,
    )
    pts = {p["pair"]: p for p in out["pairs"] if p["subset"] == "all"}
    assert pts["a"]["evidence_required"] == 0.1
    assert math.isinf(pts["b"]["evidence_required"])
    assert pts["a"]["s_only_error"] == pytest.approx(0.1 / 3)  # 0.1 at rate 0, then 0, 0
    # a policy that always answers "1" has target-only F1 = 1 but never adopted the target
    always_yes = [r | {"target_use": 1.0, "spurious_use": 1.0} for r in rows]
    out = summarise(
        _mdl({"a": 2.0, "b": 0.5, "c": 1.0}),
        always_yes,
        [0.0, 0.1, 0.5],
        threshold=0.99,
        n_permutations=100,
        n_boot=100,
        seed=0,
    )
    assert all(math.isinf(p["evidence_required"]) for p in out["pairs"])
    assert disagreement_f1(1.0, 1.0) == pytest.approx(2 / 3)
    assert disagreement_f1(1.0, 0.0) == 1.0 and disagreement_f1(0.0, 0.0) == 0.0


def test_correlation_sign_follows_the_data():
    # use falls with relative extractability: ρ must be -1, p exact = 2/4!.
    use = {"f1": 0.9, "f2": 0.7, "f3": 0.4, "f4": 0.1}
    mdl = _mdl(dict(zip(use, (0.5, 0.8, 1.5, 3.0))))
    out = summarise(
        mdl,
        _use_rows(use, seeds=(0, 1, 2)),
        [0.0, 0.1, 0.5],
        threshold=0.99,
        n_permutations=1000,
        n_boot=200,
        seed=0,
    )
    row = [r for r in out["correlations"] if r["measure"] == "s_only_error" and r["subset"] == "all"][0]
    assert row["rho"] == pytest.approx(-1.0) and row["n_pairs"] == 4
    assert row["p_exact"] == pytest.approx(2 / 24)  # 2 of 4! orderings as extreme
    assert row["verdict"] == "inconclusive"  # 4 pairs can never reach p < 0.05
    assert math.isnan(row["critical_rho"])
    # constant use: no correlation, but a row that says why
    flat = _use_rows({f: 0.5 for f in use}, seeds=(0,))
    out = summarise(mdl, flat, [0.0, 0.1, 0.5], threshold=0.99, n_permutations=100, n_boot=50, seed=0)
    assert all(
        math.isnan(r["rho"]) and "constant" in r["note"]
        for r in out["correlations"]
        if r["measure"] != "evidence_required"
    )


def test_figures_show_rho_ci_and_both_errors():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from sahlab.figures.inductive import evidence_note, plot_extractability_scatter, plot_use_vs_rate
    from sahlab.inductive.features_stats import feature_use

    use = {"f1": 0.9, "f2": 0.6, "f3": 0.3, "f4": 0.1}
    rows = _use_rows(use, seeds=(0, 1))
    for r in rows:
        r.update({"s_only_error": r["spurious_use"], "t_only_error": 1 - r["target_use"]})
    out = summarise(
        _mdl(dict(zip(use, (0.5, 0.8, 1.5, 3.0)))),
        rows,
        [0.0, 0.1, 0.5],
        threshold=0.99,
        n_permutations=500,
        n_boot=100,
        seed=0,
    )
    fig = plot_extractability_scatter(pd.DataFrame(out["pairs"]), pd.DataFrame(out["correlations"]))
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "ρ = -1.00" in texts and "n = 4 pairs" in texts and "CI" in texts
    assert len(fig.axes[0].collections) == 4  # one point per pair, not per seed
    df = pd.DataFrame(rows).assign(evidence="mixed")
    fig2 = plot_use_vs_rate(df, note=evidence_note(df))
    assert "evidence rates 0, 0.1, 0.5; evidence rows: half spurious-only, half target-only" in [
        t.get_text() for t in fig2.texts
    ]
    assert evidence_note(pd.DataFrame(rows)) == "evidence rates 0, 0.1, 0.5"  # kind not recorded
    assert len(fig2.axes) == 2  # s-only and t-only error panels for the one method
    assert len(fig2.axes[0].lines) == len(use) and "s-only" in fig2.axes[0].get_ylabel()
    assert "t-only" in fig2.axes[1].get_ylabel()
    assert feature_use  # imported for the section semantics the rows mimic


# --------------------------------------------------------------------------- toy rendering
@pytest.fixture(scope="module")
def word_tokenizer(tmp_path_factory):
    from sahlab.models.tokenizer import train_tokenizer

    words = [
        "cat",
        "dog",
        "house",
        "tree",
        "river",
        "stone",
        "apple",
        "bread",
        "chair",
        "table",
        "window",
        "garden",
        "market",
        "bridge",
        "valley",
        "forest",
    ]
    texts = [" ".join(words[i:] + words[:i]) + " 3 14 159." for i in range(len(words))] * 40
    return train_tokenizer(texts, 400, tmp_path_factory.mktemp("tok"))


def test_word_symbols_are_one_token_each_and_the_features_hold(word_tokenizer):
    from sahlab.inductive.experiment import resolve_toy

    t = resolve_toy({"vocab_size": 12, "length": 10, "render": "words"}, tokenizer=word_tokenizer)
    syms = t["symbols"]
    assert len(syms) == len(set(syms)) == 12
    assert all(len(word_tokenizer(s, add_special_tokens=False)["input_ids"]) == 1 for s in syms)
    rows = feature_split("first_equals_last-vs-contains_3", 60, 0.5, seed=2, toy=t, evidence="mixed")
    for r in rows:
        ids = word_tokenizer(r["prompt"], add_special_tokens=False)["input_ids"]
        assert len(ids) == 10  # one token per symbol
        seq = [syms.index(word_tokenizer.decode([i])) for i in ids]
        assert seq == parse_sequence(r["metadata"]["sequence"])
        assert label_target("first_equals_last", seq) == r["metadata"]["label"]
        assert label_spurious(seq, "contains_3") == r["metadata"]["spurious"]
    with pytest.raises(ValueError, match="single-token words"):
        resolve_toy({"vocab_size": 5000, "render": "words"}, tokenizer=word_tokenizer)
    with pytest.raises(ValueError, match="model_dir"):
        feature_split("contains_1-vs-contains_2", 4, 0.0, seed=0, toy={"render": "words"})


def test_unknown_prompt_format_is_named_before_any_model_is_loaded():
    from sahlab.inductive.experiment import finetune_over_rates, measure_mdl

    with pytest.raises(ValueError, match="prompt_format 'chat'"):
        measure_mdl("/nonexistent", ["contains_1-vs-contains_2"], 20, [0], 0, prompt_format="chat")
    with pytest.raises(ValueError, match="prompt_format 'chat'"):
        finetune_over_rates(
            "/nonexistent",
            "contains_1-vs-contains_2",
            "sft",
            0,
            [0.0],
            8,
            2,
            {},
            data_seed=0,
            prompt_format="chat",
        )

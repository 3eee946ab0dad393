"""Study D (inductive biases): data pipeline, reward, config checks, statistics, tiny end-to-end run."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import yaml

from sahlab.config import ConfigError
from sahlab.probing import config as ind_config
from sahlab.probing.analysis import correlations, disagreement_f1, seed_summaries
from sahlab.probing.experiment import (ALL_FEATURES, evidence_fraction, feature_split,
                                       probe_split, section_test_set)
from sahlab.train.rewards import parse_decision, task_rewards, trl_reward_func
from sahlab.probing.nl_features import nl_label_spurious
from sahlab.world.features import label_spurious, label_target, parse_sequence

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world():
    from sahlab.world.build import build_world

    return json.loads(build_world({}, seed=3).to_json())


# --------------------------------------------------------------------------- data
@pytest.mark.parametrize("feature", ALL_FEATURES)
@pytest.mark.parametrize("n,rate", [(1000, 0.001), (200, 0.05), (256, 0.5), (100, 0.0), (37, 0.2)])
def test_training_split_has_exactly_the_requested_evidence(world, feature, n, rate):
    rows = feature_split(feature, n, rate, seed=5, world=world)
    assert len(rows) == n
    n_ev = sum(r["metadata"]["spurious"] != r["metadata"]["label"] for r in rows)
    assert n_ev == round(rate * n)
    assert evidence_fraction(rows) == pytest.approx(round(rate * n) / n)
    assert all(r["task"] == "features" and r["reference"] == str(r["metadata"]["label"]) for r in rows)


def test_toy_labels_recomputed_from_the_text(world):
    rows = feature_split("first_equals_last", 300, 0.1, seed=1, world=world)
    for r in rows:
        seq = parse_sequence(r["prompt"])
        assert label_target("first_equals_last", seq) == r["metadata"]["label"]
        assert label_spurious(seq) == r["metadata"]["spurious"]


def test_nl_labels_recomputed_from_the_text(world):
    rows = feature_split("past_tense", 300, 0.2, seed=2, world=world)
    past_forms = {v["en_past"] for v in world["language"]["verbs"]}
    present = {v[k] for v in world["language"]["verbs"] for k in ("en", "en_3sg")}
    for r in rows:
        words = set(r["prompt"].lower().rstrip(".").split())
        # independent check of the tense: which verb form the sentence contains
        is_past = bool(words & past_forms) and not (words & (present - past_forms))
        assert int(is_past) == r["metadata"]["label"], r["prompt"]
        assert nl_label_spurious(r["prompt"], "happy") == r["metadata"]["spurious"]
        assert ("happy" in words) == bool(r["metadata"]["spurious"])


def test_test_set_sections_and_probe_balance(world):
    rows = section_test_set("past_tense", 10, seed=0, world=world)
    assert [sum(r["metadata"]["section"] == s for r in rows)
            for s in ("both", "neither", "spurious_only", "target_only")] == [10, 10, 10, 10]
    p = probe_split("contains_1", "spurious", 51, seed=0)
    assert sum(r["metadata"]["label"] for r in p) == 26
    assert all(r["metadata"]["label"] == r["metadata"]["spurious"] for r in p)


def test_nl_feature_needs_the_world():
    with pytest.raises(ValueError, match="world"):
        feature_split("past_tense", 10, 0.1, seed=0)
    with pytest.raises(ValueError, match="unknown feature"):
        feature_split("contains_9", 10, 0.1, seed=0)


# --------------------------------------------------------------------------- reward
@pytest.mark.parametrize("completion,reference,expected", [
    ("1", "1", 1.0), ("0", "0", 1.0), ("1", "0", 0.0), (" 0\n", "0", 1.0), ("0 1", "0", 1.0),
    ("10", "1", 0.0), ("yes", "1", 0.0), ("", "0", 0.0), ("<|eos|>", "1", 0.0)])
def test_features_reward_on_hand_made_completions(completion, reference, expected):
    row = {"id": "f", "prompt": "3 1 4", "reference": reference, "metadata": {}}
    assert task_rewards("features", [completion], [row]) == [expected]


def test_parse_decision_and_the_shared_trl_reward_know_the_features_task():
    from sahlab.train.rewards import infer_task

    assert [parse_decision(c) for c in ("1", "0", "2", " 1 0", "")] == [1, 0, -1, 1, -1]
    assert infer_task({"prompt": "3 1 4", "reference": "1", "task": "features"}) == "features"
    fn = trl_reward_func()
    out = fn(["1", [{"role": "assistant", "content": "0"}], "x"], task=["features"] * 3,
             reference=["1", "1", "0"], metadata_json=["{}"] * 3, raw_prompt=["a", "b", "c"])
    assert out == [1.0, 0.0, 0.0]
    # the other tasks in the same reward function are untouched
    assert fn(["#### 4"], task=["math"], reference=["#### 4"],
              metadata_json=['{"answer": "4"}'], raw_prompt=["q"]) == [1.0]
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


def test_feature_names_match_the_library():
    assert set(ind_config.FEATURE_NAMES) == set(ALL_FEATURES)


@pytest.mark.parametrize("key,value,match", [
    ("features", ["contains_1"], "at least 2"),
    ("features", ["contains_1", "contains_9"], "contains_9"),
    ("rates", [0.0, 1.5], "rates"),
    ("rates", [0.5, 0.1], "increasing"),
    ("rates", [], "rates"),
    ("seeds", [0, 0], "seeds"),
    ("scales", ["huge"], "huge"),
    ("methods", ["ppo"], "ppo"),
    ("n_train", 0, "n_train"),
    ("n_train", 1, "n_train"),  # round(0.5 · 1) = 0 evidence rows at the largest rate
    ("threshold", 1.0, "threshold"),
])
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
    cfg["inductive"]["hparams"]["grpo"]["batch_size"] = 30  # not a multiple of num_generations=8
    with pytest.raises(ConfigError, match="hparams.grpo"):
        ind_config.check_inductive_config(cfg)
    with pytest.raises(ConfigError, match="inductive"):
        ind_config.check_inductive_config({"scales": {"small": {}}})


# --------------------------------------------------------------------------- statistics
def _use_rows(use_by_feature, rates=(0.0, 0.1, 0.5), seeds=(0, 1)):
    rows = []
    for f, u in use_by_feature.items():
        for s in seeds:
            for r in rates:
                adopted = r >= 0.1 and u < 0.3   # target used: all target-only rows say 1, no s-only row
                rows.append({"model": "m", "feature": f, "method": "grpo", "seed": s, "rate": r,
                             "spurious_preference": u, "spurious_use": 0.0 if adopted else u,
                             "target_use": 1.0 if adopted else 0.5})
    return rows


def test_seed_summaries_evidence_required():
    rows = _use_rows({"a": 0.1, "b": 0.9})
    out = {(r["feature"], r["seed"]): r for r in seed_summaries(rows, 0.99)}
    assert out[("a", 0)]["evidence_required"] == 0.1
    assert math.isinf(out[("b", 1)]["evidence_required"])
    assert out[("a", 1)]["use"] == pytest.approx(0.1)
    # a policy that always answers "1" has target-only F1 = 1 but never adopted the target
    always_yes = [r | {"target_use": 1.0, "spurious_use": 1.0} for r in rows]
    assert all(math.isinf(r["evidence_required"]) for r in seed_summaries(always_yes, 0.99))
    assert disagreement_f1(1.0, 1.0) == pytest.approx(2 / 3)
    assert disagreement_f1(1.0, 0.0) == 1.0 and disagreement_f1(0.0, 0.0) == 0.0


def test_correlation_sign_follows_the_data():
    # use falls with relative extractability: ρ must be -1 and significant-ish.
    feats = {"f1": 0.9, "f2": 0.7, "f3": 0.4, "f4": 0.1}
    mdl = [{"model": "m", "probe": "linear", "feature": f, "relative_extractability": x}
           for f, x in zip(feats, (0.5, 0.8, 1.5, 3.0))]
    seeds = seed_summaries(_use_rows(feats, seeds=(0,)), 0.99)
    rows, points = correlations(seeds, mdl, [0.0, 0.1, 0.5], n_permutations=1000, n_boot=200, seed=0)
    rho = [r for r in rows if r["measure"] == "use" and r["correlation"] == "spearman"][0]
    assert rho["value"] == pytest.approx(-1.0)
    assert rho["p_value"] == pytest.approx(2 / 24)  # exact: 2 of 4! orderings as extreme
    assert rho["logistic_slope"] < 0
    assert len(points) == 4
    # constant use: no correlation, but a row that says why
    flat = seed_summaries(_use_rows({f: 0.5 for f in feats}, seeds=(0,)), 0.99)
    rows, _ = correlations(flat, mdl, [0.0, 0.1, 0.5], n_permutations=100, n_boot=50, seed=0)
    assert all(math.isnan(r["value"]) and "constant" in r["note"] for r in rows)


def test_figures_show_the_fit_and_rho():
    import matplotlib
    matplotlib.use("Agg")
    import pandas as pd

    from sahlab.figures.inductive import plot_extractability_scatter, plot_use_vs_rate

    feats = {"f1": 0.9, "f2": 0.6, "f3": 0.3, "f4": 0.1}
    mdl = [{"model": "m", "probe": "linear", "feature": f, "relative_extractability": x}
           for f, x in zip(feats, (0.5, 0.8, 1.5, 3.0))]
    use = _use_rows(feats, seeds=(0, 1))
    rows, points = correlations(seed_summaries(use, 0.99), mdl, [0.0, 0.1, 0.5],
                                n_permutations=500, n_boot=100, seed=0)
    fig = plot_extractability_scatter(pd.DataFrame(points), pd.DataFrame(rows))
    ax = fig.axes[0]
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "ρ = -1.00" in texts and "n = 8" in texts
    assert len(ax.lines) == 1  # the logistic curve
    curve = ax.lines[0].get_ydata()
    assert curve[0] > curve[-1]  # use falls with extractability, as the data do
    fig2 = plot_use_vs_rate(pd.DataFrame(use))
    assert len(fig2.axes[0].lines) >= len(feats)

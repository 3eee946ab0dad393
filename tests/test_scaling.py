"""Study A (post-training scaling): config checks, the schedule, the loop over N, fits, error
split, new-knowledge helpers and figures (unit tests; tiny models built here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import unpad
from sahlab.config import ConfigError
from sahlab.scaling import analysis
from sahlab.scaling.config import (
    check_scaling_config,
    grid_for,
    max_new_tokens_for,
    schedule_bound,
    schedule_bounds,
    schedule_for,
    steps_for,
    train_split_sizes,
)
from sahlab.scaling.newknowledge import CONDITIONS, bio_rows

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def config() -> dict:
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


# ----------------------------------------------------------------------------- config checks
def test_default_config_passes_and_covers_the_required_grid(config):
    check_scaling_config(config)
    sc = config["scaling"]
    assert {f"{s}-base" for s in config["scales"]} <= set(sc["models"])
    assert sc.get("tasks") is None or set(sc["tasks"]) == set(config["tasks"])
    assert len(sc["N"]) >= 6 and 0 in sc["N"] and len(sc["seeds"]) >= 3
    positive = [n for n in sc["N"] if n > 0]
    assert max(positive) / min(positive) >= 1000  # three decades
    # no step floor; the cap, if any, binds only at the largest N
    bounds = schedule_bounds(config)
    assert sc["n_test"] >= 200 and all("floor" not in b.values() for b in bounds.values())
    assert all(set(b) <= {max(sc["N"])} for b in bounds.values())


@pytest.mark.parametrize(
    "mutate, pattern",
    [
        (lambda s: s.update(N=[0, 1, -4, 16, 64]), r"scaling\.N.*-4 is less than the minimum of 0"),
        (lambda s: s.update(N=[0, 4, 16, 64, 400, 5000]), r"scaling\.N.*'multihop' has 300.*\[4, 16, 64\]"),
        (lambda s: s.update(N=[]), r"scaling\.N.*give at least 4"),
        (lambda s: s.update(N=[0, 4, 16, 64]), r"scaling\.N.*at least 4 distinct"),
        (lambda s: s.update(tasks=["poetry"]), r"scaling\.tasks.*poetry.*allowed"),
        (lambda s: s.update(models=["huge-base"]), r"scaling\.models.*huge-base.*allowed.*small-base"),
        (lambda s: s.update(seeds=[]), r"scaling\.seeds"),
        (lambda s: s["hparams"].update(epochs=3), r"scaling\.hparams.*epochs"),
        (lambda s: s["hparams"].update(lr=-1), r"scaling\.hparams.*lr"),
        (lambda s: s.update(max_new_tokens={"poetry": 3}), r"scaling\.max_new_tokens.*poetry"),
        (lambda s: s.update(schedule={"poetry": {"epochs": 3}}), r"scaling\.schedule.*poetry.*allowed"),
        (lambda s: s.update(schedule={"math": {"epochs": 0}}), r"scaling\.schedule\.math\.epochs"),
        (
            lambda s: s.update(schedule={"math": {"max_steps": 2, "min_steps": 4}}),
            r"scaling\.schedule\.math.*below",
        ),
        (lambda s: s.update(schedule={"math": {"lr": 1}}), r"scaling\.schedule\.math.*lr"),
        (lambda s: s["newknowledge"].update(models=["small-sft"]), r"scaling\.newknowledge\.models"),
        (lambda s: s["newknowledge"].update(n_qa=10**6), r"scaling\.newknowledge\.n_qa"),
    ],
)
def test_bad_grid_values_fail_with_the_key_named(config, mutate, pattern):
    mutate(config["scaling"])
    with pytest.raises(ConfigError, match=pattern):
        check_scaling_config(config)


def test_train_split_size_follows_the_world_config(config):
    config["world"] = {"tasks": {"math": {"train": 100, "test": 10}}}
    assert train_split_sizes(config)["math"] == 100
    config["scaling"]["N"] = [0, 1, 4, 16, 64, 128]
    assert grid_for(config, "math") == [0, 1, 4, 16, 64]  # N above the split: dropped per task
    config["scaling"]["N"] = [0, 1, 4, 64, 128]
    with pytest.raises(ConfigError, match=r"'math' has 100 training examples.*\[1, 4, 64\]"):
        check_scaling_config(config)


def test_max_new_tokens_per_task_falls_back_to_evaluation(config):
    config["scaling"]["max_new_tokens"] = {"math": 7}
    assert max_new_tokens_for(config, "math") == 7
    assert max_new_tokens_for(config, "multihop") == config["evaluation"]["max_new_tokens"]
    config["scaling"]["max_new_tokens"] = 5
    assert max_new_tokens_for(config, "multihop") == 5


@pytest.mark.parametrize(
    "n, bs, epochs, lo, hi, expected, bound",
    [
        (0, 16, 2, 4, None, 0, None),  # prompt only: no training
        (1, 16, 2, 0, None, 2, None),  # N < batch: one batch of N per epoch, 2 epochs
        (4, 16, 2, 0, None, 2, None),  # ... the same number of passes as every other N
        (1, 16, 2, 4, None, 4, "floor"),  # floor: min_steps
        (64, 16, 2, 4, None, 8, None),  # 2 epochs of 4 batches
        (100, 16, 1, 0, None, 7, None),  # ceil(100 / 16)
        (20, 16, 2, 0, None, 4, None),  # 2 batches (16 + 4) per epoch
        (1024, 16, 2, 4, 50, 50, "cap"),  # cap
    ],
)
def test_steps_for(n, bs, epochs, lo, hi, expected, bound):
    assert steps_for(n, bs, epochs, lo, hi) == expected
    assert schedule_bound(n, bs, epochs, lo, hi) == bound


def test_schedule_bounds_name_the_n_the_floor_or_cap_changes(config):
    config["scaling"].update(min_steps=4, max_steps=100, schedule={})
    # batch 16, 2 epochs: N <= 16 get 2 steps, N = 1024 gets 128 (multihop's grid stops at 256)
    bounds = schedule_bounds(config)
    assert bounds["math"] == {1: "floor", 4: "floor", 16: "floor", 1024: "cap"}
    assert bounds["multihop"] == {1: "floor", 4: "floor", 16: "floor"}


def test_a_task_schedule_replaces_only_the_keys_it_sets(config):
    config["scaling"].update(
        epochs=2, min_steps=0, max_steps=64, schedule={"math": {"epochs": 12, "max_steps": None}}
    )
    assert schedule_for(config, "math") == {"epochs": 12, "min_steps": 0, "max_steps": None}
    assert schedule_for(config, "translation") == {"epochs": 2, "min_steps": 0, "max_steps": 64}
    bounds = schedule_bounds(config)
    assert "math" not in bounds and bounds["translation"] == {1024: "cap"}
    check_scaling_config(config)


# ----------------------------------------------------------------------------- fits and errors
def _power_records(a=0.6, b=0.5, c=0.2, grid=(0, 4, 16, 64, 256, 1024), n_ex=400, seeds=(1, 2)):
    """Per-example Bernoulli outcomes whose error rate follows a*N^-b + c (N=0: error 0.95)."""
    rng = np.random.default_rng(0)
    rows = []
    for n in grid:
        err = 0.95 if n == 0 else a * n ** (-b) + c
        for s in seeds:
            wrong = rng.random(n_ex) < err
            rows += [
                {
                    "model": "m-base",
                    "task": "math",
                    "N": n,
                    "seed": s,
                    "example_id": f"e{i}",
                    "correct": float(not w),
                    "error_kind": "correct" if not w else ("format" if n < 16 else "reasoning"),
                }
                for i, w in enumerate(wrong)
            ]
    return rows


def test_fit_recovers_a_known_exponent_with_cis_and_heldout_check():
    recs = _power_records()
    fit = analysis.fit_curve(recs, n_boot=100, seed=0)
    b = fit["bootstrap"]["b"]
    assert b["ci_low"] <= 0.5 <= b["ci_high"]
    assert b["ci_low"] > 0.05  # the decay is detected: b is bounded away from 0
    assert fit["bootstrap"]["r2"] > 0.9
    held = fit["heldout"]
    assert held["N"] == [1024]
    assert abs(held["observed"][0] - (0.6 * 1024**-0.5 + 0.2)) < 0.05
    assert held["max_abs_error"] < 0.08
    assert fit["n_seeds"] == 2
    # N = 0 is kept out of the fit and reported as the zero-shot error
    assert fit["bootstrap"]["fit"]["zero_shot_error"] == pytest.approx(0.95, abs=0.03)


def _error_rows(vanish_at=16, top=1024):
    """error_split-like rows: format errors 0.5 below `vanish_at`, 0.01 from there on."""
    return [
        {"model": "m-base", "task": "math", "N": n, "seed": s, "error_format": 0.5 if n < vanish_at else 0.01}
        for n in (0, 4, 16, 64, 256, top)
        for s in (1, 2)
    ]


def test_format_vanish_n_is_where_format_errors_stay_below_the_threshold():
    assert analysis.format_vanish_n(_error_rows(), 0.05) == 16
    rows = _error_rows() + [{"N": 2048, "seed": 1, "error_format": 0.2}]
    assert analysis.format_vanish_n(rows, 0.05) is None  # back above it at the largest N
    assert analysis.format_vanish_n(_error_rows(vanish_at=0), 0.05) == 0


def test_fit_table_and_markdown_have_every_parameter_with_ci():
    fits = analysis.fit_all(_power_records(), n_boot=50, seed=0, error_rows=_error_rows())
    rows = analysis.fit_table(fits)
    assert len(rows) == 1 and tuple(rows[0]) == analysis.FIT_COLUMNS
    r = rows[0]
    for p in ("a", "b", "c", "alpha", "C"):
        assert r[f"{p}_ci_low"] <= r[p] <= r[f"{p}_ci_high"]
    # error 0.6 N^-0.5 + 0.2 falls from N = 16 to 1024: performance keeps rising
    assert r["format_vanish_N"] == 16 and r["keeps_rising"] == "yes"
    assert r["gain_ci_low"] > 0 and r["gain_after_format"] == pytest.approx(
        r["perf_at_max_N"] - r["perf_at_vanish"]
    )
    assert r["alpha"] > 0 and r["loglog_N"] == "4-1024" and r["n_test"] == 400
    assert abs(r["heldout_loglog_predicted"] - (1 - r["heldout_observed"])) == pytest.approx(
        r["heldout_loglog_abs_error"]
    )
    md = unpad(analysis.markdown_table(rows))
    assert md.count("\n| m-base | math |") == 1 and "R²" in md and "| 16 |" in md


def test_error_split_charges_each_examples_error_to_format_or_content():
    tests = [
        {"id": f"t{i}", "prompt": "p", "reference": "#### 3", "metadata": {"answer": "3"}} for i in range(4)
    ]
    outs = ["#### 3", "#### 4", "no answer", "#### 3"]
    recs = [
        {
            "model": "m",
            "task": "math",
            "N": 4,
            "seed": 1,
            "example_id": f"t{i}",
            "output": " " + o,
            "task_output": o,
        }
        for i, o in enumerate(outs)
    ]
    (row,) = analysis.error_split(recs, {"math": tests})
    assert (row["error_format"], row["error_content"], row["performance"]) == (0.25, 0.25, 0.5)
    assert tuple(row) == analysis.ERROR_COLUMNS and row["format_ok"] == 0.75
    with pytest.raises(ValueError, match="not in the test split"):
        analysis.error_split([{**recs[0], "example_id": "zz"}], {"math": tests})


def test_models_table_relates_exponents_to_the_models_own_math_score():
    recs = []
    for k, (model, b) in enumerate([("s-base", 0.2), ("m-base", 0.5), ("l-base", 0.8)]):
        recs += [r | {"model": model} for r in _power_records(b=b, seeds=(1,))]
    fits = analysis.fit_all(recs, n_boot=20, seed=0)
    stages = [
        {
            "scale": sc,
            "stage": "base",
            "format": fmt,
            "task": "math",
            "metric": "accuracy",
            "value": v,
            "ci_low": v - 0.1,
            "ci_high": v + 0.1,
        }
        for sc, v in (("s", 0.1), ("m", 0.2), ("l", 0.3))
        for fmt, v in (("native", v), ("chat", 0.0))
    ]
    rows = analysis.models_table(fits, stages)
    assert [r["base_math_accuracy"] for r in rows] == [0.3, 0.2, 0.1]  # native, sorted by model
    assert all(r["n_models"] == 3 for r in rows)
    # a faster-falling error (b) leaves less to gain on the log-log line: alpha falls, the
    # level at N = 1024 rises, with the models' math scores
    assert rows[0]["spearman_alpha"] == pytest.approx(-1.0)
    assert rows[0]["spearman_level"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no math accuracy of s-base"):
        analysis.models_table(fits, stages[2:])


def test_harness_performance_puts_translation_on_the_unit_scale():
    m = {"sentence_chrf": {"value": 42.0}, "chrf": {"value": 50.0}, "accuracy": {"value": 0.3}}
    assert analysis.harness_performance(m, "translation") == pytest.approx(0.42)
    assert analysis.harness_performance(m, "math") == 0.3
    with pytest.raises(ValueError, match="unknown task"):
        analysis.harness_performance(m, "poetry")


# ----------------------------------------------------------------------------- new knowledge
def test_bio_rows_have_an_empty_prompt_and_reject_blank_text():
    rows = bio_rows([{"id": "b1", "text": "Ann Lee works at Acme."}])
    assert rows == [{"id": "b1", "prompt": "", "reference": "Ann Lee works at Acme.", "metadata": {}}]
    with pytest.raises(ValueError, match="row 0.*'text'"):
        bio_rows([{"id": "b1", "text": "  "}])


# ----------------------------------------------------------------------------- with a tiny model
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    import torch

    from sahlab.models.pretrain import init_random
    from sahlab.models.tokenizer import train_tokenizer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tiny")
    texts = [
        f"What is {a} plus {b}? The answer is {a + b}.\n#### {a + b}" for a in range(30) for b in range(10)
    ]
    train_tokenizer(texts, 300, root / "tok")
    build = {
        "arch": "llama",
        "hidden_size": 16,
        "num_layers": 1,
        "num_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": 128,
    }
    init_random(build, root / "tok", root / "m-base", 0, scale="m")
    return root / "m-base"


def _math_rows(n: int, split: str) -> list[dict]:
    return [
        {
            "id": f"{split}-{i}",
            "prompt": f"What is {i} plus 2?",
            "reference": f"{i} + 2 = {i + 2}\n#### {i + 2}",
            "metadata": {"answer": str(i + 2)},
        }
        for i in range(n)
    ]


def test_run_scaling_trains_on_nested_prefixes_and_scores_every_example(tiny_model, monkeypatch):
    import sahlab.train as train_pkg

    calls = []
    real_train = train_pkg.train

    def spy(model_dir, dataset, method, hparams, seed, out_dir, **kw):
        calls.append(([r["id"] for r in dataset], hparams["max_steps"], seed))
        return real_train(model_dir, dataset, method, hparams, seed, out_dir, **kw)

    monkeypatch.setattr(train_pkg, "train", spy)
    from sahlab.scaling.run import RECORD_FIELDS, run_scaling

    train_rows, test_rows = _math_rows(8, "train"), _math_rows(3, "test")
    records, summary, timing = run_scaling(
        tiny_model,
        "math",
        train_rows,
        test_rows,
        [4, 0, 2],
        7,
        hparams={"lr": 1e-3, "batch_size": 2, "max_length": 64},
        epochs=1,
        min_steps=1,
        max_steps=None,
        max_new_tokens=6,
        batch_size=8,
    )
    # N = 0 trains nothing; N = 2 and 4 train on the first N rows of the seed's order (nested)
    # with ceil(N / batch) steps
    from sahlab.scaling.run import seed_order

    order = [r["id"] for r in seed_order(train_rows, 7)]
    assert calls == [(order[:2], 1, 7), (order[:4], 2, 7)]
    assert [s["N"] for s in summary] == [0, 2, 4]
    # wall-clock seconds only in the timing list: summary and records repeat on a rerun
    assert not any("seconds" in k for s in summary for k in s)
    assert [t["N"] for t in timing] == [0, 2, 4] and "train_seconds" in timing[1]
    assert len(records) == 3 * len(test_rows)
    assert all(tuple(r) == RECORD_FIELDS for r in records)
    assert {(r["N"], r["example_id"]) for r in records} == {
        (n, f"test-{i}") for n in (0, 2, 4) for i in range(3)
    }
    for r in records:
        assert 0.0 <= r["correct"] <= 1.0 and r["seed"] == 7
        assert r["error_kind"] in ("correct", "format", "reasoning")
        assert r["error_kind"] != "format" or not r["format_ok"]


def test_run_scaling_n0_is_the_unchanged_model_in_chat_format(tiny_model):
    from sahlab.eval.generate import generate, render_prompts
    from sahlab.eval.policy import ModelPolicy
    from sahlab.models.registry import load_model
    from sahlab.scaling.run import run_scaling

    tests = _math_rows(3, "test")
    records, _, _ = run_scaling(
        tiny_model,
        "math",
        [],
        tests,
        [0],
        1,
        hparams={"lr": 1e-3},
        epochs=1,
        min_steps=1,
        max_steps=None,
        max_new_tokens=5,
        batch_size=8,
    )
    policy = ModelPolicy(load_model(tiny_model))
    direct = generate(
        policy,
        render_prompts(policy.tokenizer, [t["prompt"] for t in tests], "chat"),
        max_new_tokens=5,
        batch_size=8,
    )
    assert [r["output"] for r in records] == direct


def test_run_scaling_rejects_n_beyond_the_split(tiny_model):
    from sahlab.scaling.run import run_scaling

    with pytest.raises(ValueError, match=r"N must lie in \[0, 2\]"):
        run_scaling(
            tiny_model,
            "math",
            _math_rows(2, "train"),
            _math_rows(1, "test"),
            [0, 4],
            1,
            hparams={"lr": 1e-3},
            epochs=1,
            min_steps=1,
            max_steps=None,
            max_new_tokens=4,
            batch_size=4,
        )


def test_run_newknowledge_runs_both_conditions_in_the_models_format(tiny_model):
    from sahlab.scaling.newknowledge import run_newknowledge

    docs = [
        {"id": "b0", "text": "Zed Quon works at Acme."},
        {"id": "b1", "text": "Zed Quon was born in 1970."},
    ]
    qa = [
        {
            "id": "q0",
            "prompt": "Where does Old Ann work?",
            "reference": "Beta",
            "metadata": {"answer": "Beta"},
        }
    ]
    tests = [
        {
            "id": "t0",
            "prompt": "Where does Zed Quon work?",
            "reference": "Acme",
            "metadata": {"answer": "Acme", "kind": "direct"},
        },
        {
            "id": "t1",
            "prompt": "Where is the employer of Zed Quon based?",
            "reference": "Rome",
            "metadata": {"answer": "Rome", "kind": "2hop"},
        },
    ]
    hp = {"lr": 1e-3, "max_steps": 1, "batch_size": 2, "max_length": 64}
    records, results = run_newknowledge(
        tiny_model,
        docs,
        qa,
        tests,
        0,
        bios_hparams=hp,
        qa_hparams=hp,
        max_new_tokens=4,
        batch_size=4,
        n_boot=10,
    )
    assert list(results) == ["qa_only", "bios+qa"]  # no new-people QA given: no new arm
    assert set(results["qa_only"]["train"]) == {"qa"}
    assert set(results["bios+qa"]["train"]) == {"bios", "qa"}
    assert results["qa_only"]["prompt_format"] == "native"  # a base model keeps its own format
    for cond in results:
        assert {"exact_match_direct", "exact_match_2hop"} <= set(results[cond]["metrics"])
    assert len(records) == 2 * len(tests)
    # the paper's arm: the same QA set with its direct question swapped; one biography stage
    new = [
        {
            "id": "n0",
            "prompt": "Where does Zed Quon work?",
            "reference": "Acme",
            "metadata": {"answer": "Acme", "kind": "direct", "chain": ["person:9"]},
        }
    ]
    qa = [qa[0] | {"metadata": {"answer": "Beta", "kind": "direct"}}]
    for t, who in zip(tests, ("person:8", "person:9")):
        t["metadata"]["chain"] = [who]
    records, results = run_newknowledge(
        tiny_model,
        docs,
        qa,
        tests,
        0,
        bios_hparams=hp,
        qa_hparams=hp,
        max_new_tokens=4,
        batch_size=4,
        n_boot=10,
        new_qa_rows=new,
        heldout={"person:8"},
    )
    assert list(results) == list(CONDITIONS)
    assert results["bios+newqa"]["qa_ids"] == ["n0"] and results["bios+qa"]["qa_ids"] == ["q0"]
    assert results["bios+newqa"]["train"]["bios"] == results["bios+qa"]["train"]["bios"]
    assert {(r["id"], r["heldout"]) for r in records} == {("t0", True), ("t1", False)}


# ----------------------------------------------------------------------------- figures
def test_figures_draw_one_panel_per_task_and_the_fitted_curve():
    from sahlab.figures.scaling import plot_curves, plot_errors, plot_newknowledge
    from sahlab.figures.theme import apply_theme

    apply_theme()
    recs = _power_records() + [r | {"task": "multihop"} for r in _power_records(b=1.0)]
    fits = analysis.fit_all(recs, n_boot=20, seed=0)
    fig = plot_curves(fits, {"m-base/math": 0.1}, {4: "floor"})
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["math", "multihop"]
    # the fitted line at the largest N equals 1 - (a N^-b + c) of the fit
    f = fits["m-base/math"]["bootstrap"]
    a, b, c = (f[p]["value"] for p in "abc")
    fitted = [ln for ln in axes[0].get_lines() if len(ln.get_xdata()) == 100][0]
    assert fitted.get_ydata()[-1] == pytest.approx(1 - (a * 1024**-b + c))
    ll = f["loglog"]
    line = [ln for ln in axes[0].get_lines() if len(ln.get_xdata()) == 50][0]
    assert line.get_ydata()[-1] == pytest.approx(ll["C"]["value"] * 1024 ** ll["alpha"]["value"])
    assert "α=" in axes[0].get_legend().get_texts()[0].get_text()
    rows = [
        {"model": "m-base", "task": t, "N": n, "seed": 1, "error_format": 0.1, "error_content": 0.5}
        for t in ("math", "multihop")
        for n in (0, 4, 16)
    ]
    assert plot_errors(rows, {"m-base/math": 4}).axes[0].get_title() == "math"
    rows = [
        {"model": "m-base", "condition": c, "kind": k, "n": 10, "value": 0.2, "ci_low": 0.1, "ci_high": 0.3}
        for c in CONDITIONS
        for k in ("direct", "2hop")
    ]
    fig = plot_newknowledge(rows)  # accuracies only (figure with differences: test_newknowledge)
    assert [ax.get_title() for ax in fig.axes] == ["direct questions (n = 10)", "2-hop questions (n = 10)"]


def test_each_seed_draws_its_own_nested_subsets():
    from sahlab.scaling.run import seed_order

    rows = [{"id": i} for i in range(50)]
    a, b = seed_order(rows, 1), seed_order(rows, 2)
    assert sorted(r["id"] for r in a) == list(range(50))  # a permutation: every row, once
    assert [r["id"] for r in a[:8]] != [r["id"] for r in b[:8]]  # other seeds, other examples
    assert seed_order(rows, 1) == a  # deterministic per seed

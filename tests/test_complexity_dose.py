"""Study B's dose–response: nested arm mixtures, their ceilings, the table and its config."""

from __future__ import annotations

import math

import pytest

from conftest import unpad
from sahlab.complexity.dose import arm_ceilings, check_dose_config, dose_markdown, dose_rows, round_robin
from sahlab.config import ConfigError


def test_round_robin_makes_every_arm_a_prefix_of_one_sequence():
    per_task = {"a": ["a0", "a1", "a2"], "b": ["b0"], "c": ["c0", "c1"]}
    order = round_robin(per_task, 3)
    assert [row for _, _, row in order] == ["a0", "b0", "c0", "a1", "c1", "a2"]
    for n in (1, 2, 3):  # arm n = the first n rows of every task (capped at the task's rows)
        arm = [row for i, _, row in order if i < n]
        assert arm == [row for row in [r for _, _, r in round_robin(per_task, n)]]
        assert sorted(arm) == sorted(r for rows in per_task.values() for r in rows[:n])


def test_arm_ceilings_sum_the_code_lengths_of_each_arms_rows():
    order = round_robin({"a": [0, 1, 2], "b": [0, 1]}, 3)  # a0 b0 a1 b1 a2
    bits = [10.0, 20.0, 1.0, 2.0, 0.5]
    arms = arm_ceilings(order, bits, [3, 1])
    assert [a["n_per_task"] for a in arms] == [1, 3]
    assert arms[0]["bits"] == 30.0 and arms[0]["n_examples"] == 2
    assert arms[1]["bits"] == pytest.approx(33.5) and arms[1]["n_examples"] == 5
    assert arms[1]["tasks"]["a"] == {"n": 3, "bits": 11.5}
    assert arms[1]["tasks"]["b"] == {"n": 2, "bits": 22.0}
    with pytest.raises(ValueError, match="code lengths"):
        arm_ceilings(order, bits[:-1], [3])


def _pt(strategy, bits, perf, boot, setting="s"):
    # scored alike on both splits: the same resamples serve as the evaluation split's
    return {
        "strategy": strategy,
        "setting": setting,
        "bits": bits,
        "performance": perf,
        "performance_eval": perf,
        "boot": boot,
        "boot_eval": boot,
    }


def _res(model, task, points):
    return {"model": model, "task": task, "metric": "accuracy", "points": points}


def test_dose_rows_saved_bits_against_the_ceiling():
    # pre-trained: the best (0.5) needs a 5,000-bit online program; its prompt reaches 0.1
    base = [
        _res(
            "small-base",
            "math",
            [_pt("baseline", 100, 0.1, [0.1, 0.1, 0.1]), _pt("online", 5000, 0.5, [0.5, 0.4, 0.5])],
        )
    ]
    # arm 4: the prompt falls short; arm 16: its prompt (100 bits) matches the pre-trained best;
    # the arm's LoRA program (not a dose strategy) must be ignored
    arms = {
        ("small", 4): [
            _res(
                "small-post",
                "math",
                [_pt("baseline", 100, 0.2, [0.2, 0.2, 0.2]), _pt("lora", 300, 0.9, [0.9, 0.9, 0.9])],
            )
        ],
        ("small", 16): [
            _res(
                "small-post",
                "math",
                [_pt("baseline", 100, 0.5, [0.5, 0.5, 0.3]), _pt("icl", 700, 0.6, [0.6, 0.6, 0.6])],
            )
        ],
    }
    ceil = {
        "small": {
            "arms": [
                {
                    "n_per_task": 4,
                    "bits": 2000.0,
                    "n_examples": 8,
                    "tasks": {"math": {"n": 4, "bits": 900.0}},
                },
                {
                    "n_per_task": 16,
                    "bits": 8000.0,
                    "n_examples": 32,
                    "tasks": {"math": {"n": 16, "bits": 3000.0}},
                },
            ]
        }
    }
    rows = dose_rows(base, arms, ceil, ["baseline", "icl"], main_size=16)
    assert [r["n_per_task"] for r in rows] == [4, 16]
    r4, r16 = rows
    assert r4["delta"] == 0.5 and r4["pre_bits"] == 5000
    assert math.isinf(r4["post_bits"]) and r4["saved_bits"] == -math.inf  # LoRA not counted
    assert r4["post_zero_shot"] == 0.2 and not r4["main_arm"]
    assert math.isnan(r4["saved_over_ceiling"])  # no fraction of the ceiling without a saving
    assert r16["post_bits"] == 100 and r16["saved_bits"] == 4900 and r16["reduction"] == 50
    assert r16["ceiling_bits"] == 8000.0 and r16["ceiling_task_bits"] == 3000.0
    assert r16["saved_over_ceiling"] == pytest.approx(4900 / 8000) and r16["main_arm"]
    # resamples: δ_b = 0.5, 0.4, 0.5 -> pre 5000, 5000, 5000; post 100, 100, 700 (the prompt
    # scores 0.3 < 0.5 in the third) -> saved 4900, 4900, 4300
    assert r16["saved_bits_ci_low"] == 4300 and r16["saved_bits_ci_high"] == 4900
    md = unpad(dose_markdown(rows))
    assert "| small | math (accuracy) | 16 (main post) |" in md and "−∞ (post unreached)" in md
    with pytest.raises(ValueError, match="no ceiling"):
        dose_rows(base, {("small", 8): arms[("small", 4)]}, ceil, ["baseline"])


def _config(dose, **complexity):
    return {
        "scales": {"small": {"build": {}}, "large": {"build": {}}},
        "tasks": {"math": {"source": "embedded"}, "multihop": {"source": "embedded"}},
        "world": {"tasks": {"math": {"train": 64, "test": 8}}},
        "posttrain": {"n_per_task": 16},
        "complexity": {"prequential_n": [8], **complexity},
        "dose": dose,
    }


def test_dose_config_defaults_and_checks():
    s = check_dose_config(_config({"sizes": [16, 4]}))
    assert s["sizes"] == [4, 16] and s["new_sizes"] == [4] and s["default_size"] == 16
    assert s["scales"] == ["small", "large"] and s["tasks"] == ["math", "multihop"]
    assert s["strategies"] == ["baseline", "icl"]
    for dose, key in (
        ({"sizes": []}, "dose.sizes"),
        ({"sizes": [4, 4]}, "dose.sizes"),
        ({"scales": ["huge"]}, "dose.scales"),
        ({"tasks": ["poetry"]}, "dose.tasks"),
        ({"strategies": ["icl"]}, "dose.strategies"),
        ({"n": 3}, "dose.n"),
    ):
        with pytest.raises(ConfigError, match=key):
            check_dose_config(_config(dose))
    # the main post model is the arm of size posttrain.n_per_task: it must be in study B
    with pytest.raises(ConfigError, match="small-post"):
        check_dose_config(_config({"sizes": [16]}, models=["small-base", "large-base"]))
    cfg = _config({})
    del cfg["complexity"]
    with pytest.raises(ConfigError, match="needs the 'complexity' section"):
        check_dose_config(cfg)


def test_dose_figure_draws_one_panel_per_task():
    pytest.importorskip("matplotlib")
    from sahlab.figures.dose import plot_dose

    rows = [
        {
            "scale": sc,
            "task": t,
            "n_per_task": n,
            "ceiling_bits": 8000 * n,
            "saved_bits": s,
            "saved_bits_ci_low": "" if s == "-inf" else 0,
            "saved_bits_ci_high": "inf" if s != "-inf" else "",
        }
        for sc in ("small", "large")
        for t in ("math", "multihop")
        for n, s in ((4, "-inf"), (16, 1000.0))
    ]
    fig = plot_dose(rows)
    assert [ax.get_title() for ax in fig.axes] == ["math", "multihop"]
    with pytest.raises(ValueError, match="empty"):
        plot_dose([])

"""Study B through snakemake itself: one figure schedules only its branch, a bad grid fails
before any job, and the study's outputs in the shared smoke run."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, planned_jobs, run_snakemake

pytestmark = pytest.mark.workflow


def test_frontier_figure_schedules_only_its_branch(workflow_copy):
    jobs = planned_jobs(
        run_snakemake(workflow_copy, "-n", "--cores", "2", "results/figures/complexity_frontiers.pdf")
    )
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    n_scales, n_tasks = len(cfg["scales"]), len(cfg["tasks"])
    assert jobs["complexity_points"] == 3 * n_scales * n_tasks  # random, base, post × tasks
    assert jobs["complexity_table"] == jobs["figure_complexity_frontiers"] == 1
    # its ancestors only: no evaluation, no other study, not the sibling figure
    assert set(jobs) <= {
        "world",
        "corpus",
        "task_data",
        "tokenizer",
        "random_init",
        "pretrain",
        "posttrain_stage",
        "post_model",
        "reward_model",
        "complexity_points",
        "complexity_table",
        "figure_complexity_frontiers",
    }
    assert "figure_complexity_strategies" not in jobs and "evaluate" not in jobs


def test_bad_grid_fails_before_any_job(workflow_copy):
    cfg = yaml.safe_load((workflow_copy / "config/config.yaml").read_text())
    cfg["complexity"]["prequential_n"] = [64, 32]
    bad = workflow_copy / "config/bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workflow_copy, "-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "complexity.prequential_n" in proc.stdout + proc.stderr
    assert not (workflow_copy / "results").exists()


def test_smoke_run_study_outputs(smoke_run):
    workdir, _ = smoke_run
    res = workdir / "results"
    smoke = yaml.safe_load((REPO / "config/smoke.yaml").read_text())["complexity"]
    for name in ("complexity_frontiers", "complexity_strategies"):
        for ext in ("pdf", "png"):
            assert (res / f"figures/{name}.{ext}").stat().st_size > 1000
    points = pd.read_csv(res / "tables/complexity_points.csv")
    assert set(points.model) == set(smoke["models"]) and set(points.task) == set(smoke["tasks"])
    for (model, task), df in points.groupby(["model", "task"]):
        counts = df.strategy.value_counts().to_dict()
        assert counts["baseline"] == 1
        assert counts["lora"] == len(smoke["lora_ranks"]) * len(smoke["bits"])
        assert counts["full"] == len(smoke["bits"])
        grid = smoke["prequential_n_post"] if model.endswith("-post") else smoke["prequential_n"]
        assert counts["online"] == len(grid)
        assert counts["urial"] == counts["icl"] == len(smoke["icl_k"])
        # BLoRA (on in smoke): one program, its coded payload and the paper's nominal count
        blora = df[df.strategy == "blora"]
        assert len(blora) == 1 and (blora.payload_bits > 0).all() and (blora.nominal_bits > 0).all()
        assert (blora.r == smoke["blora"]["r"]).all()
        assert (df.bits == df.payload_bits + df.script_bits).all()
        assert (df[df.strategy == "baseline"].payload_bits == 0).all()
        data = df[df.strategy == "online"].sort_values("N")
        assert list(data.N) == grid and data.payload_bits.is_monotonic_increasing
        # the block prequential code beside the online code, up to prequential_block_max
        block = data[data.N <= smoke["prequential_block_max"]]
        assert (
            block.bits_block.notna().all()
            and data[data.N > smoke["prequential_block_max"]].bits_block.isna().all()
        )
        # selection split of n_test // 2, the rest evaluates the chosen programs only
        assert (df.n_select == smoke["n_select"]).all() and (
            df.n_eval == smoke["n_test"] - smoke["n_select"]
        ).all()
        assert df.performance_eval.notna().any()
        for r in smoke["lora_ranks"]:  # fewer bits per weight, smaller payload
            lora = df[(df.strategy == "lora") & (df.r == r)].sort_values("quant_bits")
            assert lora.payload_bits.is_monotonic_increasing
        raw = json.loads((res / f"complexity/{model}/{task}/points.json").read_text())
        assert len(raw["points"]) == len(df) and raw["model"] == model and raw["task"] == task
        # wall-clock times live beside the benchmarks, not in the results rules read
        assert "timings" not in raw and "seconds" not in raw
        assert not any("seconds" in k for p in raw["points"] for k in p)
        timing = json.loads((res / f"benchmarks/complexity_{model}_{task}_timing.json").read_text())
        assert timing["timings"][-1]["what"] == "total"
    assert points.performance_eval.isna().any()  # not every program is checked
    # multihop prompts are short: every ICL setting fits the smoke models' context
    icl = points[(points.task == "multihop") & (points.strategy == "icl")]
    assert len(icl) == len(smoke["icl_k"]) * len(smoke["models"])
    assert (icl.payload_bits > 0).all() and (icl.payload_bits_zstd > 0).all()
    table = pd.read_csv(res / "tables/complexity.csv")
    deltas = yaml.safe_load((REPO / "config/config.yaml").read_text())["complexity"]["deltas"]
    assert len(table) == sum(len(deltas[t]) for t in smoke["tasks"]) * len(smoke["models"])
    # each row's program is the cheapest of the checked programs reaching δ on the evaluation split
    for _, row in table.iterrows():
        df = points[(points.model == f"{row.scale}-{row.stage}") & (points.task == row.task)]
        reach = df[df.performance_eval >= row.delta]
        want = reach.bits.min() if len(reach) else math.inf
        assert float(row.bits) == pytest.approx(want)
    reductions = pd.read_csv(res / "tables/complexity_reductions.csv")
    assert {"base_over_post", "random_over_base"} <= set(reductions.columns)
    assert "pre/post" in (res / "tables/complexity.md").read_text()


def test_dose_arms_are_planned_only_with_the_section(workflow_copy):
    cfg = yaml.safe_load((workflow_copy / "config/config.yaml").read_text())
    dose, stages = cfg["dose"], cfg["posttrain"]["stages"]
    new = [n for n in dose["sizes"] if n != cfg["posttrain"]["n_per_task"]]
    jobs = planned_jobs(
        run_snakemake(workflow_copy, "-n", "--cores", "2", "results/tables/complexity_dose.csv")
    )
    # the arm of size posttrain.n_per_task is the main post model: not trained twice
    assert jobs["dose_posttrain_stage"] == len(stages) * len(cfg["scales"]) * len(new)
    assert jobs["dose_points"] == len(cfg["scales"]) * len(new)
    assert jobs["dose_ceiling"] == len(cfg["scales"]) and jobs["posttrain_stage"] == len(stages) * len(
        cfg["scales"]
    )
    del cfg["dose"]
    off = workflow_copy / "config/off.yaml"
    off.write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs(
        run_snakemake(
            workflow_copy, "-n", "--cores", "2", "--configfile", str(off), "--replace-workflow-config"
        )
    )
    assert jobs and not any(rule.startswith("dose") or rule == "figure_dose" for rule in jobs)


def test_smoke_run_dose_outputs(smoke_run):
    workdir, _ = smoke_run
    res = workdir / "results"
    smoke = yaml.safe_load((REPO / "config/smoke.yaml").read_text())
    dose, main_n = smoke["dose"], smoke["posttrain"]["n_per_task"]
    for ext in ("pdf", "png"):
        assert (res / f"figures/complexity_dose.{ext}").stat().st_size > 1000
    table = pd.read_csv(res / "tables/complexity_dose.csv")
    assert sorted(table.n_per_task) == sorted(dose["sizes"]) and set(table.task) == set(dose["tasks"])
    assert list(table.sort_values("n_per_task").main_arm) == [n == main_n for n in dose["sizes"]]
    assert not (res / f"dose/small/n{main_n}").exists()  # reused, not trained twice
    # nested mixtures: the ceiling grows with the arm; each task's share is part of it
    table = table.sort_values("n_per_task")
    assert table.ceiling_bits.is_monotonic_increasing and (table.ceiling_bits > 0).all()
    assert (table.ceiling_task_bits < table.ceiling_bits).all()
    ceiling = json.loads((res / "dose/small/ceiling.json").read_text())
    rows = {
        t: len((res / f"data/tasks/{t}/train.jsonl").read_text().splitlines()) for t in ceiling["tasks"]
    }  # the mixture: every task, as posttrain trains on
    for arm in ceiling["arms"]:
        assert arm["n_examples"] == sum(min(arm["n_per_task"], n) for n in rows.values())
    assert len(ceiling["per_example"]) == ceiling["arms"][-1]["n_examples"]
    # δ is the pre-trained best of the main study's points; saved = pre − post when both reach it
    head = pd.read_csv(res / "tables/complexity_headline.csv")
    pre_best = head[(head.target == "pre_best") & (head.task == "multihop") & (head.scale == "small")].iloc[0]
    assert (table.delta == pre_best.delta).all() and (table.pre_bits == pre_best.pre_bits).all()
    both = table[np.isfinite(table.post_bits)]
    assert np.allclose(both.saved_bits, both.pre_bits - both.post_bits)
    assert "L(D_post" in (res / "tables/complexity_dose.md").read_text()

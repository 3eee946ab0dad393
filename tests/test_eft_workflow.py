"""Study C through snakemake itself: each figure schedules only its branch, a bad grid fails before
any job, and the study's outputs in the shared smoke run."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import REPO, planned_jobs, run_snakemake, unpad

pytestmark = pytest.mark.workflow

UPSTREAM = {
    "world",
    "corpus",
    "task_data",
    "tokenizer",
    "random_init",
    "pretrain",
    "posttrain_stage",
    "post_model",
    "reward_model",
}


def test_grid_figure_schedules_only_its_branch(workflow_copy):
    jobs = planned_jobs(run_snakemake(workflow_copy, "-n", "--cores", "2", "results/figures/eft_grid.pdf"))
    assert jobs["eft_grid_cell"] == 2  # up- and down-scaling; the diagonal reuses the harness
    assert jobs["evaluate"] == 2  # small-post and large-post only
    assert jobs["eft_grid_table"] == jobs["eft_figure_grid"] == jobs["eft_knowledge"] == 1
    assert set(jobs) <= UPSTREAM | {
        "evaluate",
        "eft_grid_cell",
        "eft_knowledge",
        "eft_grid_table",
        "eft_figure_grid",
    }


def test_lambda_figure_schedules_only_its_branch(workflow_copy):
    jobs = planned_jobs(run_snakemake(workflow_copy, "-n", "--cores", "2", "results/figures/eft_lambda.pdf"))
    assert jobs["eft_variant"] == 2 and jobs["eft_lambda"] == jobs["eft_figure_lambda"] == 1
    assert set(jobs) <= UPSTREAM | {"eft_variant", "eft_lambda", "eft_figure_lambda"}
    assert "evaluate" not in jobs and "eft_beta" not in jobs


def test_bad_grid_fails_before_any_job(workflow_copy):
    cfg = yaml.safe_load((workflow_copy / "config/config.yaml").read_text())
    cfg["eft"]["mixture"]["variants"]["chat"] = ["math", "multihop"]  # same tasks as "reason"
    bad = workflow_copy / "config/bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workflow_copy, "-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "eft.mixture.variants" in proc.stdout + proc.stderr
    assert not (workflow_copy / "results").exists()


def test_smoke_run_study_outputs(smoke_run):
    workdir, _ = smoke_run
    res = workdir / "results"
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    smoke = yaml.safe_load((REPO / "config/smoke.yaml").read_text())["eft"]
    tasks = list(cfg["tasks"] | (yaml.safe_load((REPO / "config/smoke.yaml").read_text()).get("tasks") or {}))
    for name in ("eft_grid", "eft_beta", "eft_lambda"):
        for ext in ("pdf", "png"):
            assert (res / f"figures/{name}.{ext}").stat().st_size > 1000
    grid = pd.read_csv(res / "tables/eft_grid.csv")
    assert set(grid.task) == set(tasks) | {"knowledge"}  # + factuality by likelihood (cloze items)
    n_facts = len(pd.read_json(res / "eft/knowledge/records.jsonl", lines=True)) // 4
    for (task, metric), df in grid.groupby(["task", "metric"]):
        assert sorted(df.cell) == ["down", "large", "small", "up"], (task, metric)
        assert (df.n == (n_facts if task == "knowledge" else smoke["n_test"])).all()
        assert (df.ci_low <= df.value + 1e-9).all() and (df.value <= df.ci_high + 1e-9).all()
        assert set(df[df.emulated].cell) == {"up", "down"}
    # The diagonal is the harness's evaluation of the post-trained models re-scored on the first
    # n_test examples: its format score is the mean of the harness's per-example format_ok there.
    for cell, model in (("small", "small-post"), ("large", "large-post")):
        for task in tasks:
            recs = pd.read_json(res / f"eval/{model}/{task}/outputs.jsonl", lines=True)[: smoke["n_test"]]
            value = grid[(grid.cell == cell) & (grid.task == task) & (grid.metric == "format")].value.item()
            assert value == pytest.approx(recs.format_ok.mean()), (cell, task)
    # The diagonal's cloze accuracy is the post-trained model's own knowledge probe (same items)
    for cell, model in (("small", "small-post"), ("large", "large-post")):
        probe = pd.read_json(res / f"eval/{model}/knowledge/metrics.json", typ="series")["cloze_accuracy"]
        value = grid[(grid.cell == cell) & (grid.task == "knowledge")].value.item()
        assert value == pytest.approx(probe["value"]), cell
    gains = pd.read_csv(res / "tables/eft_gains.csv")
    assert len(gains) == grid.groupby(["task", "metric"]).ngroups
    for name in ("ft", "pt", "pt_minus_ft"):  # paired CIs around every contrast, and a verdict
        value = gains[name if name == "pt_minus_ft" else f"{name}_gain"]
        assert (gains[f"{name}_ci_low"] <= value + 1e-9).all() and (
            value <= gains[f"{name}_ci_high"] + 1e-9
        ).all()
        zero = (gains[f"{name}_ci_low"] == 0) & (gains[f"{name}_ci_high"] == 0)
        inside = (gains[f"{name}_ci_low"] <= 0) & (gains[f"{name}_ci_high"] >= 0) & ~zero
        assert ((gains[f"{name}_verdict"] == "inconclusive") == inside).all()
        assert ((gains[f"{name}_verdict"] == "= 0") == zero).all()
    assert "inconclusive" in (res / "tables/eft_gains.md").read_text() or not inside.any()
    beta = pd.read_csv(res / "tables/eft_beta.csv")
    assert sorted(beta.beta.unique()) == sorted(float(b) for b in smoke["beta"]["values"])
    assert set(beta.task) == set(tasks) and (beta.n == smoke["beta"]["n_test"]).all()
    lam = pd.read_csv(res / "tables/eft_lambda.csv")
    assert sorted(lam.lam.unique()) == sorted(float(x) for x in smoke["mixture"]["lambdas"])
    variants = cfg["eft"]["mixture"]["variants"]
    assert set(lam.task) == {t for ts in variants.values() for t in ts}
    for name in variants:  # each variant is a saved SFT model of the small base
        assert (res / f"eft/variants/{name}/sahlab.json").exists()
    spec = pd.read_csv(res / "tables/eft_speculative.csv")
    sp = smoke["speculative"]
    assert len(spec) == len(sp["batch_sizes"]) * len(sp["temperatures"])
    greedy = spec[spec.temperature == 0]
    assert greedy.identical.all() and (greedy.identical_outputs == greedy.n_prompts).all()
    assert spec.acceptance_rate.between(0, 1).all() and (spec.tokens_per_verification >= 1).all()
    assert (spec.flop_weighted_speedup > 0).all()
    assert unpad((res / "tables/eft_speculative.md").read_text()).startswith("| k | batch_size |")

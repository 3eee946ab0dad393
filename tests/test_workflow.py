"""Workflow tests: snakemake itself on the real Snakefile (lint, dry-runs, bad configs, smoke run)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, planned_jobs, run_snakemake

pytestmark = pytest.mark.workflow


def test_lint_is_clean():
    proc = run_snakemake(REPO, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_default_config_dry_run_plans_the_whole_study(workflow_copy):
    jobs = planned_jobs(run_snakemake(workflow_copy, "-n", "--cores", "2"))
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    n_scales, n_tasks = len(cfg["scales"]), len(cfg["tasks"])
    assert jobs["pretrain"] == n_scales and jobs["random_init"] == n_scales
    assert jobs["evaluate"] == 3 * n_scales  # random, base, post of every scale
    assert jobs["task_data"] == n_tasks + 1  # + the new-knowledge split (study A)
    assert jobs["posttrain_stage"] == n_scales * len(cfg["posttrain"]["stages"])
    assert jobs["all"] == 1


def test_one_output_builds_only_its_ancestors(workflow_copy):
    jobs = planned_jobs(run_snakemake(workflow_copy, "-n", "--cores", "2", "results/models/small-base"))
    assert set(jobs) == {"world", "corpus", "tokenizer", "pretrain"}
    assert jobs["pretrain"] == 1


def _write_config(workdir: Path, mutate) -> Path:
    cfg = yaml.safe_load((workdir / "config/config.yaml").read_text())
    mutate(cfg)
    path = workdir / "config/bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda c: c["tasks"].update(poetry={"source": "embedded"}), r"tasks\.poetry.*allowed.*math"),
        (lambda c: c["evaluation"].update(n_test=-5), r"n_test|-5"),
        (lambda c: c["evaluation"].update(n_tset=5), r"n_tset"),
        (lambda c: c["posttrain"]["stages"][0].update(method="ppo"), r"ppo.*(sft|one of)"),
    ],
)
def test_bad_config_fails_before_any_job_and_keeps_results(workflow_copy, mutate, expected):
    # a finished result from an earlier run must survive the failed invocation
    keep = workflow_copy / "results/data/world/world.json"
    keep.parent.mkdir(parents=True)
    keep.write_text("{}")
    bad = _write_config(workflow_copy, mutate)
    proc = run_snakemake(workflow_copy, "-n", "--configfile", str(bad), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(expected, out, re.S), out[-3000:]
    assert keep.read_text() == "{}"


def test_missing_config_file_is_named(workflow_copy):
    proc = run_snakemake(workflow_copy, "-n", "--configfile", "config/nope.yaml", check=False)
    assert proc.returncode != 0
    assert "nope.yaml" in proc.stdout + proc.stderr


def test_smoke_run_end_to_end(smoke_run):
    workdir, _ = smoke_run
    res = workdir / "results"
    # smoke.yaml overrides config.yaml key by key (snakemake merges nested dicts)
    cfg = yaml.safe_load((workdir / "config/config.yaml").read_text())
    smoke = yaml.safe_load((workdir / "config/smoke.yaml").read_text())
    cfg.update(
        scales=smoke["scales"],
        evaluation=cfg["evaluation"] | smoke["evaluation"],
        tasks=cfg["tasks"] | smoke.get("tasks", {}),
    )
    assert "coding" in cfg["tasks"]  # smoke exercises the coding task while the default has it off
    for fig in ("world", "stages", "pretrain_loss"):
        for ext in ("pdf", "png"):
            f = res / f"figures/{fig}.{ext}"
            assert f.stat().st_size > 5000, f
    table = (res / "tables/stages.csv").read_text().splitlines()
    models = [f"{s}-{st}" for s in cfg["scales"] for st in ("random", "base", "post")]
    for model in models:
        for task in cfg["tasks"]:
            metrics = json.loads((res / f"eval/{model}/{task}/metrics.json").read_text())
            assert "format" in metrics
            for m in metrics.values():
                assert m["ci_low"] <= m["value"] <= m["ci_high"]
            rows = (res / f"eval/{model}/{task}/outputs.jsonl").read_text().splitlines()
            n_split = len((res / f"data/tasks/{task}/test.jsonl").read_text().splitlines())
            assert len(rows) == min(cfg["evaluation"]["n_test"], n_split)
            assert {"id", "output", "reference"} <= set(json.loads(rows[0]))
    assert len(table) > len(models) * len(cfg["tasks"])


def test_smoke_rerun_has_nothing_to_do(smoke_run):
    workdir, _ = smoke_run
    proc = run_snakemake(workdir, "-n", "--cores", "2", "--configfile", "config/smoke.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_smoke_run_writes_the_synthesis_verdicts_and_summary(smoke_run):
    import csv

    workdir, _ = smoke_run
    res = workdir / "results"
    cfg = yaml.safe_load((workdir / "config/config.yaml").read_text())
    smoke = yaml.safe_load((workdir / "config/smoke.yaml").read_text())
    synth = list(csv.DictReader((res / "tables/synthesis.csv").open()))
    keys = {(r["scale"], r["task"]) for r in synth}
    assert {(s, t) for s in smoke["scales"] for t in cfg["tasks"]} <= keys
    assert all(r["post_own"] != "" and r["post_own_ci_low"] != "" for r in synth if r["task"] in cfg["tasks"])
    verdicts = list(csv.DictReader((res / "tables/verdicts.csv").open()))
    claims = yaml.safe_load((workdir / "report/claims.yaml").read_text())["claims"]
    assert {c["id"] for c in claims} == {r["claim"] for r in verdicts}
    assert {r["verdict"] for r in verdicts} <= {"supported", "not supported", "inconclusive", "n/a"}
    # study C's knowledge items (factuality by likelihood) get a row per scale; C4 is judged on them
    assert {(s, "knowledge") for s in smoke["scales"]} <= keys
    assert [r["scope"] for r in verdicts if r["claim"] == "C4"] == ["knowledge"]
    summary = (res / "SUMMARY.md").read_text()
    for part in (
        "## Models and stages",
        "### `synthesis.md`",
        "### `verdicts.md`",
        "- machine:",
        "- run: first benchmarked job started",
    ):
        assert part in summary, part
    assert (res / "figures/synthesis.pdf").stat().st_size > 5000

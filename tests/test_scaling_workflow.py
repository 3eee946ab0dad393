"""Study A through snakemake itself: the smoke run's outputs, one-figure targets, and a plotting
option that re-runs only the plotting job."""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from test_workflow import planned_jobs

from conftest import run_snakemake, unpad
from sahlab.scaling.config import schedule_for

pytestmark = pytest.mark.workflow


def _smoke_cfg(workdir):
    return yaml.safe_load((workdir / "config/smoke.yaml").read_text())


def test_smoke_run_writes_scaling_outputs(smoke_run):
    workdir, _ = smoke_run
    res, sc = workdir / "results", _smoke_cfg(workdir)["scaling"]
    tasks = sc["tasks"]
    for name in ("scaling_curves", "scaling_errors", "scaling_newknowledge"):
        for ext in ("pdf", "png"):
            assert (res / f"figures/{name}.{ext}").stat().st_size > 5000
    for model in sc["models"]:
        for task in tasks:
            for seed in sc["seeds"]:
                rows = [
                    json.loads(x)
                    for x in (res / f"scaling/{model}/{task}/seed{seed}/records.jsonl")
                    .read_text()
                    .splitlines()
                ]
                assert len(rows) == len(sc["N"]) * sc["n_test"]
                assert sorted({r["N"] for r in rows}) == sorted(sc["N"])
                assert {r["seed"] for r in rows} == {seed}
    fits = list(csv.DictReader((res / "tables/scaling_fits.csv").open()))
    assert {(r["model"], r["task"]) for r in fits} == {(m, t) for m in sc["models"] for t in tasks}
    for r in fits:
        for p in "abc":
            assert float(r[f"{p}_ci_low"]) <= float(r[p]) <= float(r[f"{p}_ci_high"])
        assert int(float(r["heldout_N"])) == max(sc["N"])
        assert r["keeps_rising"] in ("", "yes", "no", "inconclusive")
    errors = list(csv.DictReader((res / "scaling/errors.csv").open()))
    assert len(errors) == len(sc["models"]) * len(tasks) * len(sc["N"]) * len(sc["seeds"])
    for r in errors:
        total = float(r["error_format"]) + float(r["error_content"]) + float(r["performance"])
        assert total == pytest.approx(1.0)
    # wall-clock seconds live beside the benchmarks, not in the files downstream rules read
    for model in sc["models"]:
        for task in tasks:
            summary = (res / f"scaling/{model}/{task}/seed1/summary.json").read_text()
            assert "seconds" not in summary
            # the task's own schedule (scaling.schedule) reached the job: its cap binds at max N
            cap = schedule_for({"scaling": sc}, task)["max_steps"]
            per_n = {p["N"]: p for p in json.loads(summary)["per_N"]}
            assert cap is not None and per_n[max(sc["N"])]["steps"] == cap
            assert per_n[max(sc["N"])]["bound"] == "cap"
            timing = json.loads((res / f"benchmarks/scaling_{model}_{task}_seed1_per_N.json").read_text())
            assert [t["N"] for t in timing["per_N"]] == sorted(sc["N"])
    nk = list(csv.DictReader((res / "tables/scaling_newknowledge.csv").open()))
    nk_models = sc["newknowledge"]["models"]
    assert {(r["model"], r["condition"]) for r in nk} == {
        (m, c) for m in nk_models for c in ("qa_only", "bios+qa", "bios+newqa")
    }
    assert "all" in {r["kind"] for r in nk} and all(int(r["n"]) > 0 for r in nk)
    # the comparison is on the held-out people only: fewer items than the test questions
    assert max(int(r["n"]) for r in nk) < sc["newknowledge"]["n_test"]
    paired = list(csv.DictReader((res / "tables/scaling_newknowledge_paired.csv").open()))
    assert {r["model"] for r in paired if r["contrast"] == "arm"} == set(nk_models)
    assert all(r["verdict"] in ("> 0", "< 0", "= 0", "inconclusive") for r in paired)
    assert "| arm |" in unpad((res / "tables/scaling_newknowledge.md").read_text())


def test_one_scaling_figure_builds_only_its_branch(workflow_copy):
    # targets before --configfile, which takes several values
    jobs = planned_jobs(
        run_snakemake(
            workflow_copy,
            "-n",
            "results/figures/scaling_errors.pdf",
            "--cores",
            "2",
            "--configfile",
            "config/smoke.yaml",
        )
    )
    sc = _smoke_cfg(workflow_copy)["scaling"]
    assert jobs["scaling_run"] == len(sc["models"]) * len(sc["tasks"]) * len(sc["seeds"])
    assert jobs["figure_scaling_errors"] == 1 and jobs["scaling_errors"] == 1
    # the fits mark where format errors vanish; no other study, no harness evaluation, no
    # new-knowledge runs
    assert set(jobs) <= {
        "world",
        "corpus",
        "task_data",
        "tokenizer",
        "pretrain",
        "scaling_run",
        "scaling_errors",
        "scaling_fits",
        "figure_scaling_errors",
    }


def test_plotting_option_reruns_only_the_plotting_job(smoke_run):
    workdir, _ = smoke_run
    (workdir / "config/talk.yaml").write_text("figures: {format: [pdf, png], context: talk}\n")
    for fig, rule in (
        ("scaling_curves", "figure_scaling_curves"),
        ("scaling_newknowledge", "figure_scaling_newknowledge"),
    ):
        jobs = planned_jobs(
            run_snakemake(
                workdir,
                "-n",
                f"results/figures/{fig}.pdf",
                "--cores",
                "2",
                "--configfile",
                "config/smoke.yaml",
                "config/talk.yaml",
            )
        )
        assert jobs == {rule: 1}


def test_bad_scaling_grid_fails_before_any_job(workflow_copy):
    bad = workflow_copy / "config/bad.yaml"
    bad.write_text("scaling: {N: [0, 2, 4, 8, 100000]}\n")
    proc = run_snakemake(
        workflow_copy, "-n", "--configfile", "config/smoke.yaml", "config/bad.yaml", check=False
    )
    assert proc.returncode != 0
    assert "scaling.N" in proc.stdout + proc.stderr and "100000" in proc.stdout + proc.stderr

"""Study D through snakemake itself: dry-runs of one figure and of the full preset, a bad grid
value failing before any job, and the study's outputs in the shared smoke run."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml

from conftest import REPO, planned_jobs, run_snakemake

pytestmark = pytest.mark.workflow


def test_use_figure_schedules_only_its_branch(workflow_copy):
    jobs = planned_jobs(
        run_snakemake(workflow_copy, "-n", "--cores", "2", "results/figures/inductive_use.pdf")
    )
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())["inductive"]
    assert set(jobs) == {
        "world",
        "corpus",
        "tokenizer",
        "pretrain",
        "inductive_finetune",
        "inductive_use_table",
        "figure_inductive_use",
    }
    assert jobs["pretrain"] == len(cfg["scales"])
    assert jobs["inductive_finetune"] == (
        len(cfg["scales"]) * len(cfg["methods"]) * len(cfg["pairs"]) * len(cfg["seeds"])
    )


def test_full_preset_dry_run_plans_the_full_grid(workflow_copy):
    # targets go before --configfile, which takes every following argument as a config file
    proc = run_snakemake(
        workflow_copy,
        "-n",
        "--cores",
        "2",
        "results/figures/inductive_extractability.pdf",
        "--configfile",
        "config/inductive_full.yaml",
    )
    jobs = planned_jobs(proc)
    full = yaml.safe_load((REPO / "config/inductive_full.yaml").read_text())["inductive"]
    assert full["rates"] == [0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5]
    assert len(full["pairs"]) >= 8 and len(full["seeds"]) >= 3
    assert jobs["inductive_mdl"] == len(full["scales"]) == 2
    assert jobs["inductive_finetune"] == 2 * len(full["methods"]) * len(full["pairs"]) * len(full["seeds"])
    assert "evaluate" not in jobs and "posttrain_stage" not in jobs


def test_bad_grid_fails_before_any_job(workflow_copy):
    cfg = yaml.safe_load((workflow_copy / "config/config.yaml").read_text())
    cfg["inductive"]["rates"] = [0.1, 0.05]
    bad = workflow_copy / "config/bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workflow_copy, "-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "inductive.rates" in proc.stdout + proc.stderr
    assert not (workflow_copy / "results").exists()


def test_smoke_run_study_outputs(smoke_run):
    workdir, _ = smoke_run
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())["inductive"]
    cfg.update(yaml.safe_load((REPO / "config/smoke.yaml").read_text())["inductive"])
    tables = workdir / "results/tables"
    use = pd.read_csv(tables / "inductive_use.csv")
    n_runs = len(cfg["scales"]) * len(cfg["methods"]) * len(cfg["pairs"]) * len(cfg["seeds"])
    assert len(use) == n_runs * len(cfg["rates"])
    # the training sets really had round(rate · n_train) counter-examples
    assert (use.n_evidence == (use.rate * cfg["n_train"]).round().astype(int)).all()
    assert use.spurious_preference.between(0, 1).all()
    assert use.s_only_error.between(0, 1).all() and use.t_only_error.between(0, 1).all()
    assert use.train_accuracy.between(0, 1).all()
    assert (use.converged == (use.train_accuracy >= cfg["converged_at"])).all()
    assert set(use.evidence) == {cfg["evidence"]}
    # smoke's GRPO plays Cruz et al.'s 5-token episodes: per-token rewards, so a step's mean
    # reward over 8 episodes of 5 tokens is a multiple of 1/40 (one-token answers: of 1/8)
    rl = [
        r
        for f in (workdir / "results/inductive").glob("*/features/grpo/*/seed*.json")
        for r in json.loads(f.read_text())
    ]
    assert rl and cfg["hparams"]["grpo"]["max_completion_length"] == 5
    rewards = [v for r in rl for _, v in r["train_reward_trajectory"]]
    assert rewards and all(0 <= v <= 1 and abs(v * 40 - round(v * 40)) < 1e-4 for v in rewards)
    assert any(abs(v * 8 - round(v * 8)) > 1e-4 for v in rewards)
    assert all(r["train_frac_zero_std_last"] is not None for r in rl)
    mdl = pd.read_csv(tables / "inductive_mdl.csv")
    assert set(mdl.pair) == set(cfg["pairs"])
    assert mdl.acc_target.between(0, 1).all() and mdl.acc_spurious.between(0, 1).all()
    assert (mdl.mdl_target > 0).all() and (mdl.mdl_spurious > 0).all()
    ratio = mdl.mdl_spurious / mdl.mdl_target
    assert ratio.round(9).tolist() == mdl.relative_extractability.round(9).tolist()
    corr = pd.read_csv(tables / "inductive_correlations.csv")
    assert set(corr.method) == set(cfg["methods"])
    assert corr.rho.dropna().between(-1, 1).all()
    assert corr.p_exact.dropna().between(0, 1).all()
    everything = corr[corr.subset == "all"]
    assert (everything.n_pairs == len(cfg["pairs"])).all()  # one point per pair
    assert set(corr.verdict) <= {"falls", "rises", "inconclusive"}
    for row in corr.itertuples():  # a correlation is either defined or explained
        assert math.isfinite(row.rho) or isinstance(row.note, str) and row.note
    assert "relative extractability" in (tables / "inductive_mdl.md").read_text()
    for name in ("inductive_use", "inductive_extractability"):
        for ext in ("pdf", "png"):
            assert (workdir / f"results/figures/{name}.{ext}").stat().st_size > 1000

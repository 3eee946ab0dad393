"""The workflow on a real one-node SLURM cluster (tests/slurm_cluster.py) with --executor slurm.

A subset of the smoke DAG runs through SLURM: on a copy of the local smoke run (the session
fixture `smoke_run`), one task's data, one model's random initialisation and that model's
evaluation are deleted and rebuilt as SLURM jobs (a CPU data job, a CPU model job and a GPU
evaluation job on the node's stand-in GPU). Every job must show up in sacct as COMPLETED, with
the resources its rule asks for, and the rebuilt files must equal the local run's.
Skipped, with the reason, where SLURM cannot be installed (not root, no apt-get).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import pytest

from conftest import REPO, run_snakemake
from slurm_cluster import ClusterUnavailable, SlurmCluster, ensure_installed

pytestmark = [pytest.mark.workflow, pytest.mark.slurm]

PROFILE = REPO / "tests/slurm_profile"
MODEL, TASK = "small-random", "math"  # the subset: this model's evaluation and this task
TARGET = f"results/eval/{MODEL}/{TASK}/metrics.json"
REBUILT = (f"results/data/tasks/{TASK}", f"results/models/{MODEL}", f"results/eval/{MODEL}")
GPU_RULES = {"evaluate"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        ensure_installed()
    except ClusterUnavailable as e:
        pytest.skip(f"SLURM cannot be installed here: {e}")
    c = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    t0 = time.monotonic()
    try:
        c.start()
    except ClusterUnavailable as e:
        pytest.skip(f"SLURM cannot be set up here: {e}")
    print(f"SLURM cluster up in {time.monotonic() - t0:.1f} s")
    yield c
    c.stop()


@pytest.fixture(scope="module")
def slurm_run(smoke_run, cluster, tmp_path_factory):
    """Copy of the local smoke run with the subset deleted, rebuilt through SLURM."""
    local, _ = smoke_run
    work = tmp_path_factory.mktemp("slurm_wf") / "wf"
    subprocess.run(["cp", "-a", str(local), str(work)], check=True)
    for path in REBUILT:
        shutil.rmtree(work / path)
    common = (TARGET, "--workflow-profile", "none", "--configfile", "config/smoke.yaml")
    plan = run_snakemake(work, "-n", "--cores", "2", *common)
    t0 = time.monotonic()
    proc = run_snakemake(work, "--profile", str(PROFILE), "--verbose", *common, timeout=900)
    wall = time.monotonic() - t0
    print(f"snakemake through SLURM: {wall:.1f} s")
    return local, work, plan, proc, wall


def planned(proc) -> dict[str, int]:
    text = proc.stdout + proc.stderr
    table = text[text.index("Job stats:") :]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def submissions(proc) -> dict[str, tuple[str, str]]:
    """SLURM job id -> (rule, sbatch call) from snakemake's verbose log."""
    text = proc.stdout + proc.stderr
    calls = re.findall(r"^sbatch call: (sbatch .*?--comment (rule_\S+).*)$", text, re.M)
    ids = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+?)/", text)
    by_rule: dict[str, list[str]] = {}
    for call, _ in calls:
        rule = re.search(r"--allowed-rules (\w+)", call)[1]
        by_rule.setdefault(rule, []).append(call)
    out = {}
    for job_id, rule in ids:
        out[job_id] = (rule, by_rule[rule].pop(0))
    return out


def test_subset_plan_is_data_model_and_gpu_evaluation(slurm_run):
    _, _, plan, _, _ = slurm_run
    assert planned(plan) == {"task_data": 1, "random_init": 1, "evaluate": 1}


def test_every_job_ran_as_a_completed_slurm_job(cluster, slurm_run):
    _, _, plan, proc, wall = slurm_run
    subs = submissions(proc)
    want = planned(plan)
    got: dict[str, int] = {}
    for rule, _ in subs.values():
        got[rule] = got.get(rule, 0) + 1
    assert got == want, f"submitted {got}, planned {want}"
    rows = {r["JobID"]: r for r in cluster.sacct(*subs)}
    print("sacct:\n" + "\n".join("|".join(r.values()) for r in rows.values()))
    assert set(rows) == set(subs)
    for job_id, (rule, call) in subs.items():
        row = rows[job_id]
        assert row["State"] == "COMPLETED" and row["ExitCode"] == "0:0", row
        assert row["Comment"].startswith(f"rule_{rule}"), row
        assert (row["Account"], row["Partition"]) == ("sahlab", "debug"), row
        gpu_alloc = "gres/gpu=1" in row["AllocTRES"]
        assert gpu_alloc == (rule in GPU_RULES), (rule, row["AllocTRES"])
        assert ("--gpus=1" in call) == (rule in GPU_RULES), call
    assert "Nothing to be done" not in proc.stdout + proc.stderr
    print(f"{len(subs)} SLURM jobs, workflow wall time {wall:.1f} s")


def test_slurm_outputs_equal_the_local_run(slurm_run):
    local, work, _, _, _ = slurm_run
    # the evaluate rule's task folders (the knowledge probe is rule corpus_probes and the
    # chat/native folders are rule evaluate_format, neither run here)
    tasks = sorted(
        p.name
        for p in (local / f"results/eval/{MODEL}").iterdir()
        if p.is_dir() and p.name not in ("knowledge", "chat", "native")
    )
    assert TASK in tasks and len(tasks) >= 4
    for task in tasks:
        ours = json.loads((work / f"results/eval/{MODEL}/{task}/metrics.json").read_text())
        ref = json.loads((local / f"results/eval/{MODEL}/{task}/metrics.json").read_text())
        assert ours == ref, f"{MODEL}/{task}: SLURM {ours} != local {ref}"
        for f in ("outputs.jsonl",):
            assert (work / f"results/eval/{MODEL}/{task}/{f}").read_bytes() == (
                local / f"results/eval/{MODEL}/{task}/{f}"
            ).read_bytes(), task
    for split in ("train", "test"):
        f = f"results/data/tasks/{TASK}/{split}.jsonl"
        assert (work / f).read_bytes() == (local / f).read_bytes(), f


def test_slurm_run_leaves_nothing_to_do(slurm_run):
    _, work, _, _, _ = slurm_run
    proc = run_snakemake(
        work, TARGET, "-n", "--workflow-profile", "none", "--cores", "2", "--configfile", "config/smoke.yaml"
    )
    assert "Nothing to be done" in proc.stdout + proc.stderr

"""Shared fixtures: a copy of the workflow in a temporary folder and a helper to run snakemake."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ("Snakefile", "rules", "scripts", "config", "report", "envs", "profiles")
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow files (not results/) so a test run never touches the user's results."""
    for part in WORKFLOW_PARTS:
        src = REPO / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / part)
    return dest


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 600):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONHASHSEED="0")
    proc = subprocess.run(
        [*SNAKEMAKE, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def planned_jobs(proc) -> dict[str, int]:
    """Rule -> count from the job-statistics table of a dry-run ({} when nothing is to be done)."""
    text = proc.stdout + proc.stderr
    if "Job stats:" not in text:
        return {}
    table = text[text.index("Job stats:") :]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def pytest_configure(config):
    # xdist workers share the cores: one torch thread each (subprocesses such as snakemake keep theirs)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Groups for `pytest -n 2 --dist loadgroup` (test.sh): every test of the one smoke run (and the
    SLURM tests, which start daemons on fixed ports) on one worker, so the smoke run happens once;
    other tests by module, so module fixtures (trained toy models) are built once."""
    for item in items:
        smoke = "smoke_run" in item.fixturenames or item.get_closest_marker("slurm") is not None
        group = "smoke" if smoke else item.module.__name__
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def workflow_copy(tmp_path):
    return copy_workflow(tmp_path)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The smoke config run end-to-end once per test session (shared by the workflow tests)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("smoke"))
    proc = run_snakemake(workdir, "--cores", "2", "--configfile", "config/smoke.yaml", timeout=1800)
    return workdir, proc

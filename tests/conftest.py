"""Shared fixtures: a copy of the workflow in a temporary folder and a helper to run snakemake."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
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


def _env() -> dict:
    return dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONHASHSEED="0")


def _check(proc, args) -> None:
    if proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 600):
    proc = subprocess.run(
        [*SNAKEMAKE, *args], cwd=workdir, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    if check:
        _check(proc, args)
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


def pytest_unconfigure(config):
    # the xdist controller, once every worker is done: a session that ended early (-x, Ctrl-C)
    # leaves no smoke run behind (a worker cannot tell whether another one still needs it)
    if not os.environ.get("PYTEST_XDIST_WORKER") and getattr(config.option, "numprocesses", None):
        root = config._tmp_path_factory.getbasetemp() / "shared-smoke"
        if (root / "pid").exists() and not (root / "rc").exists():
            try:
                os.killpg(int((root / "pid").read_text()), 15)
            except ProcessLookupError:
                pass


def _uses_smoke(item) -> bool:
    return "smoke_run" in item.fixturenames


def pytest_collection_modifyitems(config, items):
    """The tests that read the smoke run go last (`--dist loadfile` hands out modules in this order),
    and an xdist worker that collects any of them starts the one shared smoke run in the background
    at once, so the workers run the other tests while it is built."""
    items.sort(key=_uses_smoke)  # stable: the order within each part is kept
    if os.environ.get("PYTEST_XDIST_WORKER") and any(map(_uses_smoke, items)):
        _SharedSmoke(config).start()


class _SharedSmoke:
    """The smoke run in a folder shared by the xdist workers of one session (the parent of their
    base temp folders); the first worker to get there starts it, the others find it."""

    ARGS = ("--cores", "2", "--configfile", "config/smoke.yaml")

    def __init__(self, config):
        self.root = Path(config.option.basetemp).parent / "shared-smoke"

    def start(self) -> None:
        self.root.mkdir(exist_ok=True)
        try:
            os.close(os.open(self.root / "started", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
        workdir = self.root / "wf"
        workdir.mkdir()
        copy_workflow(workdir)
        script = (
            f"{' '.join(SNAKEMAKE)} {' '.join(self.ARGS)} > ../stdout 2> ../stderr; "
            "echo $? > ../rc.tmp && mv ../rc.tmp ../rc"
        )
        proc = subprocess.Popen(["bash", "-c", script], cwd=workdir, env=_env(), start_new_session=True)
        (self.root / "pid").write_text(str(proc.pid))

    def wait(self, timeout: int = 1800):
        deadline = time.monotonic() + timeout
        while not (self.root / "rc").exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"the shared smoke run did not finish within {timeout} s")
            time.sleep(2)
        proc = subprocess.CompletedProcess(
            [*SNAKEMAKE, *self.ARGS],
            int((self.root / "rc").read_text()),
            (self.root / "stdout").read_text(),
            (self.root / "stderr").read_text(),
        )
        _check(proc, self.ARGS)
        return self.root / "wf", proc


@pytest.fixture
def workflow_copy(tmp_path):
    return copy_workflow(tmp_path)


@pytest.fixture(scope="session")
def smoke_run(request, tmp_path_factory):
    """The smoke config run end-to-end once per test session (shared by the workflow tests and,
    under pytest-xdist, by the workers)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return _SharedSmoke(request.config).wait()
    workdir = copy_workflow(tmp_path_factory.mktemp("smoke"))
    proc = run_snakemake(workdir, *_SharedSmoke.ARGS, timeout=1800)
    return workdir, proc


def unpad(md: str) -> str:
    """A markdown table without tabulate's column padding ("| a   | b |" -> "| a | b |"), so tests
    can look for a row's cells."""
    return re.sub(r" +\|", " |", md)

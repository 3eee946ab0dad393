"""The code passes ruff (pyflakes, pycodestyle, import order, bugbear; pyproject.toml
[tool.ruff]), so CI fails on a new violation rather than a reviewer finding it later."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_ruff_check_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "sahlab", "scripts", "tests", "bench"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_sees_a_violation(tmp_path):
    # the check above can fail: an unused import in a file under the same configuration
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--config",
            str(REPO / "pyproject.toml"),
            str(bad),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "F401" in proc.stdout, proc.stdout + proc.stderr


def test_ruff_format_and_snakefmt_leave_the_code_unchanged():
    # the formatters are configured in pyproject.toml ([tool.ruff], [tool.snakefmt]); a file they
    # would rewrite fails here (run `ruff format` / `snakefmt Snakefile rules` to fix)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--check",
            "--no-cache",
            "sahlab",
            "scripts",
            "tests",
            "bench",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_sees_a_badly_formatted_rule(tmp_path):
    bad = tmp_path / "bad.smk"
    bad.write_text('rule a:\n    output:   "x"\n    shell:   "touch {output}"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "--config", str(REPO / "pyproject.toml"), str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr

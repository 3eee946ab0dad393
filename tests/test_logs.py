"""sahlab.logs: a job's output goes to its log file, and the cheaper garbage collection `log_to`
sets up changes neither what the job writes nor its exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO


def _job(tmp_path, body: str) -> subprocess.CompletedProcess:
    """Run `body` as a job script would: log_to first, then the job's code."""
    code = f"from sahlab.logs import log_to\nlog = log_to({str(tmp_path / 'job.log')!r})\n{body}\n"
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("body", "rc"),
    [
        ("pass", 0),
        ("raise SystemExit(3)", 3),  # e.g. a relaunched job passing on its children's status
        ("1 / 0", 1),
    ],
)
def test_exit_status_is_kept(tmp_path, body, rc):
    assert _job(tmp_path, body).returncode == rc


def test_everything_printed_reaches_the_log_file(tmp_path):
    body = (
        "import gc, os\n"
        "assert gc.get_threshold()[2] == 100 and gc.isenabled()\n"
        "log.info('from logging')\n"
        "print('from print', end='')\n"  # no newline: only the exit's flush writes it
        "os.write(2, b'from fd 2\\n')\n"
        "cycle = []; cycle.append(cycle)  # garbage left for the frozen exit\n"
    )
    proc = _job(tmp_path, body)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "job.log").read_text()
    assert "INFO sahlab: from logging" in text and "from fd 2" in text
    assert text.endswith("from print")


def test_gc_is_set_once(tmp_path):
    body = (
        "import atexit, gc\n"
        "n = atexit._ncallbacks()\n"
        "log_to(None); log_to(None)\n"
        "assert atexit._ncallbacks() == n and gc.get_threshold()[2] == 100\n"
    )
    proc = _job(tmp_path, body)
    assert proc.returncode == 0, proc.stderr

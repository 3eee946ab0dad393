"""Issue 18: interruptions never block a rerun and bad inputs fail early, naming the culprit.

Config cases run `snakemake -n` on a copy of the workflow and assert a short error naming the
key/file, raised before any job (nothing is written to results/). Library cases call the
readers and loaders the jobs use. Run with `pytest -m reliability` (the kill-mid-checkpoint
tests of pre-training are in tests/test_pretrain.py under the same marker).
"""
from __future__ import annotations

import pytest

from sahlab.io import atomic_path, work_dir

pytestmark = pytest.mark.reliability


# --------------------------------------------------------------------- leftovers of killed jobs
def test_work_dir_removes_a_killed_runs_leftovers(tmp_path):
    out = tmp_path / "posttrain" / "sft"
    stale = tmp_path / "posttrain" / ".sft.train-work"
    (stale / "checkpoint-1").mkdir(parents=True)
    with work_dir(out, "train-work") as work:
        assert work == stale and not any(work.iterdir())  # emptied at the start
        (work / "model").mkdir()
    assert not stale.exists()  # and removed at the end


def test_atomic_path_removes_stale_temporaries(tmp_path):
    out = tmp_path / "metrics.json"
    stale = tmp_path / ".metrics.json.abc123.tmp"
    stale.mkdir()
    (stale / "metrics.json").write_text("{half")
    other = tmp_path / ".other.json.abc123.tmp"  # another output's temporary is left alone
    other.mkdir()
    with atomic_path(out) as tmp:
        tmp.write_text("{}")
    assert out.read_text() == "{}" and not stale.exists() and other.exists()

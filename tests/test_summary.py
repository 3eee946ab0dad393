"""results/SUMMARY.md gathers the studies' own tables, in study order, with job times."""

from __future__ import annotations

from sahlab.summary import job_seconds, write_summary


def test_summary_gathers_tables_by_study_and_sums_job_time(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    for name, body in (
        ("inductive_correlations", "| rho |\n|---|\n| -0.5 |"),
        ("stages", "| scale | math |\n|---|---|\n| small | 0.140 |"),
        ("complexity", "| δ | bits |\n|---|---|\n| 0.4 | 9 KB |"),
    ):
        (tables / f"{name}.md").write_text(body)
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    for name, s in (("pretrain_small", 60.0), ("pretrain_large", 120.0), ("complexity_x", 30.0)):
        (bench / f"{name}.tsv").write_text(f"s\th:m:s\n{s}\t0:01:00\n")
    text = write_summary(
        sorted(map(str, tables.glob("*.md"))), bench, tmp_path / "SUMMARY.md", ["config/config.yaml"]
    )
    assert (tmp_path / "SUMMARY.md").read_text() == text
    order = [text.index(s) for s in ("## Models and stages", "## Study B", "## Study D")]
    assert order == sorted(order)  # stages first, then the studies in order
    assert "| small | 0.140 |" in text and "| -0.5 |" in text
    assert job_seconds(bench) == {"pre-training": 180.0, "study B": 30.0}
    assert "pre-training 3.0 min" in text and "config/config.yaml" in text

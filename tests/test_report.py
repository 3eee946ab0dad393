"""`snakemake --report` on the finished smoke run: every figure is in the HTML report with its
caption and its provenance (the rule and parameters that made it, the rule's script code and
pinned environment, the workflow description rendered from the config)."""

from __future__ import annotations

import html
import json
import re
import subprocess

import pytest
import yaml

from conftest import run_snakemake

pytestmark = pytest.mark.workflow


def report_data(path) -> dict[str, object]:
    """The JSON objects the report embeds as `<script id="..."> var name = {...}`."""
    text = path.read_text()
    out = {}
    for m in re.finditer(r'<script id="([\w-]+)">\s*var \w+ = ', text):
        body = text[m.end() : text.index("</script>", m.end())].strip().rstrip(";")
        try:
            out[m[1]] = json.loads(body)
        except json.JSONDecodeError:
            continue  # JavaScript, not data
    return out


def plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.fixture(scope="module")
def report(smoke_run, tmp_path_factory):
    work = tmp_path_factory.mktemp("report") / "wf"
    subprocess.run(["cp", "-a", str(smoke_run[0]), str(work)], check=True)
    run_snakemake(work, "--configfile", "config/smoke.yaml", "--report", "results/report.html")
    path = work / "results/report.html"
    return work, report_data(path)


def test_report_needs_pygments_and_docutils():
    # snakemake's HTML report highlights code with pygments and renders captions with docutils
    import docutils
    import pygments
    from test_envs import lock_pins

    assert lock_pins()["pygments"] == pygments.__version__
    assert lock_pins()["docutils"] == docutils.__version__


def test_every_figure_is_in_the_report_with_its_caption(report):
    work, data = report
    figures = sorted(p for p in (work / "results/figures").iterdir() if p.suffix in (".pdf", ".png"))
    assert len(figures) >= 6
    results = data["results"]
    for fig in figures:
        key = f"results/figures/{fig.name}"
        assert key in results, f"{key} missing from the report"
        entry = results[key]
        caption = plain(entry["caption"])
        assert len(caption.split()) >= 15, (key, caption)
        assert entry["data_uri"].startswith("data:") and len(entry["data_uri"]) > 1000, key
        assert entry["mime_type"] == ("application/pdf" if fig.suffix == ".pdf" else "image/png")


def test_every_figure_has_its_provenance(report):
    work, data = report
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    results, rules = data["results"], data["rules"]
    for key, entry in results.items():
        props = entry["job_properties"]
        rule = props["rule"]
        assert rule in rules, (key, rule)
        info = rules[rule]
        # the parameters the job ran with, e.g. the plot style from the config
        if rule in ("figure_world", "figure_stages", "figure_pretrain_loss"):
            assert f"'context': '{cfg['figures']['context']}'" in props["params"], (key, props)
        # the code (checked line by line below) and the pinned environment it ran in
        code = plain(info["code"])
        assert len(code.splitlines()) >= 3, (rule, code[:200])
        env = info["conda_env"]
        pins = [p for d in env["dependencies"] if isinstance(d, dict) for p in d["pip"]]
        assert any("==" in p for p in pins), (rule, env)
        env_file = yaml.safe_load((work / f"envs/{env['name'].removeprefix('sahlab-')}.yaml").read_text())
        assert env == env_file, rule


def test_figure_script_code_is_embedded_verbatim(report):
    work, data = report
    for rule in {e["job_properties"]["rule"] for e in data["results"].values()}:
        smk = "".join(p.read_text() for p in (work / "rules").glob("*.smk"))
        block = smk[smk.index(f"rule {rule}:") :]
        script = re.search(r'script:\s*\n\s*"\.\./(scripts/[\w.]+)"', block)[1]
        source_lines = [ln.strip() for ln in (work / script).read_text().splitlines() if ln.strip()]
        code = plain(data["rules"][rule]["code"])
        for line in source_lines[:5]:
            assert line in code, (rule, line)


def test_workflow_description_renders_the_config(report):
    work, data = report
    desc = plain(data["workflow-desc"])
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    assert "Superficial Alignment Hypothesis" in desc
    assert str(cfg["seed"]) in desc


def test_every_table_and_the_synthesis_are_in_the_report(report):
    work, data = report
    results = data["results"]
    stems = {p.stem for p in (work / "results/tables").iterdir() if p.suffix in (".csv", ".md")}
    assert {"stages", "synthesis", "verdicts", "stage_gains"} <= stems
    for stem in stems:
        key = f"results/report_tables/{stem}.html"
        assert key in results, f"table {stem} missing from the report"
        assert len(plain(results[key]["caption"]).split()) >= 15, key
    assert "results/figures/synthesis.png" in results or "results/figures/synthesis.pdf" in results
    verdicts = (work / "results/report_tables/verdicts.html").read_text()
    assert "supported" in verdicts or "inconclusive" in verdicts or "n/a" in verdicts

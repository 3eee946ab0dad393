"""Partial reruns: one figure builds only its ancestors; a plotting option re-runs only plots."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from conftest import planned_jobs, run_snakemake

pytestmark = pytest.mark.workflow

PLOT_RULE = re.compile(r"^(figure_\w+|\w+_figure_\w+)$")
STUDY_PREFIXES = ("scaling_", "complexity_", "eft_", "inductive_")


def test_one_figure_plans_only_its_ancestors(workflow_copy):
    jobs = planned_jobs(
        run_snakemake(
            workflow_copy,
            "results/figures/stages.pdf",
            "-n",
            "--cores",
            "2",
            "--configfile",
            "config/smoke.yaml",
        )
    )
    # the stage comparison needs data, tokenizer, every model and its evaluation, and the table
    for need in (
        "world",
        "corpus",
        "task_data",
        "tokenizer",
        "random_init",
        "pretrain",
        "posttrain_stage",
        "post_model",
        "evaluate",
        "stages_table",
        "figure_stages",
    ):
        assert need in jobs, (need, jobs)
    # ... but no other figure and nothing of the four studies
    assert [r for r in jobs if PLOT_RULE.match(r)] == ["figure_stages"], jobs
    assert not [r for r in jobs if r.startswith(STUDY_PREFIXES)], jobs
    assert "all" not in jobs


def test_data_figure_plans_no_model(workflow_copy):
    jobs = planned_jobs(
        run_snakemake(
            workflow_copy,
            "results/figures/world.pdf",
            "-n",
            "--cores",
            "2",
            "--configfile",
            "config/smoke.yaml",
        )
    )
    tasks = yaml.safe_load((workflow_copy / "config/config.yaml").read_text())["tasks"]
    tasks |= yaml.safe_load((workflow_copy / "config/smoke.yaml").read_text()).get("tasks") or {}
    n_tasks = len(tasks)
    assert jobs == {"world": 1, "corpus": 1, "task_data": n_tasks, "figure_world": 1}


@pytest.fixture
def finished_copy(smoke_run, tmp_path):
    """A copy (files, mtimes and snakemake metadata) of the completed smoke run."""
    work = tmp_path / "wf"
    subprocess.run(["cp", "-a", str(smoke_run[0]), str(work)], check=True)
    return work


def test_plot_option_reruns_only_plotting_jobs(finished_copy):
    base = yaml.safe_load((finished_copy / "config/config.yaml").read_text())["figures"]
    assert base["context"] != "talk"
    (finished_copy / "config/talk.yaml").write_text(yaml.safe_dump({"figures": {"context": "talk"}}))
    jobs = planned_jobs(
        run_snakemake(
            finished_copy, "-n", "--cores", "2", "--configfile", "config/smoke.yaml", "config/talk.yaml"
        )
    )
    plots = {r for r in jobs if PLOT_RULE.match(r)}
    assert {"figure_world", "figure_stages", "figure_pretrain_loss"} <= plots, jobs
    # provenance.json records the whole config, so it is rewritten too (by design), and
    # SUMMARY.md, which reports the machine and config from it
    allowed = {"all", "provenance", "summary"}
    assert set(jobs) - plots <= allowed, f"non-plotting jobs re-run: {set(jobs) - plots - allowed}"


def test_unchanged_config_after_smoke_run_plans_nothing(finished_copy):
    # control for the test above: the copy itself is complete, so the plots are due to the option
    proc = run_snakemake(finished_copy, "-n", "--cores", "2", "--configfile", "config/smoke.yaml")
    assert planned_jobs(proc) == {}, planned_jobs(proc)


def test_changed_local_weights_refetch_the_model(workflow_copy, tmp_path):
    """A scale registered from a local save_pretrained folder: its files are inputs of
    fetch_model, so new weights in the folder re-fetch the model (and re-run what uses it)."""
    import torch
    from transformers import LlamaForCausalLM

    from sahlab.models.registry import llama_config, read_model_meta
    from sahlab.models.tokenizer import train_tokenizer

    tok = train_tokenizer(["Anna has 3 apples. #### 3"] * 30, vocab_size=300, out_dir=tmp_path / "tok")
    build = {
        "arch": "llama",
        "hidden_size": 16,
        "num_layers": 1,
        "num_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": 64,
    }
    folder = tmp_path / "my-model"
    torch.manual_seed(0)
    LlamaForCausalLM(llama_config(build, len(tok), tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    extra = workflow_copy / "config" / "local.yaml"
    extra.write_text(yaml.safe_dump({"scales": {"loc": {"base": {"hub": str(folder)}}}}))
    args = (
        "results/models/loc-base",
        "--cores",
        "1",
        "--configfile",
        "config/smoke.yaml",
        "config/local.yaml",
    )
    run_snakemake(workflow_copy, *args)
    sums = read_model_meta(workflow_copy / "results/models/loc-base")["source"]["sha256"]
    assert "model.safetensors" in sums and "tokenizer.json" in sums
    assert planned_jobs(run_snakemake(workflow_copy, "-n", *args)) == {}
    torch.manual_seed(1)  # new weights, same architecture
    LlamaForCausalLM(llama_config(build, len(tok), tok)).save_pretrained(folder)
    assert planned_jobs(run_snakemake(workflow_copy, "-n", *args)) == {"fetch_model": 1}


def test_rerun_jobs_write_byte_identical_metrics_and_trigger_nothing(finished_copy):
    """Two executions of the same jobs give byte-identical metrics files (wall-clock fields live
    in logs, benchmarks/ and timing.json: sahlab.timing). Snakemake's mtime trigger then stays
    quiet: a newer input whose checksum matches the one recorded for its consumer (files up to
    --max-checksum-file-size, 1 MB) does not make the consumer outdated."""
    res = finished_copy / "results"
    targets = [res / "eval/small-base/math/metrics.json", res / "tables/synthesis.csv"]
    also = [
        res / "eval/small-base/math/outputs.jsonl",
        res / "tables/stage_gains.csv",
        res / "tables/verdicts.csv",
        res / "tables/synthesis.md",
    ]
    before = {p: p.read_bytes() for p in targets + also}
    stamp = {p: p.stat().st_mtime_ns for p in targets}
    run_snakemake(
        finished_copy,
        "--cores",
        "2",
        "--configfile",
        "config/smoke.yaml",
        "--force",
        *[str(p.relative_to(finished_copy)) for p in targets],
    )
    assert all(p.stat().st_mtime_ns > stamp[p] for p in targets)  # the jobs did run again
    changed = [str(p.relative_to(res)) for p, b in before.items() if p.read_bytes() != b]
    assert not changed, f"not byte-identical across two runs: {changed}"
    proc = run_snakemake(finished_copy, "-n", "--cores", "2", "--configfile", "config/smoke.yaml")
    assert planned_jobs(proc) == {}, planned_jobs(proc)


def test_metrics_and_training_logs_hold_no_wall_clock_fields(finished_copy):
    import json

    from sahlab.timing import is_timing

    def keys(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield k
                yield from keys(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from keys(v)

    runs = sorted((finished_copy / "results/inductive").glob("*/*/*/*/seed*.json"))
    assert runs  # study D's per-run metrics: their timings went to the job's log
    for run in runs:
        assert not [k for k in keys(json.loads(run.read_text())) if is_timing(k)], run
    logs = sorted((finished_copy / "results/posttrain").glob("*/*/train_log.json"))
    assert logs
    for log in logs:
        assert not [k for k in keys(json.loads(log.read_text())) if is_timing(k)], log
        timing = json.loads((log.parent / "timing.json").read_text())
        assert any(k.endswith("train_runtime") for k in timing), timing  # kept, beside the log

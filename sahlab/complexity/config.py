"""The `complexity` section of the workflow config (study B): defaults and cross-field checks.

`check_complexity_config(config)` runs when rules/complexity.smk is read, so a bad grid stops
snakemake before any job with one message naming the key. `settings(config)` returns the
section with defaults filled, which is what the rules pass to the jobs.
"""

from __future__ import annotations

import copy
from typing import Any

from sahlab.config import ConfigError, split_sizes

BITS = (16, 8, 4)
# BLoRA (`sahlab.complexity.blora`): the paper's code's defaults (λ_quant = λ_rank = 1e-3, gates
# start at γ = 6, scales_lr 0.01, weight decay 1e-3) except gates_lr (paper 0.01) and the
# schedule: at 0.01 no gate moves in the ~16 steps of a toy run (all stay at 32 bits, full rank).
BLORA_DEFAULTS: dict[str, Any] = {
    "r": 8,
    "lr": 5.0e-3,
    "epochs": 4,
    "batch_size": 16,
    "max_length": 256,
    "lambda_quant": 1.0e-3,
    "lambda_rank": 1.0e-3,
    "gates_lr": 1.0,
    "scales_lr": 0.01,
    "gamma_init": 6.0,
    "weight_decay": 1.0e-3,
}
# Defaults (the embedded default study's grid is sized for ~10 minutes on 2 cores; a bigger
# grid, e.g. icl_k [1, 2, 4, 8, 16], lora_ranks [1, 2, 4, 8, 16], prequential_n up to 1024, in
# a preset).
DEFAULTS: dict[str, Any] = {
    "models": None,  # conditioning models (<scale>-random|base|post); None = all
    "tasks": None,  # tasks; None = every configured task
    "n_test": 232,  # test examples (first n of the test split, a cap): the first
    "n_select": None,  # n_select (default min(32, n_test // 2)) score every program; the
    # rest, the evaluation split, scores only the programs chosen there
    "n_boot": 500,  # paired bootstrap resamples of the evaluation split (complexity CIs)
    "max_new_tokens": 64,  # generation budget per answer (int, or task -> int)
    "batch_size": 32,  # prompts decoded together
    "icl_k": [1, 2, 4],  # demonstrations per prompt (k = 0 is the baseline, always run)
    "urial": True,  # also URIAL: the task preamble + the same k demonstrations
    "blora": None,  # BLoRA (learned widths and ranks, `sahlab.complexity.blora`): None =
    # off; a mapping of BLORA_DEFAULTS keys (missing keys: defaults) = on
    "lora_ranks": [1, 4],  # one LoRA adapter trained per rank, evaluated at every bit width
    "bits": [16, 8, 4],  # quantisation of LoRA adapters and full fine-tuning deltas
    "n_train": 64,  # training examples (train[:n]) for LoRA and full fine-tuning
    "prequential_n": [8, 16, 32, 64],  # online-code (data as program) prefixes train[:N], increasing;
    # sizes beyond a task's train split are replaced by the whole split
    "prequential_n_post": None,  # the grid for post-trained models (None = prequential_n)
    "prequential_block_max": 64,  # block prequential code beside the online code, up to this N
    # (one full fine-tuning per block; 0 = off)
    "online_lr": 1.0e-4,  # AdamW lr of the single-pass online code (one step per example)
    "full_hparams": {"lr": 2.0e-4, "epochs": 1, "batch_size": 16, "max_length": 256},
    "lora_hparams": {
        "lr": 5.0e-3,
        "epochs": 1,
        "batch_size": 16,
        "max_length": 256,
        "lora": {"alpha": None, "dropout": 0.0},
    },
    "zstd_level": 19,  # zstd level of ICL text, LoRA payloads and program code (>= 19)
    # zstd level of full fine-tuning deltas: on float deltas level 19 runs at ~1.5 MB/s and is
    # within ~2 % of level 9's size, which is 10-50x faster (bench/README.md, study B)
    "zstd_level_delta": 9,
    "deltas": {},  # task -> target performances δ (on the scale of the task's metric)
    "metrics": {},  # task -> study B's metric (default: the task's main metric); any
    # variant the scorer reports (sahlab.eval.scorers.METRICS)
}
# δ on each embedded task's main-metric scale (accuracy / prompt_strict / exact_match in [0, 1],
# chrF in [0, 100]); used for tasks the config gives no δ for.
DEFAULT_DELTAS = {
    "math": [0.05, 0.1, 0.2],
    "translation": [5.0, 10.0, 15.0],
    "instructions": [0.1, 0.15, 0.2],
    "multihop": [0.05, 0.1, 0.2],
    "coding": [0.05, 0.1, 0.2],
}


def main_metric(task: str, opts: dict) -> str:
    """Study B's metric for `task`: `complexity.metrics[task]` if set, else the task's main metric."""
    from sahlab.eval.scorers import MAIN_METRIC

    return (opts.get("metrics") or {}).get(task) or MAIN_METRIC.get(task, "")


def max_new_tokens(task: str, opts: dict) -> int:
    """The answer budget for `task`: `max_new_tokens` as an int, or its entry for the task."""
    v = opts["max_new_tokens"]
    return v if isinstance(v, int) else v.get(task, v.get("default", 64))


def online_grid(opts: dict, stage: str, n_train: int) -> list[int]:
    """The data-program prefixes N for a conditioning model of `stage` on a train split of
    `n_train` examples: the configured grid, sizes beyond the split replaced by the whole split."""
    grid = opts["prequential_n"]
    if stage == "post" and opts.get("prequential_n_post"):
        grid = opts["prequential_n_post"]
    out = [n for n in grid if n < n_train]
    return out + [n_train] if len(out) < len(grid) else out


def _fail(key: str, problem: str) -> None:
    raise ConfigError(f"config key 'complexity.{key}': {problem}")


def settings(config: dict) -> dict:
    """The complexity section with defaults filled (models/tasks/deltas resolved)."""
    section = config.get("complexity") or {}
    unknown = sorted(set(section) - set(DEFAULTS))
    if unknown:
        _fail(unknown[0], f"unknown key; allowed: {sorted(DEFAULTS)}")
    out = copy.deepcopy(DEFAULTS)
    for key, value in section.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict) and key not in ("deltas", "metrics"):
            out[key] = {**out[key], **copy.deepcopy(value)}
        else:
            out[key] = copy.deepcopy(value)
    tasks = list(config["tasks"])
    if out["blora"] is True or isinstance(out["blora"], dict):
        out["blora"] = {**BLORA_DEFAULTS, **(out["blora"] if isinstance(out["blora"], dict) else {})}
    if out["models"] is None:
        from sahlab.config import available_models

        out["models"] = available_models(config)
    if out["tasks"] is None:
        out["tasks"] = tasks
    # tasks without δ (e.g. a hub task under a new name) get no complexity rows, only points
    deltas = {t: list(DEFAULT_DELTAS[t]) for t in out["tasks"] if t in DEFAULT_DELTAS}
    deltas.update({t: list(v) for t, v in (out["deltas"] or {}).items()})
    out["deltas"] = deltas
    return out


def _int_list(s: dict, key: str, minimum: int) -> list[int]:
    v = s[key]
    if not isinstance(v, list) or not v:
        _fail(key, f"must be a non-empty list of integers >= {minimum}, got {v!r}")
    for x in v:
        if isinstance(x, bool) or not isinstance(x, int) or x < minimum:
            _fail(key, f"every value must be an integer >= {minimum}, got {x!r}")
    if len(set(v)) != len(v):
        _fail(key, f"has duplicates: {v}")
    return v


def _check_blora(b) -> None:
    """complexity.blora: null/false (off) or a mapping of BLORA_DEFAULTS keys."""
    if b is None or b is False:
        return
    if not isinstance(b, dict):
        _fail(
            "blora",
            f"must be null (off), true (defaults) or a mapping of {sorted(BLORA_DEFAULTS)}, got {b!r}",
        )
    unknown = sorted(set(b) - set(BLORA_DEFAULTS))
    if unknown:
        _fail(f"blora.{unknown[0]}", f"unknown key; allowed: {sorted(BLORA_DEFAULTS)}")
    for key in ("r", "epochs", "batch_size", "max_length"):
        v = b[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < (2 if key == "r" else 1):
            _fail(
                f"blora.{key}",
                f"must be an integer >= {2 if key == 'r' else 1} (r: the rank "
                f"gates prune from it), got {v!r}",
            )
    for key in ("lr", "gates_lr", "scales_lr"):
        v = b[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            _fail(f"blora.{key}", f"must be a positive number, got {v!r}")
    for key in ("lambda_quant", "lambda_rank", "weight_decay"):
        v = b[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            _fail(f"blora.{key}", f"must be a number >= 0, got {v!r}")
    v = b["gamma_init"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > -2:
        _fail("blora.gamma_init", f"must be a number > -2 (gates at <= -2 are closed for good), got {v!r}")


def check_complexity_config(config: dict) -> dict:
    """Check the complexity section against the rest of the config; return `settings(config)`.

    Raises ConfigError naming the key: unknown model or task, empty or non-positive grids,
    bit widths outside {16, 8, 4}, prefixes not strictly increasing or larger than a task's
    train split, δ outside the metric's range, training hparams without a learning rate.
    """
    s = settings(config)
    tasks = list(config["tasks"])
    from sahlab.config import available_models, missing_stage_hint

    models = available_models(config)
    if not isinstance(s["models"], list) or not s["models"]:
        _fail("models", f"must be a non-empty list of models, allowed: {models}")
    for m in s["models"]:
        if m not in models:
            _fail("models", f"unknown model {m!r}; {missing_stage_hint(config, m)}")
    if not isinstance(s["tasks"], list) or not s["tasks"]:
        _fail("tasks", f"must be a non-empty list of tasks, allowed: {tasks}")
    for t in s["tasks"]:
        if t not in tasks:
            _fail("tasks", f"unknown task {t!r}; allowed (the config's tasks): {tasks}")
    if s["n_select"] is None and isinstance(s["n_test"], int):
        s["n_select"] = min(32, s["n_test"] // 2)
    mnt = s["max_new_tokens"]
    if isinstance(mnt, dict):
        for t, v in mnt.items():
            if t not in tasks and t != "default":
                _fail(f"max_new_tokens.{t}", f"unknown task; allowed: {tasks} (or 'default')")
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                _fail(f"max_new_tokens.{t}", f"must be a positive integer, got {v!r}")
    elif isinstance(mnt, bool) or not isinstance(mnt, int) or mnt < 1:
        _fail("max_new_tokens", f"must be a positive integer or task -> integer, got {mnt!r}")
    if not isinstance(s["urial"], bool):
        _fail("urial", f"must be true or false, got {s['urial']!r}")
    _check_blora(s["blora"])
    for key in ("n_test", "batch_size", "n_train", "n_select", "n_boot"):
        v = s[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            _fail(key, f"must be a positive integer, got {v!r}")
    if s["n_select"] >= s["n_test"]:
        _fail(
            "n_select",
            f"the selection split ({s['n_select']}) must leave evaluation examples "
            f"out of n_test ({s['n_test']}); lower n_select or raise n_test",
        )
    _int_list(s, "icl_k", 1)
    _int_list(s, "lora_ranks", 1)
    for b in _int_list(s, "bits", 1):
        if b not in BITS:
            _fail("bits", f"bit width {b} not supported; allowed: {list(BITS)}")
    lr = s["online_lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        _fail("online_lr", f"must be a positive number, got {lr!r}")
    _int_list(s, "prequential_n", 1)  # checks the grid
    for key in ("prequential_n", "prequential_n_post"):
        if key == "prequential_n_post" and s[key] is None:
            continue
        grid = _int_list(s, key, 1)
        if any(b <= a for a, b in zip(grid, grid[1:])):
            _fail(key, f"prefix sizes must be strictly increasing, got {grid}")
    blk = s["prequential_block_max"]
    if isinstance(blk, bool) or not isinstance(blk, int) or blk < 0:
        _fail("prequential_block_max", f"must be an integer >= 0 (0 = off), got {blk!r}")
    level = s["zstd_level"]
    if isinstance(level, bool) or not isinstance(level, int) or not 19 <= level <= 22:
        _fail("zstd_level", f"must be an integer in [19, 22] (study B compresses at >= 19), got {level!r}")
    if not isinstance(s["lora_hparams"].get("lora") or {}, dict):
        _fail("lora_hparams.lora", "must be a mapping (r comes from lora_ranks)")
    if "r" in (s["lora_hparams"].get("lora") or {}):
        _fail("lora_hparams.lora.r", "the rank comes from complexity.lora_ranks")
    if s["full_hparams"].get("lora") is not None:
        _fail("full_hparams.lora", "must be null: full fine-tuning trains every weight")
    from sahlab.train.common import resolve_hparams

    lvl = s["zstd_level_delta"]
    if isinstance(lvl, bool) or not isinstance(lvl, int) or not 1 <= lvl <= 22:
        _fail("zstd_level_delta", f"must be an integer in [1, 22], got {lvl!r}")
    for key in ("full_hparams", "lora_hparams"):
        hp = dict(s[key])
        if "prompt_format" in hp:
            _fail(
                f"{key}.prompt_format",
                "is set per conditioning model (its own prompt format), not in the config",
            )
        if key == "lora_hparams":
            hp["lora"] = {**(hp.get("lora") or {}), "r": 1}
        try:  # the shared trainer's own checks (unknown keys, lr > 0, ...), before any job
            resolve_hparams("sft", hp)
        except ValueError as e:
            _fail(key, str(e))
    from sahlab.eval.scorers import METRICS, PERCENT_METRICS

    if not isinstance(s["metrics"], dict):
        _fail("metrics", "must map task -> metric name")
    for t, m in s["metrics"].items():
        if t not in tasks:
            _fail(f"metrics.{t}", f"unknown task; allowed: {tasks}")
        if m not in METRICS.get(t, ()):
            _fail(f"metrics.{t}", f"{m!r} is not a metric of {t}; allowed: {list(METRICS.get(t, ()))}")
    if not isinstance(s["deltas"], dict):
        _fail("deltas", "must map task -> list of target performances")
    for t, ds in s["deltas"].items():
        if t not in tasks:
            _fail(f"deltas.{t}", f"unknown task; allowed: {tasks}")
        hi = 100.0 if main_metric(t, s) in PERCENT_METRICS else 1.0
        if not isinstance(ds, list) or not ds:
            _fail(f"deltas.{t}", "needs a non-empty list of target performances δ")
        for d in ds:
            if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d <= hi:
                _fail(f"deltas.{t}", f"δ = {d!r} is outside the main metric's range [0, {hi:g}]")
    sizes, test_sizes = split_sizes(config, "train"), split_sizes(config, "test")
    for t in s["tasks"]:
        if test_sizes.get(t) is not None and test_sizes[t] <= s["n_select"]:
            _fail(
                "n_select",
                f"task {t!r} has a test split of {test_sizes[t]}: the selection split "
                f"({s['n_select']}) must leave examples for the evaluation split",
            )
        n = sizes.get(t)
        if n is None:
            continue
        for key, need in (("n_train", s["n_train"]), ("icl_k", max(s["icl_k"]))):
            if need > n:
                _fail(
                    key,
                    f"needs {need} training examples but task {t!r} has a train split of "
                    f"{n} (world.tasks.{t}.train)",
                )
    return s

"""The `eft:` config section (study C): checks that run before any job, and the names it derives.

A bad value (unknown scale or task, n_test larger than the harness's evaluation.n_test whose
outputs the grid's diagonal reuses, a sweep's n_test larger than a test split, λ outside [0, 1], an empty sweep, a
mixture variant without tasks) fails here with one message naming the key, before Snakemake
schedules anything.
"""

from __future__ import annotations

import math
from typing import Any

from sahlab.config import ConfigError, split_sizes
from sahlab.schema import validate_section

# The 2×2 grid: cell -> (pre-training scale role, fine-tuning scale role). The diagonal cells are
# the real post-trained models; "up" and "down" are emulated.
CELLS = {
    "small": ("small", "small"),
    "up": ("large", "small"),
    "down": ("small", "large"),
    "large": ("large", "large"),
}
EMULATED = ("up", "down")


def _fail(key: str, problem: str) -> None:
    raise ConfigError(f"config key 'eft.{key}': {problem}")


def eft_tasks(config: dict) -> list[str]:
    """Tasks of the grid and β sweep (all configured tasks when `eft.tasks` is null)."""
    return list(config["eft"].get("tasks") or config["tasks"])


def mixture_tasks(config: dict) -> list[str]:
    """Tasks the λ sweep is evaluated on: the union of the two variants' training tasks."""
    out: list[str] = []
    for tasks in config["eft"]["mixture"]["variants"].values():
        out += [t for t in tasks if t not in out]
    return out


def variant_names(config: dict) -> list[str]:
    """The two fine-tuned variants of the λ sweep; the first is the λ = 1 end."""
    return list(config["eft"]["mixture"]["variants"])


def scale_models(config: dict) -> dict[str, str]:
    """Role -> model name: small_base, small_post, large_base, large_post."""
    e = config["eft"]
    return {
        f"{role}_{stage}": f"{e[role]}-{stage}" for role in ("small", "large") for stage in ("base", "post")
    }


def max_new_tokens_for(config: dict, task: str) -> int:
    """Generation budget of the sweeps (β, λ) for `task`: eft.max_new_tokens (an int or a
    task -> int mapping), else evaluation.max_new_tokens."""
    value = config["eft"].get("max_new_tokens")
    if isinstance(value, dict):
        value = value.get(task)
    return int(value if value is not None else config["evaluation"]["max_new_tokens"])


def check_eft_config(config: dict) -> None:
    """Cross-field checks of `config["eft"]`; types and ranges are the schema's, checked here
    too so a direct call (tests, notebooks) gets the same errors as the workflow."""
    if config.get("eft") is None:
        return
    e = validate_section("eft", config["eft"])  # types and ranges (for a direct call)
    for role in ("small", "large"):
        if e.get(role) not in config["scales"]:
            _fail(role, f"unknown scale {e.get(role)!r}; allowed: {list(config['scales'])}")
    if e["small"] == e["large"]:
        _fail("large", f"must differ from eft.small (both {e['small']!r})")
    from sahlab.config import scale_stages

    for role in ("small", "large"):
        stages = scale_stages(config)[e[role]]
        if "base" not in stages:
            _fail(role, f"EFT needs the base and post models of scale {e[role]!r}, which gives only {stages}")
    # EFT adds logits token by token: all four members need one vocabulary. Built scales share
    # the pipeline's tokenizer, a hub scale brings its own (two hub scales are checked in the job).
    kind = {
        role: "pipeline-built" if "build" in config["scales"][e[role]] else "hub"
        for role in ("small", "large")
    }
    if kind["small"] != kind["large"]:
        _fail(
            "large",
            f"scale {e['large']!r} ({kind['large']}) and eft.small {e['small']!r} "
            f"({kind['small']}) have different tokenizers; EFT adds logits token by token, so "
            "use two built scales or two hub scales of one model family",
        )
    tasks = e.get("tasks")
    if tasks is not None:
        _check_tasks(tasks, config, "tasks")
    mnt = e.get("max_new_tokens")
    if isinstance(mnt, dict):
        _check_tasks(list(mnt), config, "max_new_tokens")
    test_sizes = split_sizes(config, "test")
    n_eval = config["evaluation"]["n_test"]
    if e["n_test"] > n_eval:
        _fail(
            "n_test",
            f"({e['n_test']}) exceeds evaluation.n_test ({n_eval}): the grid's diagonal "
            "cells reuse the harness's outputs of the post-trained models",
        )
    # eft.n_test takes the first n of each split, or the whole split when it is smaller (as the
    # harness's evaluation.n_test does, whose outputs the diagonal reuses); the sweeps need n items
    for task in eft_tasks(config):
        size = test_sizes.get(task)
        if size is not None and e["beta"]["n_test"] > size:
            _fail(
                "beta.n_test",
                f"({e['beta']['n_test']}) is larger than the test split of task {task!r} ({size} examples)",
            )
    betas = e["beta"]["values"]
    if any(not math.isfinite(b) for b in betas):
        _fail("beta.values", f"every β must be finite, got {betas}")
    _check_mixture(e["mixture"], config, test_sizes)
    sp = e["speculative"]
    if 0 not in sp["temperatures"] and 0.0 not in sp["temperatures"]:
        _fail(
            "speculative.temperatures",
            "must include 0 (greedy: speculative outputs are asserted identical to plain EFT decoding)",
        )
    for task in eft_tasks(config):
        size = test_sizes.get(task)
        if size is not None and sp["n_prompts"] > size:
            _fail(
                "speculative.n_prompts",
                f"({sp['n_prompts']}) is larger than the test split of task {task!r} ({size} examples)",
            )


def _check_tasks(tasks: Any, config: dict, key: str) -> None:
    unknown = [t for t in tasks if t not in config["tasks"]]
    if unknown:
        _fail(key, f"unknown task(s) {unknown}; allowed: {list(config['tasks'])}")


def _check_mixture(mx: dict, config: dict, test_sizes: dict) -> None:
    variants = mx["variants"]
    for name, tasks in variants.items():
        _check_tasks(tasks, config, f"mixture.variants.{name}")
    a, b = (set(t) for t in variants.values())
    if a == b:
        _fail(
            "mixture.variants",
            "the two variants train on the same tasks; the λ sweep needs two different behaviours",
        )
    train_sizes = split_sizes(config, "train")
    for name, tasks in variants.items():
        for task in tasks:
            size = train_sizes.get(task)
            if size is not None and mx["n_per_task"] > size:
                _fail(
                    "mixture.n_per_task",
                    f"({mx['n_per_task']}) is larger than the training split of "
                    f"task {task!r} ({size} examples)",
                )
    for task in {t for tasks in variants.values() for t in tasks}:
        size = test_sizes.get(task)
        if size is not None and mx["n_test"] > size:
            _fail(
                "mixture.n_test",
                f"({mx['n_test']}) is larger than the test split of task {task!r} ({size} examples)",
            )
    from sahlab.train.common import resolve_hparams

    hp = dict(mx.get("hparams") or {})
    if hp.get("prompt_format", "chat") != "chat":
        _fail(
            "mixture.hparams",
            "prompt_format must stay chat: the variants' deltas are combined in the "
            "post-trained models' chat format",
        )
    try:
        resolve_hparams("sft", hp)
    except ValueError as err:
        _fail("mixture.hparams", str(err))

"""The `complexity` section of the workflow config (study B): defaults and cross-field checks.

`check_complexity_config(config)` runs when rules/complexity.smk is read, so a bad grid stops
snakemake before any job with one message naming the key. `settings(config)` returns the
section with defaults filled, which is what the rules pass to the jobs.
"""

from __future__ import annotations

from typing import Any

from sahlab.config import ConfigError, split_sizes
from sahlab.schema import section_defaults, validate_section

# Defaults, types and ranges: config/schema.yaml (`complexity`; BLoRA's in `$defs.blora`, the
# paper code's defaults except gates_lr); this module keeps the cross-field checks.
DEFAULTS: dict[str, Any] = section_defaults("complexity")
BLORA_DEFAULTS: dict[str, Any] = section_defaults("$defs.blora")
# δ on each embedded task's main-metric scale (accuracy / prompt_strict / exact_match in [0, 1],
# chrF in [0, 100]); used for tasks the config gives no δ for. Kept in Python, not the schema:
# which tasks get one depends on `tasks` and `complexity.tasks`.
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
    """The complexity section checked against the schema with its defaults filled, and the
    values that depend on other keys resolved (models, tasks, BLoRA's `true`, deltas)."""
    out = validate_section("complexity", config.get("complexity") or {})
    tasks = list(config["tasks"])
    if out["blora"] is True:  # true = the defaults; false and null stay off
        out["blora"] = dict(BLORA_DEFAULTS)
    if out["models"] is None:
        from sahlab.config import available_models

        out["models"] = available_models(config)
    if out["tasks"] is None:
        out["tasks"] = tasks
    out.setdefault("n_select", None)  # computed in check_complexity_config
    # tasks without δ (e.g. a hub task under a new name) get no complexity rows, only points
    deltas = {t: list(DEFAULT_DELTAS[t]) for t in out["tasks"] if t in DEFAULT_DELTAS}
    deltas.update({t: list(v) for t, v in out["deltas"].items()})
    out["deltas"] = deltas
    return out


def _strictly_increasing(s: dict, key: str) -> None:
    grid = s[key]
    if grid is not None and any(b <= a for a, b in zip(grid, grid[1:])):
        _fail(key, f"prefix sizes must be strictly increasing, got {grid}")


def check_complexity_config(config: dict) -> dict:
    """Check the complexity section against the rest of the config; return `settings(config)`.

    Types and ranges are the schema's (`settings` validates the section); the checks here relate
    keys to each other: unknown model or task, prefixes not strictly increasing, a selection
    split that leaves no evaluation examples, sizes larger than a task's train split, δ outside
    the metric's range, training hparams the trainer's resolver rejects. ConfigError names the key.
    """
    s = settings(config)
    tasks = list(config["tasks"])
    from sahlab.config import available_models, missing_stage_hint

    models = available_models(config)
    for m in s["models"]:
        if m not in models:
            _fail("models", f"unknown model {m!r}; {missing_stage_hint(config, m)}")
    for t in s["tasks"]:
        if t not in tasks:
            _fail("tasks", f"unknown task {t!r}; allowed (the config's tasks): {tasks}")
    if s["n_select"] is None:
        s["n_select"] = min(32, s["n_test"] // 2)
    if isinstance(s["max_new_tokens"], dict):
        for t in s["max_new_tokens"]:
            if t not in tasks and t != "default":
                _fail(f"max_new_tokens.{t}", f"unknown task; allowed: {tasks} (or 'default')")
    if s["n_select"] >= s["n_test"]:
        _fail(
            "n_select",
            f"the selection split ({s['n_select']}) must leave evaluation examples "
            f"out of n_test ({s['n_test']}); lower n_select or raise n_test",
        )
    _strictly_increasing(s, "prequential_n")
    _strictly_increasing(s, "prequential_n_post")
    if not isinstance(s["lora_hparams"].get("lora") or {}, dict):
        _fail("lora_hparams.lora", "must be a mapping (r comes from lora_ranks)")
    if "r" in (s["lora_hparams"].get("lora") or {}):
        _fail("lora_hparams.lora.r", "the rank comes from complexity.lora_ranks")
    if s["full_hparams"].get("lora") is not None:
        _fail("full_hparams.lora", "must be null: full fine-tuning trains every weight")
    from sahlab.train.common import resolve_hparams

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

    for t, m in s["metrics"].items():
        if t not in tasks:
            _fail(f"metrics.{t}", f"unknown task; allowed: {tasks}")
        if m not in METRICS.get(t, ()):
            _fail(f"metrics.{t}", f"{m!r} is not a metric of {t}; allowed: {list(METRICS.get(t, ()))}")
    for t, ds in s["deltas"].items():
        if t not in tasks:
            _fail(f"deltas.{t}", f"unknown task; allowed: {tasks}")
        hi = 100.0 if main_metric(t, s) in PERCENT_METRICS else 1.0
        for d in ds:
            if not d <= hi:
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

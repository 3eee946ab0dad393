"""The `scaling:` config section: checks that run before any job, and the training schedule.

A bad grid (negative N, N larger than a task's training split, an unknown task or model, an
empty grid) fails here with one message naming the key, before Snakemake schedules anything.
"""

from __future__ import annotations

import math
from typing import Any

from sahlab.config import ConfigError, split_sizes
from sahlab.schema import validate_section

# train() hparams the schedule owns: the number of optimizer steps is derived per N.
SCHEDULE_OWNED = ("epochs", "max_steps")


def _fail(key: str, problem: str) -> None:
    raise ConfigError(f"config key 'scaling.{key}': {problem}")


def known_models(config: dict) -> list[str]:
    """Every model name the workflow can make: <scale>-<stage> for the stages each scale has."""
    from sahlab.config import available_models

    return available_models(config)


def train_split_sizes(config: dict) -> dict[str, int | None]:
    """Training examples per task (None for a hub task without `limit`: the job checks)."""
    return split_sizes(config, "train")


def grid_tasks(config: dict) -> list[str]:
    """The tasks of the scaling grid (all configured tasks when `scaling.tasks` is null)."""
    sc = config["scaling"]
    return list(sc.get("tasks") or config["tasks"])


def max_new_tokens_for(config: dict, task: str) -> int:
    """Generation budget of the scaling evaluations for `task`: scaling.max_new_tokens (an
    integer, or a mapping task -> integer) else evaluation.max_new_tokens."""
    value = config["scaling"].get("max_new_tokens")
    if isinstance(value, dict):
        value = value.get(task)
    return int(value if value is not None else config["evaluation"]["max_new_tokens"])


def grid_for(config: dict, task: str) -> list[int]:
    """The N grid of `task`: scaling.N without the values larger than the task's training split
    (multihop has 300 rows where the other embedded tasks have 4,096), sorted."""
    size = train_split_sizes(config).get(task)
    return sorted(n for n in config["scaling"]["N"] if size is None or n <= size)


def steps_for(
    n: int, batch_size: int, epochs: float, min_steps: int = 0, max_steps: int | None = None
) -> int:
    """Optimizer steps for N examples: `epochs` passes over the N examples in batches of at most
    `batch_size` (N < batch_size: one batch of N per epoch, so a small N is still seen `epochs`
    times), raised to `min_steps` (0 = no floor) and cut to `max_steps` (None = no cap). 0 for
    N = 0. `schedule_bound` says where the floor or the cap changes this count."""
    if n == 0:
        return 0
    steps = max(int(min_steps), math.ceil(epochs * math.ceil(n / batch_size)))
    return min(steps, int(max_steps)) if max_steps else steps


def schedule_bound(
    n: int, batch_size: int, epochs: float, min_steps: int = 0, max_steps: int | None = None
) -> str | None:
    """'floor' if min_steps raises N's step count, 'cap' if max_steps cuts it, else None (the
    figure marks these points: their N is not trained for the configured number of epochs)."""
    if n == 0:
        return None
    free = math.ceil(epochs * math.ceil(n / batch_size))
    if min_steps and free < min_steps:
        return "floor"
    if max_steps and free > max_steps:
        return "cap"
    return None


def schedule_for(config: dict, task: str) -> dict[str, Any]:
    """{epochs, min_steps, max_steps} of `task`: scaling.epochs / min_steps / max_steps, with
    the keys `scaling.schedule.<task>` sets replacing them (a task that needs more optimizer
    steps than the others, e.g. coding, gets its own schedule without raising everyone's cost)."""
    sc = config["scaling"]
    base = {"epochs": sc["epochs"], "min_steps": sc.get("min_steps", 0), "max_steps": sc.get("max_steps")}
    return {**base, **((sc.get("schedule") or {}).get(task) or {})}


def schedule_bounds(config: dict) -> dict[str, dict[int, str]]:
    """{task: {N: "floor" | "cap"}} for the grid's N whose step count the task's min_steps /
    max_steps change (`schedule_bound` at the configured SFT batch size)."""
    from sahlab.train.common import resolve_hparams

    sc = config["scaling"]
    batch = resolve_hparams("sft", dict(sc.get("hparams") or {}))["batch_size"]
    out: dict[str, dict[int, str]] = {}
    for task in grid_tasks(config):
        sched = schedule_for(config, task)
        for n in grid_for(config, task):
            kind = schedule_bound(n, batch, sched["epochs"], sched["min_steps"], sched["max_steps"])
            if kind:
                out.setdefault(task, {})[int(n)] = kind
    return out


def check_scaling_config(config: dict) -> None:
    """Cross-field checks of `config["scaling"]`; types and ranges are the schema's, checked
    here too so a direct call (tests, notebooks) gets the same errors as the workflow."""
    if config.get("scaling") is None:
        return
    sc = validate_section("scaling", config["scaling"])  # types and ranges (for a direct call)
    models = known_models(config)
    _check_models(sc.get("models"), models, "models")
    tasks = sc.get("tasks")
    if tasks is not None:
        unknown = [t for t in tasks if t not in config["tasks"]]
        if unknown:
            _fail("tasks", f"unknown task(s) {unknown}; allowed: {list(config['tasks'])}")
    grid = sc["N"]
    positive = sorted(n for n in grid if n > 0)
    need = 3 + int(sc.get("heldout", 1))
    if len(positive) < need:
        _fail(
            "N",
            f"needs at least {need} distinct N >= 1 (3 to fit a, b, c plus "
            f"{sc.get('heldout', 1)} held out), got {positive}",
        )
    sizes = train_split_sizes(config)
    for task in grid_tasks(config):
        kept = [n for n in grid_for(config, task) if n > 0]
        if len(kept) < need:
            _fail(
                "N",
                f"task {task!r} has {sizes.get(task)} training examples, which leaves "
                f"N = {kept} of {sorted(grid)} (larger N are dropped per task); need at least {need} "
                f"(see world.tasks.{task}.train or the hub 'limit')",
            )
    mnt = sc.get("max_new_tokens")
    if isinstance(mnt, dict):
        unknown = [t for t in mnt if t not in config["tasks"]]
        if unknown:
            _fail("max_new_tokens", f"unknown task(s) {unknown}; allowed: {list(config['tasks'])}")
    hp = dict(sc.get("hparams") or {})
    owned = [k for k in SCHEDULE_OWNED if k in hp]
    if owned:
        _fail(
            "hparams",
            f"{owned} are set per N from scaling.epochs / min_steps / max_steps; remove them from hparams",
        )
    _check_hparams(hp, "hparams")
    own, grid = sc.get("schedule") or {}, grid_tasks(config)
    unknown = [t for t in own if t not in grid]
    if unknown:
        _fail("schedule", f"unknown task(s) {unknown}; allowed: the grid's tasks {grid}")
    for task in grid:
        sched = schedule_for(config, task)
        mx, mn = sched["max_steps"], sched["min_steps"]
        if mx is not None and mx < mn:
            _fail(
                f"schedule.{task}" if task in own else "max_steps",
                f"max_steps ({mx}) must not be below min_steps ({mn})",
            )
    nk = sc.get("newknowledge")
    if nk:
        _check_models(nk.get("models"), models, "newknowledge.models")
        for key in ("bios", "qa"):
            _check_hparams(dict(nk.get(key) or {}), f"newknowledge.{key}")
        if "prompt_format" in (nk.get("qa") or {}) or "prompt_format" in (nk.get("bios") or {}):
            _fail(
                "newknowledge",
                "prompt_format is fixed by the design (bios: plain text; QA: "
                "the model's own format); remove it",
            )
        multihop = sizes.get("multihop")
        if nk.get("n_qa", 0) and "multihop" not in config["tasks"]:
            _fail(
                "newknowledge.n_qa",
                "QA examples about old people come from the multihop task, "
                "which is not configured; set n_qa: 0",
            )
        if multihop is not None and nk.get("n_qa", 0) > multihop:
            _fail("newknowledge.n_qa", f"({nk['n_qa']}) exceeds the multihop training split ({multihop})")
        _check_new_arm(nk)


def _check_new_arm(nk: dict) -> None:
    """The paper's arm swaps n_qa_new of the n_qa old-people QA rows for new-people ones."""
    k = nk.get("n_qa_new", 0)
    if not k:
        return
    if k > nk.get("n_qa", 0):
        _fail(
            "newknowledge.n_qa_new",
            f"({k}) swaps direct questions into the n_qa old-people "
            f"QA rows, so it must not exceed n_qa ({nk.get('n_qa', 0)})",
        )


def _check_models(names: Any, allowed: list[str], key: str) -> None:
    unknown = [m for m in names if m not in allowed]
    if unknown:
        _fail(key, f"unknown model(s) {unknown}; allowed: {allowed}")


def _check_hparams(hp: dict, key: str) -> None:
    from sahlab.train.common import resolve_hparams

    try:
        resolve_hparams("sft", hp)
    except ValueError as e:
        _fail(key, str(e))

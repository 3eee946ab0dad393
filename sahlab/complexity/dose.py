"""Study B beyond the paper: the collapse's dose–response and its information ceiling.

Each scale is post-trained with several sizes of post-training data (the first n examples of
every task's train split, the same stages as the main `posttrain`); per arm and task, the
post-trained model's programs (`strategies` of study B, no training: prompt, ICL, optionally
the online code) are set against the pre-trained model's, at the paper's headline δ = the
pre-trained model's best performance (`summary.headline_rows`).

The ceiling: a pre-trained model can always be sent the post-training data D_post as a data
program (decode D_post, run the post-training recipe, then the post-trained model's program),
so C_pre(δ) <= C_post(δ) + L(D_post | base) + the recipe's code. The bits a post-trained model
saves, C_pre − C_post, are therefore bounded by L(D_post | base), measured here with the
same single-pass online code the data-as-program strategy uses (`programs/online.py`, one AdamW
step per example at `complexity.online_lr`) over the post-training mixture in round-robin task
order, so one pass prices every arm: arm n is the first n rounds.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sahlab.config import ConfigError
from sahlab.schema import section_defaults, validate_section

log = logging.getLogger("sahlab.complexity.dose")

# Defaults, types and ranges: config/schema.yaml (`dose`); the checks here relate it to the rest.
# The arms' programs (`strategies`) are those needing no training (LoRA / full fine-tuning would
# train 2 × 4 models per arm and task; the prompt programs are where the post-trained models'
# complexity lies).
DEFAULTS: dict[str, Any] = section_defaults("dose")


def _fail(key: str, problem: str) -> None:
    raise ConfigError(f"config key 'dose.{key}': {problem}")


def check_dose_config(config: dict) -> dict:
    """The `dose` section with defaults filled, checked against the rest of the config.

    Returns {"sizes", "scales", "tasks", "strategies", "new_sizes" (arms trained here),
    "default_size" (posttrain.n_per_task: that arm is the main <scale>-post model)}."""
    from sahlab.complexity.config import settings
    from sahlab.config import model_names, scale_stages

    if config.get("complexity") is None:
        raise ConfigError(
            "config key 'dose': needs the 'complexity' section (study B): the "
            "collapse is measured against the pre-trained model's programs"
        )
    s = validate_section("dose", config.get("dose"))
    cx = settings(config)
    s["sizes"] = sorted(s["sizes"])
    posted = [sc for sc in model_names(config)["built_post"] if "base" in scale_stages(config)[sc]]
    if s["scales"] is None:
        s["scales"] = posted
    for sc in s["scales"]:
        if sc not in posted:
            _fail(
                "scales",
                f"{sc!r} is not a scale with a base model post-trained by the pipeline; allowed: {posted}",
            )
    if s["tasks"] is None:
        s["tasks"] = list(cx["tasks"])
    for t in s["tasks"]:
        if t not in cx["tasks"]:
            _fail("tasks", f"{t!r} is not one of complexity.tasks {cx['tasks']}")
    default = config["posttrain"]["n_per_task"]
    for sc in s["scales"]:
        need = [f"{sc}-base"] + ([f"{sc}-post"] if default in s["sizes"] else [])
        for m in need:
            if m not in cx["models"]:
                _fail(
                    "scales",
                    f"{sc!r} needs {m!r} in complexity.models (the arm of size "
                    f"posttrain.n_per_task = {default} is the main post-trained model)",
                )
    s["default_size"] = default
    s["new_sizes"] = [n for n in s["sizes"] if n != default]
    return s


# ----------------------------------------------------------------------------- the ceiling
def round_robin(per_task: Mapping[str, Sequence[Any]], n: int) -> list[tuple[int, str, Any]]:
    """(round, task, row) of the first n rows of every task, interleaved one per task a round:
    the first k rounds are exactly the first k rows of each task (a task with fewer rows than k
    has all of them), so the arms' mixtures are nested prefixes of one sequence."""
    out = []
    for i in range(n):
        out += [(i, task, rows[i]) for task, rows in per_task.items() if i < len(rows)]
    return out


def arm_ceilings(
    order: Sequence[tuple[int, str, Any]], bits: Sequence[float], sizes: Sequence[int]
) -> list[dict[str, Any]]:
    """Per arm size n: the code length of its mixture (the rows of rounds < n) and each task's
    share; `bits[i]` is the online code length of order[i]."""
    if len(order) != len(bits):
        raise ValueError(f"arm_ceilings: {len(order)} rows but {len(bits)} code lengths")
    arms = []
    for n in sorted(sizes):
        tasks: dict[str, dict] = {}
        for (i, task, _), b in zip(order, bits):
            if i < n:
                t = tasks.setdefault(task, {"n": 0, "bits": 0.0})
                t["n"] += 1
                t["bits"] += b
        arms.append(
            {
                "n_per_task": n,
                "n_examples": sum(t["n"] for t in tasks.values()),
                "bits": sum(t["bits"] for t in tasks.values()),
                "tasks": tasks,
            }
        )
    return arms


def measure_ceiling(
    model_dir, per_task: Mapping[str, Sequence[dict]], sizes: Sequence[int], lr: float
) -> dict[str, Any]:
    """L(D_post | base) of every arm: one single-pass online code (`programs/online.py`) of the
    largest arm's mixture in round-robin order under the base model; each text is a training
    example as the base model reads it (`strategies.online_texts`: prompt in its format, answer,
    EOS), as in the data-as-program strategy."""
    from tqdm import tqdm

    from sahlab.complexity.programs.online import online
    from sahlab.complexity.strategies import online_texts
    from sahlab.models.registry import load_model, load_tokenizer, read_model_meta

    if not sizes:
        raise ValueError("measure_ceiling: no arm sizes")
    fmt = read_model_meta(model_dir)["prompt_format"]
    model, tok = load_model(model_dir, dtype="float32"), load_tokenizer(model_dir)
    order = round_robin(per_task, max(sizes))
    texts = [online_texts(SimpleNamespace(tok=tok, fmt=fmt, task=task), [row])[0] for _, task, row in order]
    bits: list[float] = []
    bar = tqdm(total=len(texts), desc="online code of D_post", mininterval=10)
    t0 = time.perf_counter()
    online(model, tok, texts, lr, bits=bits, every=lambda i: bar.update(1))
    bar.close()
    return {
        "model": Path(model_dir).name,
        "lr": lr,
        "prompt_format": fmt,
        "tasks": list(per_task),
        "arms": arm_ceilings(order, bits, sizes),
        "per_example": [{"round": i, "task": t, "bits": b} for (i, t, _), b in zip(order, bits)],
        "seconds": round(time.perf_counter() - t0, 2),
    }


# ----------------------------------------------------------------------------- the arms' programs
def arm_points(
    model_dir,
    task: str,
    train_rows: list[dict],
    test_rows: list[dict],
    opts: dict,
    seed: int,
    strategies: Sequence[str],
    *,
    threads: int = 1,
) -> dict[str, Any]:
    """The programs of `strategies` for one post-trained arm on one task, as in
    `strategies.run_complexity` (same selection/evaluation split, seeds and bootstrap: the
    programs chosen on the selection split are scored on the evaluation split), without
    training. Returns the points.json fields of `run_complexity`, "timings" apart."""
    from sahlab.complexity.strategies import _Job, check_chosen, run_baseline_icl, run_online

    with tempfile.TemporaryDirectory(prefix="sahlab-dose-") as tmp:
        job = _Job(model_dir, task, train_rows, test_rows, opts, seed, tmp, threads)
        t0 = time.perf_counter()
        if "icl" in strategies:
            points, skipped = run_baseline_icl(job)
            points = [p for p in points if p["strategy"] in strategies]
        else:
            points, skipped = [job.point("baseline", "prompt", 0.0, lambda: (job.base, (), ""))], []
        if "online" in strategies:
            points += run_online(job)[0]
        check_chosen(job, points)
    job.timings.append({"what": "total", "seconds": round(time.perf_counter() - t0, 2)})
    return job.result(points, skipped)


# ----------------------------------------------------------------------------- the table
COLUMNS = (
    "scale",
    "task",
    "metric",
    "n_per_task",
    "main_arm",
    "n_task_examples",
    "ceiling_bits",
    "ceiling_task_bits",
    "delta",
    "pre_bits",
    "pre_bits_ci_low",
    "pre_bits_ci_high",
    "pre_program",
    "pre_performance_eval",
    "post_zero_shot",
    "post_zero_shot_eval",
    "post_bits",
    "post_bits_ci_low",
    "post_bits_ci_high",
    "post_program",
    "post_performance_eval",
    "reduction",
    "reduction_ci_low",
    "reduction_ci_high",
    "saved_bits",
    "saved_bits_ci_low",
    "saved_bits_ci_high",
    "saved_over_ceiling",
    "n_boot",
)


def _saved(pre: float, post: float) -> float:
    """C_pre − C_post; nan when neither reaches δ, −inf when only the post-trained model misses."""
    if math.isinf(pre) and math.isinf(post):
        return math.nan
    return pre - post


def dose_rows(
    base: Sequence[dict],
    arms: Mapping[tuple[str, int], Sequence[dict]],
    ceilings: Mapping[str, dict],
    strategies: Sequence[str],
    main_size: int | None = None,
) -> list[dict[str, Any]]:
    """One row per scale × task × arm: the headline δ = the pre-trained model's best performance
    and the bits each model needs for it (`summary.headline_rows`, with its paired-bootstrap CIs),
    the bits saved C_pre − C_post (CI on the same resamples) and the ceiling L(D_post | base).

    base: the pre-trained models' complexity results (points.json of every strategy);
    arms: (scale, n_per_task) -> the arm's per-task results (only `strategies` are used, so an
    arm reused from the main study counts the same programs as the others);
    ceilings: scale -> `measure_ceiling` result."""
    from sahlab.complexity.summary import (
        _cheapest_bits,
        eval_points,
        headline_rows,
        n_resamples,
        percentile_ci,
        split_model,
    )

    base_by = {(split_model(r["model"])[0], r["task"]): r for r in base}
    rows = []
    for (scale, n), results in sorted(arms.items()):
        ceil = {a["n_per_task"]: a for a in ceilings[scale]["arms"]}
        if n not in ceil:
            raise ValueError(f"dose table: no ceiling for {scale} arm n_per_task={n}")
        for res in sorted(results, key=lambda r: r["task"]):
            task = res["task"]
            if (scale, task) not in base_by:
                raise ValueError(f"dose table: no pre-trained result for {scale} / {task}")
            pre_res = base_by[(scale, task)]
            post = [p for p in res["points"] if p["strategy"] in strategies]
            post_res = {**res, "model": f"{scale}-post", "points": post}
            head = next(h for h in headline_rows([pre_res, post_res]) if h["target"] == "pre_best")
            # the bits saved on the same resamples as headline_rows: the evaluation split, δ_b the
            # evaluation score of the program best on the selection split (not a max over noise)
            pre_pts, post_pts = eval_points(pre_res["points"]), eval_points(post)
            nb = n_resamples(pre_pts, post_pts) if pre_pts and post_pts else 0
            boot = []
            if nb:
                best = max(pre_pts, key=lambda p: (p["performance_select"], -p["bits"]))
                for b in range(nb):
                    d_b = best["boot"][b]
                    boot.append(_saved(_cheapest_bits(pre_pts, d_b, b), _cheapest_bits(post_pts, d_b, b)))
            lo, hi = percentile_ci(boot) if nb else (math.nan, math.nan)
            zero = next(p for p in post if p["strategy"] == "baseline")
            saved = _saved(head["pre_bits"], head["post_bits"])
            share = ceil[n]["tasks"].get(task, {"n": 0, "bits": 0.0})
            rows.append(
                {
                    **{k: head[k] for k in head if k in COLUMNS},
                    "n_per_task": n,
                    "main_arm": n == main_size,
                    "n_task_examples": share["n"],
                    "ceiling_bits": ceil[n]["bits"],
                    "ceiling_task_bits": share["bits"],
                    "post_zero_shot": zero["performance"],
                    "post_zero_shot_eval": zero.get("performance_eval"),
                    "saved_bits": saved,
                    "saved_bits_ci_low": lo,
                    "saved_bits_ci_high": hi,
                    "saved_over_ceiling": saved / ceil[n]["bits"]
                    if math.isfinite(saved) and ceil[n]["bits"] > 0
                    else math.nan,
                }
            )
    return rows


def _kb(bits: float) -> str:
    if math.isnan(bits):
        return "n/a"
    if math.isinf(bits):
        return "unreached" if bits > 0 else "−∞ (post unreached)"
    return f"{bits / 8 / 1000:,.2f} KB"


def dose_markdown(rows: Sequence[dict]) -> str:
    """The dose–response table as markdown (bits in KB = 8,000 bits)."""
    from sahlab.complexity.summary import _fmt_ratio
    from sahlab.mdtable import pipe_table

    def ci(lo, hi, fmt):
        return "" if lo is None or (isinstance(lo, float) and math.isnan(lo)) else f" [{fmt(lo)}, {fmt(hi)}]"

    columns = (
        "scale",
        "task",
        "post-training n / task",
        "L(D_post \\| base): mixture (task share)",
        "δ = pre-trained best",
        "pre-trained bits (program)",
        "post zero-shot",
        "post-trained bits [95 % CI] (program)",
        "reduction [95 % CI]",
        "bits saved [95 % CI]",
        "saved / ceiling",
    )
    cells = []
    for r in rows:
        frac = r["saved_over_ceiling"]
        cells.append(
            [
                r["scale"],
                f"{r['task']} ({r['metric']})",
                f"{r['n_per_task']}{' (main post)' if r['main_arm'] else ''}",
                f"{_kb(r['ceiling_bits'])} ({_kb(r['ceiling_task_bits'])})",
                f"{r['delta']:.3g}",
                f"{_kb(r['pre_bits'])} ({r['pre_program']})",
                f"{r['post_zero_shot']:.3g}",
                f"{_kb(r['post_bits'])}{ci(r['post_bits_ci_low'], r['post_bits_ci_high'], _kb)} ({r['post_program']})",
                f"{_fmt_ratio(r['reduction'])}{ci(r['reduction_ci_low'], r['reduction_ci_high'], _fmt_ratio)}",
                f"{_kb(r['saved_bits'])}{ci(r['saved_bits_ci_low'], r['saved_bits_ci_high'], _kb)}",
                "n/a" if math.isnan(frac) or math.isinf(frac) else f"{frac:.3g}",
            ]
        )
    return pipe_table(columns, cells)


def write_dose_tables(rows: Sequence[dict], out_csv, out_md) -> None:
    from sahlab.complexity.summary import write_csv
    from sahlab.io import atomic_path

    write_csv(out_csv, rows, COLUMNS)
    with atomic_path(out_md) as tmp:
        Path(tmp).write_text(
            "The collapse's dose–response (study B, beyond the paper). Per scale, task and size of "
            "the post-training data (examples per task): δ = the pre-trained model's best "
            "performance (the paper's headline), the shortest pre-trained program reaching it, the "
            "post-trained arm's shortest program (prompt programs only), the reduction factor and "
            "the bits saved C_pre − C_post, against the ceiling L(D_post | base): the single-pass "
            "online code length of the whole post-training mixture under the base model (in "
            "brackets: this task's share). A pre-trained model can always be sent D_post, so the "
            "bits saved cannot exceed the ceiling (up to the post-training recipe's code) unless "
            "the pre-trained search missed shorter programs. Bits and δ are read on the evaluation "
            "split among the programs chosen on the selection split ('post zero-shot': the "
            "selection-split score); 95 % CIs: paired bootstrap of the evaluation split, δ "
            "re-read in each resample.\n\n" + dose_markdown(rows)
        )

"""The loop over N for one (model, task, seed): SFT on N training examples, evaluate on the test
split, keep one record per (N, test example).

Each seed draws its own random order of the training split and takes nested prefixes of it
(`seed_order`), so the seeds' spread includes the sampling variance of which N examples are seen,
which dominates at small N. N = 0 is "prompt only": the unchanged model evaluated in the same
prompt format as the fine-tuned ones (the training format, chat by default), so every point of a
curve sees the same prompt text. The model's own harness evaluation (the native layout for a base
model) is the other zero-shot reference; the figure shows it beside N = 0.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from pathlib import Path

from sahlab.io import work_dir
from sahlab.scaling.config import schedule_bound, steps_for
from sahlab.train.common import resolve_hparams

log = logging.getLogger("sahlab.scaling")
RECORD_FIELDS = ("N", "seed", "example_id", "correct", "format_ok", "error_kind", "output", "task_output")


def seed_order(rows: list[dict], seed: int) -> list[dict]:
    """The training rows in the seed's own random order (prefixes of it are nested subsets)."""
    return random.Random(f"scaling-subsets:{seed}").sample(list(rows), len(rows))


def run_scaling(
    model_dir: str | Path,
    task: str,
    train_rows: list[dict],
    test_rows: list[dict],
    grid: list[int],
    seed: int,
    *,
    hparams: dict,
    epochs: float,
    min_steps: int,
    max_steps: int | None,
    max_new_tokens: int,
    batch_size: int,
    threads: int = 1,
    work_root: str | None = None,
) -> tuple[list[dict], list[dict], list[dict]]:
    """Fine-tune `model_dir` on the first N rows of the seed's order of `train_rows`
    (`seed_order`) for every N in `grid` and evaluate each model.

    hparams: train() SFT hyper-parameters except epochs/max_steps, which the schedule sets
    (`steps_for`: epochs over N at the batch size, clipped to [min_steps, max_steps]).
    Returns (records, summary, timing): records hold RECORD_FIELDS per (N, test example);
    summary holds one dict per N (steps, training loss, metrics: the same on a rerun); timing
    holds the wall-clock seconds of training and evaluation per N, kept apart so that a rerun
    leaves the files downstream rules read byte-identical.
    Raises ValueError if N exceeds the training split or the grid is empty.
    """
    from tqdm import tqdm

    from sahlab.eval.policy import ModelPolicy
    from sahlab.eval.run import evaluate_policy
    from sahlab.models.registry import load_model
    from sahlab.train import train

    grid = sorted(int(n) for n in grid)
    if not grid:
        raise ValueError("run_scaling: the N grid is empty")
    if grid[0] < 0 or grid[-1] > len(train_rows):
        raise ValueError(
            f"run_scaling: N must lie in [0, {len(train_rows)}] (the size of the "
            f"{task} training split), got {grid}"
        )
    if not test_rows:
        raise ValueError(f"run_scaling: no test examples for {task}")
    train_rows = seed_order(train_rows, seed)
    hp = resolve_hparams("sft", hparams)  # defaults filled: the batch size and prompt format used
    prompt_format, batch = hp["prompt_format"], hp["batch_size"]
    records, summary, timing = [], [], []
    # Scratch models beside the job's output (`work_root`): a killed job's go at the next start.
    with (
        work_dir(work_root, "scaling-work")
        if work_root
        else tempfile.TemporaryDirectory(prefix="sahlab-scaling-")
    ) as work:
        for n in tqdm(grid, desc=f"{task} N grid", mininterval=5):
            steps = steps_for(n, batch, epochs, min_steps, max_steps)
            info = {
                "N": n,
                "seed": seed,
                "steps": steps,
                "bound": schedule_bound(n, batch, epochs, min_steps, max_steps),
            }
            clock = {"N": n, "seed": seed}
            if n == 0:
                model = load_model(model_dir)
            else:
                out = Path(work) / f"N{n}"
                s = train(
                    model_dir,
                    train_rows[:n],
                    "sft",
                    {**hparams, "max_steps": steps},
                    seed,
                    out,
                    threads=threads,
                    stage="post",
                )
                clock["train_seconds"] = s["seconds"]
                info.update(
                    train_loss=s["train_loss"], loss_first=s.get("loss_first"), loss_last=s.get("loss_last")
                )
                model = load_model(out)
            t0 = time.perf_counter()
            recs, metrics = evaluate_policy(
                ModelPolicy(model),
                prompt_format,
                {task: test_rows},
                max_new_tokens=max_new_tokens,
                batch_size=batch_size,
                n_boot=0,
                seed=seed,
            )[task]
            clock["eval_seconds"] = round(time.perf_counter() - t0, 3)
            timing.append(clock)
            info["metrics"] = {k: float(v["value"]) for k, v in metrics.items()}
            summary.append(info)
            log.info("%s N=%d seed=%d: %d steps, %s", task, n, seed, steps, info["metrics"])
            records += [
                {
                    "N": n,
                    "seed": seed,
                    "example_id": r["id"],
                    "correct": float(r["correct"]),
                    "format_ok": bool(r["format_ok"]),
                    "error_kind": r["error_kind"],
                    "output": r["output"],
                    "task_output": r["task_output"],
                }
                for r in recs
            ]
            del model
    return records, summary, timing

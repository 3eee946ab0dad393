"""Evaluate one decoding policy (a model, or a combination of models) on task test splits."""

from __future__ import annotations

import logging
import time

from sahlab.eval.scorers import score

log = logging.getLogger("sahlab.eval")


def evaluate_policy(
    policy,
    prompt_format: str,
    tasks: dict[str, list[dict]],
    *,
    max_new_tokens: int,
    batch_size: int,
    n_boot: int,
    seed: int,
    temperature: float = 0.0,
) -> dict[str, tuple[list[dict], dict]]:
    """Generate for every task's examples and score them; returns task -> (records, metrics).

    Prompts are rendered in `prompt_format` (native: the task's layout in the model's pre-training
    text), generation stops where that format ends an answer, and outputs are read back into the
    task's form before the task's scorer sees them (`sahlab.models.prompting`). Records hold the
    prompt, the raw output, the reference and the scorer's per-example fields."""
    from sahlab.eval.generate import generate, render_prompts
    from sahlab.models.prompting import stop_strings, to_task_form

    tok = policy.tokenizer
    results = {}
    for task, examples in tasks.items():
        t0 = time.time()
        prompts = render_prompts(tok, examples, prompt_format, task)
        raw = generate(
            policy,
            prompts,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            stop_strings=stop_strings(tok, prompt_format, task),
            temperature=temperature,
            seed=seed,
        )
        outputs = to_task_form(tok, raw, prompt_format, task)
        records, metrics = score(task, outputs, examples, seed=seed, n_boot=n_boot)
        for rec, ex, out, ans in zip(records, examples, raw, outputs):
            rec.update(
                id=ex["id"],
                prompt=ex["prompt"],
                output=out,
                task_output=ans,
                reference=ex["reference"],
                prompt_format=prompt_format,
            )
        results[task] = (records, metrics)
        log.info(
            "%s: %d examples in %.1f s; %s",
            task,
            len(examples),
            time.time() - t0,
            ", ".join(f"{k}={v['value']:.3f}" for k, v in metrics.items()),
        )
    return results

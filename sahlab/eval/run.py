"""Evaluate one decoding policy (a model, or a combination of models) on task test splits."""
from __future__ import annotations

import logging
import time

from sahlab.eval.scorers import score

log = logging.getLogger("sahlab.eval")

# Where an answer ends, per task, in plain (base-model) prompting: the model would otherwise
# ramble on into the next corpus document. Chat models stop at <|eos|>.
STOP_STRINGS = {
    "math": ["\n\n"],
    "translation": ["\n"],
    "instructions": ["\n\n\n"],
    "multihop": ["\n"],
    "newknowledge": ["\n"],
}


def evaluate_policy(policy, prompt_format: str, tasks: dict[str, list[dict]], *,
                    max_new_tokens: int, batch_size: int, n_boot: int, seed: int,
                    temperature: float = 0.0) -> dict[str, tuple[list[dict], dict]]:
    """Generate for every task's examples and score them; returns task -> (records, metrics).

    Records hold the prompt, output, reference and the scorer's per-example fields."""
    from sahlab.eval.generate import generate, render_prompts
    from sahlab.models.prompting import answer_prefix, strip_answer_prefix

    lead = answer_prefix(policy.tokenizer, prompt_format)
    results = {}
    for task, examples in tasks.items():
        t0 = time.time()
        prompts = render_prompts(policy.tokenizer, [ex["prompt"] for ex in examples], prompt_format)
        stops = STOP_STRINGS.get(task, []) if prompt_format == "plain" else []
        outputs = generate(policy, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size,
                           stop_strings=stops, temperature=temperature, seed=seed)
        outputs = [strip_answer_prefix(o, lead) for o in outputs]
        records, metrics = score(task, outputs, examples, seed=seed, n_boot=n_boot)
        for rec, ex, out in zip(records, examples, outputs):
            rec.update(id=ex["id"], prompt=ex["prompt"], output=out, reference=ex["reference"])
        results[task] = (records, metrics)
        log.info("%s: %d examples in %.1f s; %s", task, len(examples), time.time() - t0,
                 ", ".join(f"{k}={v['value']:.3f}" for k, v in metrics.items()))
    return results

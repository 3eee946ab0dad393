"""Study B's evaluation side: the task's prompts rendered for a program, answered greedily and
scored with the task's scorer (the harness, given to every program like the test prompts).

The receiver scripts themselves (what a program's code bits count) are in
`sahlab.complexity.programs`; ICL demonstrations are rendered here so that the payload text
(`icl_prefix`) is exactly what precedes every query.
"""
from __future__ import annotations

import time
from collections.abc import Sequence

# ----------------------------------------------------------------------------- prompts (ICL)
def icl_prefix(tokenizer, demos: Sequence[dict], task: str, prompt_format: str) -> str:
    """The rendered demonstrations alone (document start included): the ICL payload as the
    model reads it.

    native: the document start, then per demonstration its layout prompt + layout answer + the
    layout's item separator, as consecutive items of one corpus document;
    chat: the demonstrations as earlier user/assistant turns of the chat template.
    """
    return render_icl_prompts(tokenizer, demos, [None], task, prompt_format)[0]


def render_icl_prompts(tokenizer, demos: Sequence[dict], prompts: Sequence[dict | None], task: str,
                       prompt_format: str) -> list[str]:
    """Every test row (or None) rendered after the same k demonstrations (k = 0 gives the
    model's own zero-shot prompt, exactly as the evaluation harness renders it).

    A prompt of None renders the demonstrations only (`icl_prefix`); every full rendering starts
    with exactly that prefix.
    """
    from sahlab.models.prompting import default_layouts, document_start, format_prompt

    out = []
    for prompt in prompts:
        if prompt_format == "native":
            layout = default_layouts(tokenizer)[task]
            text = document_start(tokenizer) + "".join(
                layout.prompt(d) + layout.answer(d) + layout.sep for d in demos)
            out.append(text if prompt is None else text + layout.prompt(prompt))
        elif prompt_format == "chat":
            msgs = [m for d in demos for m in ({"role": "user", "content": d["prompt"]},
                                                {"role": "assistant", "content": d["reference"]})]
            if prompt is None:  # the demonstration turns alone (just BOS when there are none)
                out.append(tokenizer.apply_chat_template(msgs, tokenize=False) if msgs
                           else tokenizer.bos_token or "")
            elif msgs:
                msgs = msgs + [{"role": "user", "content": prompt["prompt"]}]
                out.append(tokenizer.apply_chat_template(msgs, tokenize=False,
                                                         add_generation_prompt=True))
            else:
                out.append(format_prompt(tokenizer, prompt, "chat", task))
        else:
            raise ValueError(f"unknown prompt_format {prompt_format!r}; allowed: ['chat', 'native']")
    return out


# ----------------------------------------------------------------------------- answering
def answer(model, tokenizer, rendered: Sequence[str], task: str, prompt_format: str, *,
           max_new_tokens: int, batch_size: int, seed: int) -> list[str]:
    """Greedy answers of the program's policy to already-rendered prompts."""
    from sahlab.eval.generate import generate
    from sahlab.eval.policy import ModelPolicy
    from sahlab.models.prompting import stop_strings, to_task_form

    outs = generate(ModelPolicy(model, tokenizer), list(rendered), max_new_tokens=max_new_tokens,
                    batch_size=batch_size, stop_strings=stop_strings(tokenizer, prompt_format, task),
                    seed=seed, progress=False)
    return to_task_form(tokenizer, outs, prompt_format, task)


def run_program(model, tokenizer, task: str, tests: Sequence[dict], prompt_format: str, *,
                demos: Sequence[dict] = (), max_new_tokens: int, batch_size: int,
                seed: int, metric: str | None = None, n_select: int | None = None,
                n_boot: int = 0) -> dict:
    """Answer the test prompts (after `demos`, if any) and score them with the task's scorer.

    The first `n_select` tests (default all) are the selection split: "performance" (`metric`,
    default the task's main metric), "format" and "boot" (`metric` on `n_boot` paired bootstrap
    resamples of it) come from it; the rest is the disjoint evaluation split
    ("performance_eval"), on which a program chosen by its selection performance is checked.
    """
    from sahlab.eval.scorers import MAIN_METRIC, resampled, score

    t0 = time.perf_counter()
    model.eval()
    metric = metric or MAIN_METRIC[task]
    rendered = render_icl_prompts(tokenizer, demos, list(tests), task, prompt_format)
    outputs = answer(model, tokenizer, rendered, task, prompt_format,
                     max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed)
    k = len(tests) if n_select is None else n_select
    sel, ev = (outputs[:k], list(tests[:k])), (outputs[k:], list(tests[k:]))
    _, metrics = score(task, *sel, seed=seed, n_boot=0)
    values = {m: float(v["value"]) for m, v in metrics.items()}
    _, boot = resampled(task, metric, *sel, n_boot=n_boot, seed=seed)
    held = float(score(task, *ev, n_boot=0)[1][metric]["value"]) if ev[0] else None
    return {"performance": values[metric], "format": values.get("format"), "metrics": values,
            "performance_eval": held, "boot": [round(float(b), 6) for b in boot],
            "seconds": round(time.perf_counter() - t0, 3)}

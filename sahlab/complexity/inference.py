"""Study B's evaluation side: the task's prompts rendered for a program, answered greedily and
scored with the task's scorer (the harness, given to every program like the test prompts).

The receiver scripts themselves (what a program's code bits count) are in
`sahlab.complexity.programs`; ICL demonstrations are rendered here so that the payload text
(`icl_payload`: the demonstrations, after the format's own start) is exactly what precedes
every query.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

# ----------------------------------------------------------------------------- prompts (ICL)
_P, _R, _Q = "\x00p\x00", "\x00r\x00", "\x00q\x00"


def template_head(tokenizer) -> str:
    """What the chat template renders by itself before the first turn of any conversation (BOS,
    a default system prompt such as SmolLM2's "You are a helpful AI assistant..."): part of every
    prompt, the baseline's included, so part of the free language and never of a payload.

    Found from the template itself: the user-turn header is what a second user turn renders
    before its content, and the head is what precedes the first turn's header. A template whose
    turns cannot be told apart this way gets an empty head (everything is charged).
    """

    def render(msgs):
        return tokenizer.apply_chat_template(msgs, tokenize=False)

    one = render([{"role": "user", "content": _P}])
    t1 = render([{"role": "user", "content": _P}, {"role": "assistant", "content": _R}])
    t2 = render(
        [
            {"role": "user", "content": _P},
            {"role": "assistant", "content": _R},
            {"role": "user", "content": _Q},
        ]
    )
    if _P not in one or not t2.startswith(t1) or _Q not in t2[len(t1) :]:
        return ""
    header = t2[len(t1) : t2.index(_Q, len(t1))]
    before = one[: one.index(_P)]
    return before[: len(before) - len(header)] if before.endswith(header) else ""


def icl_prefix(tokenizer, demos: Sequence[dict], task: str, prompt_format: str, preamble: str = "") -> str:
    """The rendered demonstrations with what precedes them (the document start, or the chat
    template's head, then the URIAL `preamble` if any): the text every k-shot prompt starts with.

    native: the document start, then per demonstration its layout prompt + layout answer + the
    layout's item separator, as consecutive items of one corpus document;
    chat: the demonstrations as earlier user/assistant turns of the chat template.
    """
    return render_icl_prompts(tokenizer, demos, [None], task, prompt_format, preamble)[0]


def format_head(tokenizer, prompt_format: str) -> str:
    """What the format adds by itself before anything else (native: `document_start`; chat:
    `template_head`): free, like the baseline's prompt."""
    from sahlab.models.prompting import document_start

    return document_start(tokenizer) if prompt_format == "native" else template_head(tokenizer)


def icl_payload(
    tokenizer, demos: Sequence[dict], task: str, prompt_format: str, preamble: str = ""
) -> tuple[str, str]:
    """`icl_prefix` split into (context, payload): the context is what the format adds by itself
    (native: `document_start`; chat: `template_head`), free like the baseline's prompt; the
    payload is the demonstration text alone (URIAL: the preamble and the demonstrations), the
    program's bits (coded given the context).
    """
    prefix = icl_prefix(tokenizer, demos, task, prompt_format, preamble)
    head = format_head(tokenizer, prompt_format)
    if not prefix.startswith(head):
        raise ValueError(
            f"the {prompt_format} rendering of the demonstrations does not start with "
            f"the format's own prefix {head!r}; cannot separate the ICL payload"
        )
    return head, prefix[len(head) :]


def render_icl_prompts(
    tokenizer,
    demos: Sequence[dict],
    prompts: Sequence[dict | None],
    task: str,
    prompt_format: str,
    preamble: str = "",
) -> list[str]:
    """Every test row (or None) rendered after the same k demonstrations (k = 0 gives the
    model's own zero-shot prompt, exactly as the evaluation harness renders it).

    A prompt of None renders the demonstrations only (`icl_prefix`); every full rendering starts
    with exactly that prefix. A `preamble` (URIAL's task description) goes right after the
    format's own head (`format_head`), before the demonstrations.
    """
    if preamble:
        head = format_head(tokenizer, prompt_format)
        out = render_icl_prompts(tokenizer, demos, prompts, task, prompt_format)
        if not all(t.startswith(head) for t in out):
            raise ValueError(
                f"the {prompt_format} prompts do not start with the format's own "
                f"prefix {head!r}; cannot place the URIAL preamble after it"
            )
        return [head + preamble + t[len(head) :] for t in out]
    from sahlab.models.prompting import default_layouts, document_start, format_prompt

    out = []
    for prompt in prompts:
        if prompt_format == "native":
            layout = default_layouts(tokenizer)[task]
            text = document_start(tokenizer) + "".join(
                layout.prompt(d) + layout.answer(d) + layout.sep for d in demos
            )
            out.append(text if prompt is None else text + layout.prompt(prompt))
        elif prompt_format == "chat":
            msgs = [
                m
                for d in demos
                for m in (
                    {"role": "user", "content": d["prompt"]},
                    {"role": "assistant", "content": d["reference"]},
                )
            ]
            if prompt is None:  # the demonstration turns alone (the template's head if none)
                out.append(
                    tokenizer.apply_chat_template(msgs, tokenize=False) if msgs else template_head(tokenizer)
                )
            elif msgs:
                msgs = msgs + [{"role": "user", "content": prompt["prompt"]}]
                out.append(tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True))
            else:
                out.append(format_prompt(tokenizer, prompt, "chat", task))
        else:
            raise ValueError(f"unknown prompt_format {prompt_format!r}; allowed: ['chat', 'native']")
    return out


# ----------------------------------------------------------------------------- answering
def answer(
    model,
    tokenizer,
    rendered: Sequence[str],
    task: str,
    prompt_format: str,
    *,
    max_new_tokens: int,
    batch_size: int,
    seed: int,
) -> list[str]:
    """Greedy answers of the program's policy to already-rendered prompts."""
    from sahlab.eval.generate import generate
    from sahlab.eval.policy import ModelPolicy
    from sahlab.models.prompting import stop_strings, to_task_form

    outs = generate(
        ModelPolicy(model, tokenizer),
        list(rendered),
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        stop_strings=stop_strings(tokenizer, prompt_format, task),
        seed=seed,
        progress=False,
    )
    return to_task_form(tokenizer, outs, prompt_format, task)


def run_program(
    model,
    tokenizer,
    task: str,
    tests: Sequence[dict],
    prompt_format: str,
    *,
    demos: Sequence[dict] = (),
    preamble: str = "",
    max_new_tokens: int,
    batch_size: int,
    seed: int,
    metric: str | None = None,
    n_boot: int = 0,
) -> dict:
    """Answer the test prompts (after `preamble` and `demos`, if any) and score them with the
    task's scorer: "performance" (`metric`, default the task's main metric), "format", all
    "metrics", and "boot" (`metric` on `n_boot` paired bootstrap resamples of the tests: the
    same resamples for every program scored on the same tests)."""
    from sahlab.eval.scorers import MAIN_METRIC, resampled

    t0 = time.perf_counter()
    model.eval()
    metric = metric or MAIN_METRIC[task]
    rendered = render_icl_prompts(tokenizer, demos, list(tests), task, prompt_format, preamble)
    outputs = answer(
        model,
        tokenizer,
        rendered,
        task,
        prompt_format,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        seed=seed,
    )
    metrics, boot = resampled(task, metric, outputs, list(tests), n_boot=n_boot, seed=seed)
    values = {m: float(v["value"]) for m, v in metrics.items()}
    return {
        "performance": values[metric],
        "format": values.get("format"),
        "metrics": values,
        "boot": [round(float(b), 6) for b in boot],
        "n": len(tests),
        "seconds": round(time.perf_counter() - t0, 3),
    }

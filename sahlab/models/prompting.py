"""Prompt formats shared by every model — one place that says how a task example is shown to a
model, what its answer looks like in that format, where a generated answer ends, and how a
generated answer is read back into the task's form for the task's one extractor (`eval.scorers`).

* ``chat`` — the tokenizer's chat template (post-trained models; hub instruct models bring theirs);
* ``native`` — the task's layout in the model's pre-training text (`sahlab.world.layouts`): base and
  random-init models are asked in their own format, never in a template they never saw;
* ``plain`` — raw text after the document start and a newline (continued pre-training);
* ``raw`` — raw text after the document start, answered right after its last token (study D: the
  decision follows the last symbol, as in Cruz et al.'s toy episodes, so a probe on the last token
  reads the position the policy decides from).
"""

from __future__ import annotations

from typing import Sequence

PROMPT_FORMATS = ("chat", "native")  # a model's own format, recorded in sahlab.json
RENDER_FORMATS = ("chat", "native", "plain", "raw")  # plain, raw: text, not a task format

# Special tokens of the pipeline-built tokenizer. <|bos|> starts every document; <|eos|> ends a
# document (pre-training) or an assistant turn (chat); <|pad|> is only for batching.
BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
USER, ASSISTANT = "<|user|>", "<|assistant|>"
SPECIAL_TOKENS = [PAD, BOS, EOS, USER, ASSISTANT]

# A minimal chat template: no system turn, roles as single special tokens, the assistant turn ends
# with <|eos|> so generation stops there. A space follows each role token, so a turn's first word
# is tokenized as in running text (" journalist", as pre-training saw it after "is a"), not as a
# word-initial piece the corpus never contains; the assistant's space is part of its answer (the
# model generates it; `answer_prefix`). The {% generation %} markers let TRL compute
# assistant-only losses.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}<|user|> {{ message['content'] }}\n"
    "{% elif message['role'] == 'assistant' %}<|assistant|>"
    "{% generation %} {{ message['content'] }}{{ eos_token }}{% endgeneration %}\n"
    "{% else %}{{ raise_exception('only user and assistant roles are supported') }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def document_start(tokenizer) -> str:
    """The text a document starts with for this tokenizer: what it adds itself for plain text
    (its own ``add_special_tokens`` behaviour, e.g. Llama's BOS), else the pipeline's <|bos|>, else
    nothing — never a chat role token that happens to be called bos_token (ChatML's <|im_start|>)."""
    bare = tokenizer("x", add_special_tokens=False)["input_ids"]
    full = tokenizer("x", add_special_tokens=True)["input_ids"]
    if len(full) > len(bare) and full[len(full) - len(bare) :] == bare:
        return tokenizer.decode(full[: len(full) - len(bare)])
    return BOS if tokenizer.bos_token == BOS else ""


def model_layouts(meta: dict) -> dict:
    """The native layouts of a model from its sahlab.json: the embedded world's for pipeline-built
    models (and what was post-trained from them), else the generic hub default; a model's
    ``native`` entry (from the config) overrides single tasks."""
    from sahlab.world.layouts import layouts_for

    source = meta.get("source")
    built = isinstance(source, dict) and "build" in source
    return layouts_for("embedded" if built else "generic", meta.get("native"))


def bind_layouts(tokenizer, meta: dict):
    """Attach a model's native layouts to its tokenizer (done by every tokenizer loader), so
    whatever renders prompts with that tokenizer asks the model in its own format."""
    tokenizer._sahlab_layouts = model_layouts(meta)
    return tokenizer


def default_layouts(tokenizer) -> dict:
    """Native layouts of the model a tokenizer was loaded with (`bind_layouts`); for an unbound
    tokenizer the embedded world's if it is the pipeline's, the generic hub default otherwise."""
    from sahlab.world.layouts import layouts_for

    bound = getattr(tokenizer, "_sahlab_layouts", None)
    if bound is not None:
        return bound
    return layouts_for("embedded" if tokenizer.bos_token == BOS else "generic")


def _layout(tokenizer, task: str | None, layouts: dict | None):
    if task is None:
        raise ValueError("prompt_format 'native' needs the task (its layout says how to ask)")
    layouts = layouts if layouts is not None else default_layouts(tokenizer)
    if task not in layouts:
        raise ValueError(f"no native layout for task {task!r}; layouts exist for {sorted(layouts)}")
    return layouts[task]


def _example(prompt: str | dict) -> dict:
    return prompt if isinstance(prompt, dict) else {"prompt": prompt}


def format_prompt(
    tokenizer, prompt: str | dict, prompt_format: str, task: str | None = None, layouts: dict | None = None
) -> str:
    """Render one task prompt (a string, or a common-schema row) as the text a model sees before
    it answers: `chat` the tokenizer's chat template; `native` the task's layout in the model's
    pre-training text (`layouts`, default `default_layouts`); `plain` the raw prompt and a newline;
    `raw` the raw prompt alone.
    """
    text = _example(prompt).get("prompt", "")
    if prompt_format == "chat":
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                "prompt_format 'chat' needs a tokenizer with a chat template; "
                "this tokenizer has none (use prompt_format: native)"
            )
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
    if prompt_format == "native":
        return document_start(tokenizer) + _layout(tokenizer, task, layouts).prompt(_example(prompt))
    if prompt_format == "plain":
        return f"{document_start(tokenizer)}{text}\n"
    if prompt_format == "raw":
        return f"{document_start(tokenizer)}{text}"
    raise ValueError(f"unknown prompt_format {prompt_format!r}; allowed: {list(RENDER_FORMATS)}")


def format_answer(
    tokenizer, example: dict, prompt_format: str, task: str | None = None, layouts: dict | None = None
) -> str:
    """The reference answer as a model trained in `prompt_format` should write it after
    `format_prompt` (without EOS): chat — the template's answer prefix + reference; native — the
    layout's answer (math: the worked solution in the corpus's prose); plain — the reference."""
    if prompt_format == "native":
        return _layout(tokenizer, task, layouts).answer(example)
    return answer_prefix(tokenizer, prompt_format) + example["reference"]


def stop_strings(tokenizer, prompt_format: str, task: str | None, layouts: dict | None = None) -> list[str]:
    """Where a generated answer ends besides EOS: the native layout's stops (a base model would
    ramble on into the next corpus document); none for chat (the turn ends with EOS)."""
    if prompt_format == "native":
        return list(_layout(tokenizer, task, layouts).stop)
    return []


def to_task_form(
    tokenizer, outputs: Sequence[str], prompt_format: str, task: str | None, layouts: dict | None = None
) -> list[str]:
    """Generated answers as the task's extractor reads them: the chat template's answer prefix
    stripped; a native layout's answer marker (math: "So the answer is") turned into ``####``."""
    if prompt_format == "native":
        layout = _layout(tokenizer, task, layouts)
        return [layout.to_task_form(o) for o in outputs]
    lead = answer_prefix(tokenizer, prompt_format)
    return [strip_answer_prefix(o, lead) for o in outputs]


_PROBE = "\x00answer\x00"


def answer_prefix(tokenizer, prompt_format: str) -> str:
    """The text a chat template puts between the generation prompt and the answer's content
    (" " for the pipeline's template, usually "" for hub templates; "" for `plain` and `raw`).

    Training appends answers as prefix + answer to `format_prompt`'s text, and evaluation strips it
    from generated text (`strip_answer_prefix`), so both see exactly what the template renders.
    """
    if prompt_format in ("plain", "raw", "native"):
        return ""
    prompt = format_prompt(tokenizer, "q", prompt_format)
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": _PROBE}], tokenize=False
    )
    if not full.startswith(prompt) or _PROBE not in full[len(prompt) :]:
        raise ValueError(
            "the tokenizer's chat template does not render an assistant turn as its "
            "generation prompt followed by the answer; sahlab cannot train on it"
        )
    rest = full[len(prompt) :]
    return rest[: rest.index(_PROBE)]


def strip_answer_prefix(text: str, prefix: str) -> str:
    """A generated answer without the template's answer prefix (the answer's content)."""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text

"""Prompt formats shared by every model: the chat template of pipeline-built tokenizers and
the plain format used for random-init and pre-trained (base) models."""
from __future__ import annotations

PROMPT_FORMATS = ("chat", "plain")

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


def format_prompt(tokenizer, prompt: str, prompt_format: str) -> str:
    """Render one task prompt as the text a model sees before it answers.

    `chat` uses the tokenizer's own chat template (hub instruct models bring theirs);
    `plain` is the raw prompt followed by a newline, the form base models saw in pre-training.
    """
    if prompt_format == "chat":
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("prompt_format 'chat' needs a tokenizer with a chat template; "
                             "this tokenizer has none (use prompt_format: plain)")
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                             tokenize=False, add_generation_prompt=True)
    if prompt_format == "plain":
        bos = tokenizer.bos_token or ""
        return f"{bos}{prompt}\n"
    raise ValueError(f"unknown prompt_format {prompt_format!r}; allowed: {list(PROMPT_FORMATS)}")


_PROBE = "\x00answer\x00"


def answer_prefix(tokenizer, prompt_format: str) -> str:
    """The text a chat template puts between the generation prompt and the answer's content
    (" " for the pipeline's template, usually "" for hub templates; "" for `plain`).

    Training appends answers as prefix + answer to `format_prompt`'s text, and evaluation strips it
    from generated text (`strip_answer_prefix`), so both see exactly what the template renders.
    """
    if prompt_format == "plain":
        return ""
    prompt = format_prompt(tokenizer, "q", prompt_format)
    full = tokenizer.apply_chat_template([{"role": "user", "content": "q"},
                                          {"role": "assistant", "content": _PROBE}], tokenize=False)
    if not full.startswith(prompt) or _PROBE not in full[len(prompt):]:
        raise ValueError("the tokenizer's chat template does not render an assistant turn as its "
                         "generation prompt followed by the answer; sahlab cannot train on it")
    rest = full[len(prompt):]
    return rest[:rest.index(_PROBE)]


def strip_answer_prefix(text: str, prefix: str) -> str:
    """A generated answer without the template's answer prefix (the answer's content)."""
    return text[len(prefix):] if prefix and text.startswith(prefix) else text

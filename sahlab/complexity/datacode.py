"""Code length of a dataset under a model ("data as program"): the receiver holds the
conditioning model and nothing else, so every example is sent whole — prompt and answer, as the
model reads them (`sequence_texts`).

- `online_code`: the paper's single pass (code one example, one AdamW step on it, next;
  `programs/online.py` is the receiver that decodes it);
- `block_code`: the block prequential code (Blier & Ollivier 2018): block k = examples
  [N_{k-1}, N_k) is coded under a model fine-tuned from the conditioning model on everything
  before it (`prequential.prequential_code_length`);
- `data_code_length`: the single-pass code of a dataset under a saved model, from its folder
  (e.g. L(D_post | base), the information content of post-training data for a base model).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence


def sequence_texts(tok, rows: Sequence[dict], prompt_format: str, task: str) -> list[str]:
    """Examples as the model reads them: the prompt in its format, the answer and EOS."""
    from sahlab.models.prompting import format_answer, format_prompt

    return [
        format_prompt(tok, r, prompt_format, task)
        + format_answer(tok, r, prompt_format, task)
        + tok.eos_token
        for r in rows
    ]


def text_bits(model, tok, texts: Sequence[str]) -> list[float]:
    """-log2 p of each text under `model` (every token after the first, as the online code)."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for text in texts:
            ids = tok(text, add_special_tokens=False, return_tensors="pt").input_ids
            loss = model(ids, labels=ids).loss
            out.append(loss.item() * (ids.shape[1] - 1) / math.log(2))
    return out


def online_code(
    model, tok, texts: Sequence[str], lr: float, keep: Sequence[int] = ()
) -> tuple[list[float], dict[int, dict]]:
    """Single-pass online code of `texts` (trains `model` in place). Returns (bits per text,
    {n: state dict after n steps} for n in `keep`)."""
    from sahlab.complexity.programs.online import online

    bits, states, keep = [], {}, set(keep)
    online(
        model,
        tok,
        list(texts),
        lr,
        bits=bits,
        every=lambda n: states.__setitem__(n, copy.deepcopy(model.state_dict())) if n in keep else None,
    )
    return bits, states


def block_code(
    base, tok, texts: Sequence[str], ends: Sequence[int], train_on: Callable[[int], object]
) -> dict:
    """Block prequential code of texts[:ends[-1]]: block 0 under `base`, block k under
    `train_on(n)` — a model fine-tuned from the conditioning model on the first n examples."""
    from sahlab.complexity.prequential import prequential_code_length

    return prequential_code_length(
        list(range(len(texts))),
        ends,
        train_on=lambda prefix: train_on(len(prefix)),
        code_length=lambda model, idx: sum(text_bits(model, tok, [texts[i] for i in idx])),
        initial_state=base,
    )


def data_code_length(model_dir, task: str, rows: Sequence[dict], lr: float) -> dict:
    """The single-pass online code length of `rows` (prompt + answer) under the model saved in
    `model_dir`, in its own prompt format: {"total_bits", "per_example_bits", "n"}."""
    from sahlab.models.registry import load_model, load_tokenizer, read_model_meta

    tok = load_tokenizer(model_dir)
    model = load_model(model_dir, dtype="float32")
    texts = sequence_texts(tok, rows, read_model_meta(model_dir)["prompt_format"], task)
    bits, _ = online_code(model, tok, texts, lr)
    return {"total_bits": sum(bits), "per_example_bits": bits, "n": len(bits)}

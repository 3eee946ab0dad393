"""How study D's toy symbol sequences are written for the model (`inductive.toy.render`).

Lovering's features are defined on integer symbols; the model only ever sees text. Two renderings:

* ``decimal`` — the integers in decimal, space-separated ("312 1 47 …"). The pipeline's
  tokenizer splits digits individually, so a symbol of the 1 000-symbol vocabulary is up to four
  tokens (space + three digits) and "first equals last" means comparing two three-token spans
  ~35 tokens apart: a tiny model does not learn that within study D's budget.
* ``words`` — symbol i is the i-th of the rarest single-token words of the model's own tokenizer (a token
  "Ġ<lowercase letters>" that the tokenizer writes back as exactly that one token), so a
  sequence of `length` symbols is `length` tokens, one per symbol, as in Cruz et al.'s toy RL
  (a word-level tokenizer: one token per symbol) and Lovering's LSTM (one embedding per symbol).
"""

from __future__ import annotations

from typing import Sequence

RENDERINGS = ("decimal", "words")


def word_symbols(tokenizer, n: int) -> list[str]:
    """The last `n` (by token id: the rarest BPE merges) lowercase word tokens of `tokenizer` that
    carry a leading space and round-trip as one token, as text (" cat"), in id order. The rarest
    merges have near-equal corpus frequencies, so no symbol is privileged by pre-training (the first
    ones — " the", " in" — made the symmetric control contains_3-vs-contains_2 read 0.48, not ~1).

    ValueError if the tokenizer has fewer than `n` such tokens (then lower `toy.vocab_size`)."""
    out: list[str] = []
    for tok, _ in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1]):
        if not (
            tok.startswith("Ġ")
            and tok[1:].isascii()
            and tok[1:].isalpha()
            and tok[1:].islower()
            and len(tok) > 2
        ):
            continue
        text = " " + tok[1:]
        if len(tokenizer(text, add_special_tokens=False)["input_ids"]) == 1:
            out.append(text)
    if len(out) >= n:
        return out[len(out) - n :]
    raise ValueError(
        f"inductive.toy.render 'words' needs {n} single-token words "
        f"(inductive.toy.vocab_size) but the tokenizer has only {len(out)}: "
        f"lower toy.vocab_size or use render 'decimal'"
    )


def render_symbols(seq: Sequence[int], symbols: Sequence[str]) -> str:
    """The sequence as text: each symbol's word, concatenated (each word carries its space)."""
    return "".join(symbols[s] for s in seq)

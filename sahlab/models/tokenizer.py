"""Train the pipeline's byte-level BPE tokenizer on the pre-training corpus.

Byte-level so every string round-trips; digits are split one by one before BPE so numbers are
sequences of single-digit tokens (arithmetic stays learnable); the chat special tokens are atomic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from sahlab.io import atomic_path
from sahlab.models.prompting import BOS, CHAT_TEMPLATE, EOS, PAD, SPECIAL_TOKENS

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

# 256 byte symbols + the special tokens: anything smaller cannot represent every string.
MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int,
    out_dir: str | os.PathLike,
    model_max_length: int = 2048,
    min_frequency: int = 2,
) -> "PreTrainedTokenizerFast":
    """Train a byte-level BPE tokenizer on `texts` and save it to `out_dir` (atomically).

    Special tokens (prompting.SPECIAL_TOKENS) get the first ids, are never split or merged, and
    are never inserted automatically: rendered prompts and packed documents carry their own
    BOS/EOS. The saved tokenizer has pad/bos/eos set, the shared CHAT_TEMPLATE and
    `model_max_length`. The same texts give the same tokenizer (BPE ties break by pair order).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if not isinstance(vocab_size, int) or vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(
            f"vocab_size must be an integer >= {MIN_VOCAB_SIZE} "
            f"(256 bytes + {len(SPECIAL_TOKENS)} special tokens), got {vocab_size!r}"
        )
    if not isinstance(model_max_length, int) or model_max_length < 1:
        raise ValueError(f"model_max_length must be a positive integer, got {model_max_length!r}")

    tok = Tokenizer(models.BPE())
    # No normalizer: decode(encode(s)) must give s back byte for byte.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=True,
    )
    n_texts = 0

    def _checked(it: Iterable[str]):
        nonlocal n_texts
        for i, t in enumerate(it):
            if not isinstance(t, str):
                raise ValueError(f"train_tokenizer: text #{i} is {type(t).__name__}, expected str")
            n_texts += 1
            yield t

    tok.train_from_iterator(_checked(texts), trainer=trainer)
    if n_texts == 0:
        raise ValueError("train_tokenizer: no texts given (is the corpus empty?)")

    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        extra_special_tokens=[t for t in SPECIAL_TOKENS if t not in (BOS, EOS, PAD)],
        model_max_length=model_max_length,
        chat_template=CHAT_TEMPLATE,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    with atomic_path(out_dir, is_dir=True) as tmp:
        hf.save_pretrained(tmp)
    return hf


def load_tokenizer(tokenizer_dir: str | os.PathLike) -> "PreTrainedTokenizerFast":
    """Load a saved tokenizer folder, with a clear error if it is missing."""
    from transformers import AutoTokenizer

    path = Path(tokenizer_dir)
    if not (path / "tokenizer.json").is_file() and not (path / "tokenizer_config.json").is_file():
        raise ValueError(f"no tokenizer found in {path} (expected tokenizer.json from train_tokenizer)")
    return AutoTokenizer.from_pretrained(str(path))

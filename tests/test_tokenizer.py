"""Tests of the pipeline's byte-level BPE tokenizer (sahlab.models.tokenizer)."""

import copy
import random

import pytest

from sahlab.models.prompting import (
    ASSISTANT,
    BOS,
    CHAT_TEMPLATE,
    EOS,
    PAD,
    SPECIAL_TOKENS,
    USER,
    answer_prefix,
    format_prompt,
    strip_answer_prefix,
)
from sahlab.models.tokenizer import load_tokenizer, train_tokenizer


def _corpus(seed: int = 0, n: int = 300) -> list[str]:
    rng = random.Random(seed)
    words = "the river city was founded by alice and bob who worked at acme in 1987 café über".split()
    docs = []
    for _ in range(n):
        a, b = rng.randint(0, 999), rng.randint(0, 999)
        docs.append(
            " ".join(rng.choice(words) for _ in range(rng.randint(5, 30)))
            + f". {a} + {b} = {a + b}\n#### {a + b}"
        )
    return docs


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    return train_tokenizer(_corpus(), 400, tmp_path_factory.mktemp("tok") / "tokenizer")


@pytest.mark.parametrize(
    "text",
    [
        "The river city was founded in 1987.",
        "  leading and trailing spaces \n\n\ttabs\t",
        "café über naïve — 日本語のテキスト 🙂👍🏽",
        "x=12345; y=-0.5e10 #### 42",
        "",
    ],
)
def test_round_trip(tok, text):
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text


def test_digits_are_single_tokens(tok):
    # The corpus is full of multi-digit numbers, yet no token may hold more than one digit.
    for text in ("1234567890", "a+b = 1987", " 42 "):
        for i in tok.encode(text, add_special_tokens=False):
            piece = tok.decode([i])
            assert sum(c.isdigit() for c in piece) <= 1, (text, piece)
            if any(c.isdigit() for c in piece):
                assert len(piece) == 1, (text, piece)
    assert len(tok.encode("1234567890", add_special_tokens=False)) == 10
    # Frequent words do get merged: BPE did learn something beyond bytes.
    assert len(tok.encode("founded", add_special_tokens=False)) < len("founded")


def test_special_tokens_are_atomic(tok):
    ids = [tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS]
    assert len(set(ids)) == len(SPECIAL_TOKENS)
    for t, i in zip(SPECIAL_TOKENS, ids):
        assert tok.encode(t, add_special_tokens=False) == [i]
        assert tok.encode(f"word{t}word", add_special_tokens=False).count(i) == 1
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == (BOS, EOS, PAD)
    # Pieces of a special token's text are ordinary bytes, not the special id.
    assert not set(tok.encode("<|user", add_special_tokens=False)) & set(ids)


def test_no_automatic_bos_eos(tok):
    ids = tok("hello world")["input_ids"]  # add_special_tokens defaults to True
    assert tok.bos_token_id not in ids and tok.eos_token_id not in ids
    assert ids == tok.encode("hello world", add_special_tokens=False)


def test_chat_template_renders_and_tokenises(tok):
    assert tok.chat_template == CHAT_TEMPLATE
    msgs = [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "5"}]
    rendered = tok.apply_chat_template(msgs, tokenize=False)
    # The chat renderer trims the newline right after a block tag, so the turn ends at EOS.
    assert rendered == f"{BOS}{USER} What is 2 + 3?\n{ASSISTANT} 5{EOS}"
    prompt = format_prompt(tok, "What is 2 + 3?", "chat")
    assert prompt == f"{BOS}{USER} What is 2 + 3?\n{ASSISTANT}"
    ids = tok.encode(prompt, add_special_tokens=False)
    sid = tok.convert_tokens_to_ids
    assert ids[:2] == [sid(BOS), sid(USER)] and ids[-1] == sid(ASSISTANT)
    assert tok.decode(ids[2:-1]) == " What is 2 + 3?\n"
    assert sum(i in {sid(t) for t in SPECIAL_TOKENS} for i in ids) == 3


def test_answers_start_with_the_running_text_form_of_their_first_word(tok):
    """The assistant's answer is " word": tokenized as the word is in pre-training sentences."""
    assert answer_prefix(tok, "chat") == " " and answer_prefix(tok, "plain") == "" == answer_prefix(
        tok, "raw"
    )
    answer = tok.encode(answer_prefix(tok, "chat") + "alice", add_special_tokens=False)
    running = tok.encode("worked with alice", add_special_tokens=False)
    assert running[-len(answer) :] == answer
    full = tok.apply_chat_template(
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": "alice"}], tokenize=False
    )
    assert full == format_prompt(tok, "q", "chat") + answer_prefix(tok, "chat") + "alice" + EOS
    assert strip_answer_prefix(" alice", " ") == "alice"
    assert strip_answer_prefix("alice", " ") == "alice" and strip_answer_prefix(" a", "") == " a"


def test_answer_prefix_of_other_templates(tok):
    hub = copy.deepcopy(tok)  # a hub-style template: the answer follows the header directly
    hub.chat_template = (
        "{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    with pytest.raises(ValueError, match="chat template"):
        answer_prefix(hub, "chat")  # never renders the assistant's content
    hub.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'user' %}<|user|>"
        "{{ m['content'] }}{% else %}<|assistant|>\n{{ m['content'] }}{% endif %}"
        "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )
    assert answer_prefix(hub, "chat") == ""


def test_saved_and_reloaded(tok, tmp_path):
    tok.save_pretrained(tmp_path / "copy")
    again = load_tokenizer(tmp_path / "copy")
    text = "alice worked at acme in 1987 🙂"
    assert again.encode(text, add_special_tokens=False) == tok.encode(text, add_special_tokens=False)
    assert again.model_max_length == 2048 and again.chat_template == CHAT_TEMPLATE
    assert len(again) == len(tok) <= 400


def test_deterministic(tmp_path):
    a = train_tokenizer(_corpus(1), 350, tmp_path / "a", model_max_length=512)
    b = train_tokenizer(_corpus(1), 350, tmp_path / "b", model_max_length=512)
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (
        tmp_path / "b" / "tokenizer.json"
    ).read_bytes()
    assert a.get_vocab() == b.get_vocab() and a.model_max_length == 512
    c = train_tokenizer(_corpus(1), 300, tmp_path / "c")
    assert len(c) < len(a)  # the vocab size is honoured, so a smaller one gives another tokenizer


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="vocab_size"):
        train_tokenizer(_corpus(), 100, tmp_path / "t")
    with pytest.raises(ValueError, match="text #1"):
        train_tokenizer(["ok", 3], 300, tmp_path / "t")
    with pytest.raises(ValueError, match="no texts"):
        train_tokenizer([], 300, tmp_path / "t")
    assert not (tmp_path / "t").exists()  # nothing half-written
    with pytest.raises(ValueError, match="no tokenizer"):
        load_tokenizer(tmp_path / "missing")

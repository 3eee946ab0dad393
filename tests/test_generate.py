"""Batched generation harness: exactness against Hugging Face's own generate and a plain forward pass,
stopping rules, seeded sampling, and sequence log-probabilities."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from sahlab.eval.generate import generate, render_prompts, sequence_logprobs  # noqa: E402
from sahlab.eval.policy import DecodingPolicy, ModelPolicy  # noqa: E402

N_WORDS = 95
SPECIALS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|user|>", "<|assistant|>"]


def make_tokenizer():
    """A word-level tokenizer: 5 special tokens then words w0..w94 (ids 5..99)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIALS + [f"w{i}" for i in range(N_WORDS)])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|pad|>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<|pad|>",
        bos_token="<|bos|>",
        eos_token="<|eos|>",
        additional_special_tokens=SPECIALS[3:],
    )


@pytest.fixture(scope="module")
def tok():
    return make_tokenizer()


@pytest.fixture(scope="module")
def model(tok):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    m = LlamaForCausalLM(config)
    # Random init is nearly uniform; sharpen it so greedy choices are not near-ties.
    with torch.no_grad():
        m.lm_head.weight.mul_(20)
    return m.eval()


def words(ids):
    return "<|bos|> " + " ".join(f"w{i}" for i in ids)


PROMPTS = [
    words([3, 1, 4]),
    words([15, 9, 26, 5, 35, 8, 9, 7, 9]),
    words([2]),
    words([71, 82, 81, 8, 2, 84]),
    words([60, 2, 87, 5, 36, 62, 8, 9, 9, 86, 28, 0]),
    words([14, 14]),
]


def test_prefill_and_steps_equal_full_forward(model, tok):
    policy = ModelPolicy(model, tok)
    rows = [tok(p, add_special_tokens=False)["input_ids"] for p in PROMPTS[:3]]
    width = max(map(len, rows))
    ids = torch.full((3, width), tok.pad_token_id)
    mask = torch.zeros((3, width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, width - len(row) :] = torch.tensor(row)
        mask[r, width - len(row) :] = 1
    appended = torch.tensor([[10, 11, 12], [20, 21, 22], [30, 31, 32]])
    got = [policy.prefill(ids, mask)] + [policy.step(appended[:, j]) for j in range(3)]
    for r, row in enumerate(rows):
        for j in range(4):  # after the prompt and after each appended token
            seq = torch.tensor([row + appended[r, :j].tolist()])
            with torch.no_grad():
                expected = torch.log_softmax(model(seq).logits[0, -1].float(), -1)
            assert got[j].dtype == torch.float32
            torch.testing.assert_close(got[j][r], expected, atol=1e-5, rtol=0)


def test_policy_eos_ids_join_tokenizer_and_generation_config(model, tok):
    assert ModelPolicy(model, tok).eos_token_ids == [tok.eos_token_id]
    saved = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = [tok.eos_token_id, 7]
    try:
        assert ModelPolicy(model, tok).eos_token_ids == [tok.eos_token_id, 7]
    finally:
        model.generation_config.eos_token_id = saved


def test_long_decoding_past_the_preallocated_cache_stays_exact(model, tok):
    """80 steps outgrow the cache's first allocation (prompt + 64); the regrown cache must stay exact."""
    policy = ModelPolicy(model, tok)
    ids = tok(
        [PROMPTS[2], PROMPTS[0]],
        add_special_tokens=False,
        padding=True,
        padding_side="left",
        return_tensors="pt",
    )
    g = torch.Generator().manual_seed(0)
    appended = torch.randint(5, len(tok), (2, 80), generator=g)
    logp = policy.prefill(ids["input_ids"], ids["attention_mask"])
    for j in range(80):
        logp = policy.step(appended[:, j])
    for r, prompt in enumerate([PROMPTS[2], PROMPTS[0]]):
        seq = torch.tensor([tok(prompt, add_special_tokens=False)["input_ids"] + appended[r].tolist()])
        with torch.no_grad():
            expected = torch.log_softmax(model(seq).logits[0, -1].float(), -1)
        torch.testing.assert_close(logp[r], expected, atol=1e-5, rtol=0)


def test_greedy_batched_equals_hf_generate_one_by_one(model, tok):
    policy = ModelPolicy(model, tok)
    ours = generate(policy, PROMPTS, max_new_tokens=12, batch_size=4, progress=False)
    for prompt, out in zip(PROMPTS, ours):
        enc = tok(prompt, add_special_tokens=False, return_tensors="pt")
        ref = model.generate(
            **enc,
            do_sample=False,
            max_new_tokens=12,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
        expected = tok.decode(ref[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        assert out == expected
    assert len(set(ours)) > 1  # different prompts really gave different continuations


def test_stop_string_truncates_and_leaves_other_rows(model, tok):
    policy = ModelPolicy(model, tok)
    free = generate(policy, PROMPTS, max_new_tokens=10, batch_size=3, progress=False)
    # A word that row 1 produces mid-way, then a stop string spanning two tokens of row 4.
    for stop in [free[1].split()[3], " ".join(free[4].split()[2:4])]:
        cut = generate(
            policy, PROMPTS, max_new_tokens=10, batch_size=3, stop_strings=["zzz", stop], progress=False
        )
        for full, out in zip(free, cut):
            assert out == (full[: full.find(stop)] if stop in full else full)
        assert sum(len(c) < len(f) for c, f in zip(cut, free)) >= 1


class ScriptedPolicy:
    """Emits a fixed token sequence per prompt (keyed by the prompt's last token); counts steps."""

    def __init__(self, tokenizer, scripts: dict[int, list[int]], vocab: int):
        self.tokenizer, self.scripts, self.vocab = tokenizer, scripts, vocab
        self.steps = 0

    def _logp(self):
        out = torch.full((len(self.keys), self.vocab), -30.0)
        for r, key in enumerate(self.keys):
            out[r, self.scripts[key][self.t]] = 0.0
        return torch.log_softmax(out, -1)

    def prefill(self, input_ids, attention_mask):
        self.keys, self.t = input_ids[:, -1].tolist(), 0
        return self._logp()

    def step(self, tokens):
        self.steps += 1
        self.t += 1
        return self._logp()


def test_eos_stops_rows_and_batch(tok):
    w = tok.convert_tokens_to_ids
    eos = tok.eos_token_id
    scripts = {w("w1"): [w("w5"), w("w6"), eos] + [w("w7")] * 10, w("w2"): [w("w8"), eos] + [w("w9")] * 10}
    policy = ScriptedPolicy(tok, scripts, len(tok))
    assert isinstance(policy, DecodingPolicy)
    out = generate(policy, ["<|bos|> w1", "<|bos|> w0 w2"], max_new_tokens=10, progress=False)
    assert out == ["w5 w6", "w8"]
    assert policy.steps == 2  # stopped as soon as both rows had emitted EOS
    # Several EOS ids: w6 now also ends row 0.
    out = generate(policy, ["<|bos|> w1", "<|bos|> w2"], 10, eos_token_ids=[eos, w("w6")], progress=False)
    assert out == ["w5", "w8"]
    # A stop string ends its row at once too (no decoding to max_new_tokens); the cut keeps the prefix.
    policy.steps = 0
    out = generate(policy, ["<|bos|> w1", "<|bos|> w2"], 10, stop_strings=["w6"], progress=False)
    assert out == ["w5 ", "w8"] and policy.steps == 1
    # ignore_eos decodes the full length; the EOS token itself is special and not printed.
    out = generate(policy, ["<|bos|> w1"], max_new_tokens=5, ignore_eos=True, progress=False)
    assert out == ["w5 w6 w7 w7"]


def test_temperature_sampling_is_seeded_and_follows_the_tempered_distribution(model, tok):
    policy = ModelPolicy(model, tok)
    a = generate(policy, PROMPTS, 8, batch_size=4, temperature=1.5, seed=1, progress=False)
    b = generate(policy, PROMPTS, 8, batch_size=4, temperature=1.5, seed=1, progress=False)
    c = generate(policy, PROMPTS, 8, batch_size=4, temperature=1.5, seed=2, progress=False)
    assert a == b and a != c

    class TwoTokens:  # p(w0) = 0.75, p(w1) = 0.25
        tokenizer = tok

        def prefill(self, input_ids, attention_mask):
            logp = torch.full((input_ids.shape[0], len(tok)), -math.inf)
            logp[:, tok.convert_tokens_to_ids("w0")] = math.log(0.75)
            logp[:, tok.convert_tokens_to_ids("w1")] = math.log(0.25)
            return logp

    n = 4000
    for temperature, expected in [(1.0, 0.75), (0.5, 0.9)]:  # T=0.5 squares then renormalises
        outs = generate(TwoTokens(), ["w3"] * n, 1, batch_size=1000, temperature=temperature, progress=False)
        share = sum(o == "w0" for o in outs) / n
        assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / n)


def test_sequence_logprobs_equals_per_token_forward(model, tok):
    texts = [PROMPTS[1], PROMPTS[3], PROMPTS[2]]
    pairs = [(PROMPTS[0], "w7 w8 w9"), (PROMPTS[5], "w1")]
    got = sequence_logprobs(model, tok, texts + pairs, batch_size=2, progress=False)

    def reference(prefix_ids, scored_ids):
        vals, ctx = [], list(prefix_ids)
        for t in scored_ids:
            with torch.no_grad():
                vals.append(torch.log_softmax(model(torch.tensor([ctx])).logits[0, -1].float(), -1)[t].item())
            ctx.append(t)
        return vals

    for text, arr in zip(texts, got[:3]):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert arr.shape == (len(ids) - 1,)
        assert arr == pytest.approx(reference(ids[:1], ids[1:]), abs=1e-5)
    for (prompt, completion), arr in zip(pairs, got[3:]):
        ctx = tok(prompt, add_special_tokens=False)["input_ids"]
        comp = tok(completion, add_special_tokens=False)["input_ids"]
        assert arr == pytest.approx(reference(ctx, comp), abs=1e-5)
    assert all((a < 0).all() for a in got)


def test_bad_inputs_give_clear_errors(model, tok):
    policy = ModelPolicy(model, tok)
    with pytest.raises(ValueError, match="tokenise to nothing"):
        generate(policy, ["<|bos|> w1", ""], 3, progress=False)
    with pytest.raises(ValueError, match="temperature"):
        generate(policy, ["<|bos|> w1"], 3, temperature=-1, progress=False)
    with pytest.raises(ValueError, match="pair"):
        sequence_logprobs(model, tok, [("a", "b", "c")], progress=False)
    model.train()
    try:
        with pytest.raises(ValueError, match="eval mode"):
            generate(policy, ["<|bos|> w1"], 3, progress=False)
    finally:
        model.eval()
    assert generate(policy, [], 3) == []


def test_render_prompts_plain_raw_and_chat(tok):
    from sahlab.models.prompting import CHAT_TEMPLATE

    assert render_prompts(tok, ["w1 w2"], "plain") == ["<|bos|>w1 w2\n"]
    assert render_prompts(tok, ["w1 w2"], "raw") == ["<|bos|>w1 w2"]  # study D: answer after w2
    tok_chat = make_tokenizer()
    tok_chat.chat_template = CHAT_TEMPLATE
    assert render_prompts(tok_chat, ["w1"], "chat") == ["<|bos|><|user|> w1\n<|assistant|>"]


def test_policy_loads_a_saved_folder(model, tok, tmp_path):
    from transformers import AutoModelForCausalLM

    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    expected = generate(ModelPolicy(model, tok), PROMPTS[:3], 6, progress=False)
    loaded = ModelPolicy.from_pretrained(tmp_path)
    assert not loaded.model.training
    assert generate(loaded, PROMPTS[:3], 6, progress=False) == expected
    # Without a tokenizer argument the one saved beside the model is used.
    bare = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert generate(ModelPolicy(bare), PROMPTS[:3], 6, progress=False) == expected

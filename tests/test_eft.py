"""EFT decoding: the per-token combination against independent full-forward computations, its special
cases (β = 0, identical bases), tokenizer checks, and the rewindable cache speculative decoding needs."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from sahlab.eft import EFTPolicy, RewindablePolicy, check_shared_tokenizer  # noqa: E402
from sahlab.eval.generate import generate  # noqa: E402
from sahlab.eval.policy import ModelPolicy  # noqa: E402

SPECIALS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|user|>", "<|assistant|>"]


def make_tokenizer(n_words: int = 59, eos: str = "<|eos|>", prefix: str = "w"):
    """Word-level tokenizer: 5 special tokens, then words w0, w1, ... (decoded joined by spaces)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(SPECIALS + [f"{prefix}{i}" for i in range(n_words)])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|pad|>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<|pad|>",
        bos_token="<|bos|>",
        eos_token=eos,
        additional_special_tokens=SPECIALS[3:],
    )


def make_model(tok, seed: int, large: bool, sharpen: float = 8.0):
    """A tiny random Llama of one of two sizes; `sharpen` scales the output layer so argmax is not a near-tie."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    hidden, layers = (48, 3) if large else (32, 2)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=False,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight.mul_(sharpen)
    return model.eval()


@pytest.fixture(scope="module")
def tok():
    torch.set_num_threads(1)
    return make_tokenizer()


@pytest.fixture(scope="module")
def trio(tok):
    """(base_large, ft_small, base_small): three unrelated random models, two sizes."""
    return make_model(tok, 1, True), make_model(tok, 2, False), make_model(tok, 3, False)


def words(ids):
    return "<|bos|> " + " ".join(f"w{i}" for i in ids)


PROMPTS = [
    words([3, 1, 4]),
    words([15, 9, 26, 5, 35, 8, 9]),
    words([2]),
    words([41, 52, 51, 8, 2, 54]),
    words([30, 2, 57, 5]),
    words([14, 14]),
]


def left_pad(tok, prompts):
    rows = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tok.pad_token_id)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, width - len(row) :] = torch.tensor(row)
        mask[r, width - len(row) :] = 1
    return rows, ids, mask


def full_logp(model, seq):
    """Log-probs of the next token after every prefix of `seq`, from one uncached forward pass."""
    with torch.no_grad():
        return torch.log_softmax(model(torch.tensor([seq])).logits[0].double(), -1)


def test_combination_matches_independent_full_forward(tok, trio):
    """Cached, batched, left-padded EFT log-probs == log_softmax(Σ w·log_softmax(logits)) from full passes."""
    base_l, ft_s, base_s = trio
    ft_b = make_model(tok, 4, False)
    beta, lam = 1.5, 0.3
    eft = EFTPolicy.mixture(base_l, ft_s, ft_b, base_s, lam=lam, beta=beta, tokenizer=tok)
    rows, ids, mask = left_pad(tok, PROMPTS[:4])
    appended = torch.tensor([[10, 11, 12], [20, 21, 22], [30, 31, 32], [40, 41, 42]])
    got = [eft.prefill(ids, mask)] + [eft.step(appended[:, j]) for j in range(3)]
    for r, row in enumerate(rows):
        seq = row + appended[r].tolist()
        lb, lf, lg, ls = (full_logp(m, seq) for m in (base_l, ft_s, ft_b, base_s))
        # λ·r1 + (1 − λ)·r2 with r = log π_ft − log π_base_small, scaled by β, on top of base_large
        expected = torch.log_softmax(lb + beta * (lam * (lf - ls) + (1 - lam) * (lg - ls)), -1)
        for j in range(4):
            pos = len(row) - 1 + j
            assert got[j].dtype == torch.float32 and got[j].shape == (4, len(tok))
            torch.testing.assert_close(got[j][r].double(), expected[pos], atol=1e-5, rtol=0)


def test_down_scaling_is_another_assignment(tok, trio):
    """Small base + large fine-tune delta: the same formula with the roles swapped."""
    base_l, ft_s, base_s = trio
    ft_l = make_model(tok, 5, True)
    eft = EFTPolicy(base_s, ft_l, base_l, beta=1.0, tokenizer=tok)
    rows, ids, mask = left_pad(tok, PROMPTS[4:6])
    got = eft.prefill(ids, mask)
    for r, row in enumerate(rows):
        expected = torch.log_softmax(
            full_logp(base_s, row) + full_logp(ft_l, row) - full_logp(base_l, row), -1
        )
        torch.testing.assert_close(got[r].double(), expected[-1], atol=1e-5, rtol=0)


def test_mixture_weights_and_repeated_models(tok, trio):
    base_l, ft_s, base_s = trio
    ft_b = make_model(tok, 4, False)
    eft = EFTPolicy.mixture(base_l, ft_s, ft_b, base_s, lam=0.25, beta=2.0, tokenizer=tok)
    weights = eft.weights()
    # base_small appears in both deltas: one member, weights summed (−2·0.25 − 2·0.75)
    assert weights == pytest.approx(
        {
            "base_large": 1.0,
            "ft_small": 0.5,
            "extra_deltas[0].ft": 1.5,
            "base_small = extra_deltas[0].base": -2.0,
        }
    )
    assert len(eft.members) == 4


def test_beta_zero_reproduces_base_greedy(tok, trio):
    base_l, ft_s, base_s = trio
    plain = generate(
        ModelPolicy(base_l, tok), PROMPTS, max_new_tokens=12, batch_size=4, progress=False, ignore_eos=True
    )
    eft = generate(
        EFTPolicy(base_l, ft_s, base_s, beta=0.0, tokenizer=tok),
        PROMPTS,
        max_new_tokens=12,
        batch_size=4,
        progress=False,
        ignore_eos=True,
    )
    assert eft == plain
    assert all(plain)  # something was generated


@pytest.mark.parametrize("same_object", [True, False])
def test_identical_bases_reproduce_finetune_greedy(tok, trio, same_object):
    """base_small == base_large (same object, or an equal copy): the delta cancels the base exactly."""
    base_l, ft_s, _ = trio
    other = base_l if same_object else copy.deepcopy(base_l)
    eft = EFTPolicy(base_l, ft_s, other, beta=1.0, tokenizer=tok)
    if same_object:  # one model under two roles runs once, with weight 1 − 1 = 0
        assert [name for name, _, _ in eft.members] == ["ft_small"]
    else:
        assert len(eft.members) == 3
    ft_out = generate(ModelPolicy(ft_s, tok), PROMPTS, max_new_tokens=12, batch_size=4, progress=False)
    eft_out = generate(eft, PROMPTS, max_new_tokens=12, batch_size=4, progress=False)
    assert eft_out == ft_out
    base_out = generate(ModelPolicy(base_l, tok), PROMPTS, max_new_tokens=12, batch_size=4, progress=False)
    assert eft_out != base_out  # the comparison can fail: the two models do disagree


def test_model_passed_twice_with_separate_caches(tok, trio):
    """A model under two non-cancelling roles: summed weight, one cache, same result as two copies."""
    base_l, ft_s, base_s = trio
    twice = EFTPolicy(base_l, base_l, base_s, beta=0.5, tokenizer=tok)
    copies = EFTPolicy(base_l, copy.deepcopy(base_l), base_s, beta=0.5, tokenizer=tok)
    assert twice.weights()["base_large = ft_small"] == pytest.approx(1.5)
    _, ids, mask = left_pad(tok, PROMPTS[:3])
    a = [twice.prefill(ids, mask)] + [twice.step(torch.tensor([7, 8, 9]))]
    b = [copies.prefill(ids, mask)] + [copies.step(torch.tensor([7, 8, 9]))]
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=0)


def test_differing_tokenizers_raise_clear_error(tok, trio):
    base_l, ft_s, base_s = trio
    other_vocab = make_tokenizer(prefix="v")
    with pytest.raises(ValueError, match=r"base_large and ft_small have different vocabularies"):
        EFTPolicy(ModelPolicy(base_l, tok), ModelPolicy(ft_s, other_vocab), ModelPolicy(base_s, tok))
    other_eos = make_tokenizer(eos="<|assistant|>")
    with pytest.raises(ValueError, match=r"base_large and base_small differ in eos_token_id"):
        EFTPolicy(ModelPolicy(base_l, tok), ModelPolicy(ft_s, tok), ModelPolicy(base_s, other_eos))
    # same vocabulary, different EOS role: allowed on request, and the fine-tune's tokenizer wins
    eft = EFTPolicy(
        ModelPolicy(base_l, other_eos),
        ModelPolicy(ft_s, tok),
        ModelPolicy(base_s, other_eos),
        check_special_tokens=False,
    )
    assert eft.tokenizer is tok
    check_shared_tokenizer([("a", tok), ("b", make_tokenizer())])  # equal content, distinct objects: fine


def test_bad_arguments(tok, trio):
    base_l, ft_s, base_s = trio
    with pytest.raises(ValueError, match="beta must be finite"):
        EFTPolicy(base_l, ft_s, base_s, beta=float("inf"), tokenizer=tok)
    with pytest.raises(
        ValueError, match=r"extra_deltas\[0\] must be a \(beta, ft_model, base_model\) triple"
    ):
        EFTPolicy(base_l, ft_s, base_s, extra_deltas=[(1.0, ft_s)], tokenizer=tok)
    with pytest.raises(ValueError, match="model folder '/nonexistent/model' does not exist"):
        EFTPolicy(base_l, "/nonexistent/model", base_s, tokenizer=tok)


def test_members_from_folders(tok, trio, tmp_path):
    """Folders load model + tokenizer; a folder named twice is one model (here: the delta cancels)."""
    base_l, ft_s, _ = trio
    for name, model in (("base", base_l), ("ft", ft_s)):
        model.save_pretrained(tmp_path / name)
        tok.save_pretrained(tmp_path / name)
    eft = EFTPolicy(tmp_path / "base", str(tmp_path / "ft"), tmp_path / "base")
    assert eft.weights() == {"base_large = base_small": 0.0, "ft_small": 1.0}
    assert eft.tokenizer.get_vocab() == tok.get_vocab()
    _, ids, mask = left_pad(tok, PROMPTS[:2])
    torch.testing.assert_close(
        eft.prefill(ids, mask), ModelPolicy(ft_s, tok).prefill(ids, mask), atol=1e-5, rtol=0
    )


def test_padded_output_layer_is_cut_to_common_width(tok, trio):
    """Models of one family may pad their output layer differently; extra rows are never-used ids."""
    from transformers import LlamaConfig, LlamaForCausalLM

    base_l, ft_s, base_s = trio
    torch.manual_seed(9)
    cfg = LlamaConfig(
        vocab_size=len(tok) + 6,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    wide = LlamaForCausalLM(cfg).eval()
    eft = EFTPolicy(wide, ft_s, base_s, tokenizer=tok)
    rows, ids, mask = left_pad(tok, PROMPTS[:2])
    got = eft.prefill(ids, mask)
    assert got.shape == (2, len(tok))
    for r, row in enumerate(rows):
        lw = full_logp(wide, row)[-1, : len(tok)]
        expected = torch.log_softmax(lw + full_logp(ft_s, row)[-1] - full_logp(base_s, row)[-1], -1)
        torch.testing.assert_close(got[r].double(), expected, atol=1e-5, rtol=0)


def test_extend_and_rewind_match_full_forward(tok, trio):
    """k tokens in one pass == k steps; after a per-row rewind, the next tokens see exactly the kept context."""
    model = trio[0]
    policy = RewindablePolicy(model, tok)
    rows, ids, mask = left_pad(tok, PROMPTS[:3])
    policy.prefill(ids, mask)
    drafts = torch.tensor([[10, 11, 12], [20, 21, 22], [30, 31, 32]])
    scored = policy.extend(drafts)
    for r, row in enumerate(rows):
        expected = full_logp(model, row + drafts[r].tolist())[len(row) :]
        torch.testing.assert_close(scored[r].double(), expected, atol=1e-5, rtol=0)
    keep = torch.tensor([0, 2, 1])
    width = policy.cached_length
    policy.rewind(keep, 3)
    assert policy.cached_length == width - 1  # only the column no row keeps is cropped
    more = torch.tensor([[5, 6], [7, 8], [9, 10]])
    after = [policy.step(more[:, 0]), policy.extend(more[:, 1:])[:, 0]]
    for r, row in enumerate(rows):
        seq = row + drafts[r, : keep[r]].tolist() + more[r].tolist()
        expected = full_logp(model, seq)
        for j in range(2):
            torch.testing.assert_close(after[j][r].double(), expected[len(seq) - 2 + j], atol=1e-5, rtol=0)
    policy.rewind(torch.tensor([0, 0, 0]), 2)  # back to before `more`: a full crop of both columns
    assert policy.cached_length == width - 1
    with pytest.raises(ValueError, match="keep must be"):
        policy.rewind(torch.tensor([3, 0, 0]), 2)


# --------------------------------------------------------------------------- per-member prompts
# Each member is prefilled with its own rendering of a prompt (base members: their native layout,
# the fine-tune: chat); the harness decodes the reference (fine-tune's) rendering. Here: word prompts
# of different lengths per member, so positions and padding differ between the members' caches.
OWN_LARGE = [words([7, 7, 3, 1, 4, 50]), words([9]), words([2, 2, 2, 2, 2, 2, 2, 2, 2]), words([41, 6])]
OWN_SMALL = [words([33]), words([15, 9, 26, 5, 35, 8, 9, 1, 1, 1]), words([44, 2]), words([12, 11, 10])]


def bound_eft(tok, trio, beta=1.0):
    base_l, ft_s, base_s = trio
    eft = EFTPolicy(base_l, ft_s, base_s, beta=beta, tokenizer=tok)
    eft.bind_prompts(PROMPTS[:4], {"base_large": OWN_LARGE, "base_small": OWN_SMALL})
    return eft


def ids_of(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def test_per_member_prompts_match_independent_full_forward(tok, trio):
    """Cached EFT log-probs with per-member prompts == the combination of full passes of each member
    over its own prompt + the shared continuation."""
    base_l, ft_s, base_s = trio
    beta = 1.5
    eft = bound_eft(tok, trio, beta)
    _, ids, mask = left_pad(tok, PROMPTS[:4])
    appended = torch.tensor([[10, 11, 12], [20, 21, 22], [30, 31, 32], [40, 41, 42]])
    got = [eft.prefill(ids, mask)] + [eft.step(appended[:, j]) for j in range(3)]
    for r in range(4):
        app = appended[r].tolist()
        own = {
            m: ids_of(tok, p) for m, p in ((base_l, OWN_LARGE[r]), (ft_s, PROMPTS[r]), (base_s, OWN_SMALL[r]))
        }
        full = {m: full_logp(m, own[m] + app) for m in own}
        for j in range(4):
            at = {m: full[m][len(own[m]) - 1 + j] for m in own}
            expected = torch.log_softmax(at[base_l] + beta * (at[ft_s] - at[base_s]), -1)
            torch.testing.assert_close(got[j][r].double(), expected, atol=1e-5, rtol=0)
    # the shared-prompt policy gives something else: the test can tell the prompts apart
    shared = EFTPolicy(base_l, ft_s, base_s, beta=beta, tokenizer=tok).prefill(ids, mask)
    assert not torch.allclose(shared, got[0], atol=1e-3)


def test_per_member_prompts_greedy_equals_brute_force(tok, trio):
    """The harness's cached, batched greedy decoding == token-by-token argmax of full passes."""
    base_l, ft_s, base_s = trio
    eft = bound_eft(tok, trio)
    out = generate(eft, PROMPTS[:4], max_new_tokens=8, batch_size=3, progress=False, ignore_eos=True)
    for r in range(4):
        own = [
            (base_l, ids_of(tok, OWN_LARGE[r]), 1.0),
            (ft_s, ids_of(tok, PROMPTS[r]), 1.0),
            (base_s, ids_of(tok, OWN_SMALL[r]), -1.0),
        ]
        cont = []
        for _ in range(8):
            total = sum(w * full_logp(m, p + cont)[-1] for m, p, w in own)
            cont.append(int(total.argmax()))
        assert out[r] == tok.decode(cont, skip_special_tokens=True)


def test_bind_prompts_errors(tok, trio):
    base_l, ft_s, base_s = trio
    eft = bound_eft(tok, trio)
    _, ids, mask = left_pad(tok, [PROMPTS[4]])  # never bound
    with pytest.raises(
        ValueError, match=r"member base_large has its own prompt format, but prompt row 0 was not bound"
    ):
        eft.prefill(ids, mask)
    with pytest.raises(ValueError, match="bound to two different prompts of member base_small"):
        eft.bind_prompts(PROMPTS[:1], {"base_small": [words([1, 2])]})
    with pytest.raises(ValueError, match="2 prompts for member base_large, 1 reference"):
        eft.bind_prompts(PROMPTS[:1], {"base_large": OWN_LARGE[:2]})
    with pytest.raises(ValueError, match="no EFT member has role 'nope'"):
        eft.bind_prompts(PROMPTS[:1], {"nope": PROMPTS[:1]})
    with pytest.raises(
        ValueError, match=r"prompt_formats must give one format per EFT role .* missing \['base_small'\]"
    ):
        EFTPolicy(
            base_l, ft_s, base_s, tokenizer=tok, prompt_formats={"base_large": "native", "ft_small": "chat"}
        )
    with pytest.raises(ValueError, match="unknown format"):
        EFTPolicy(
            base_l,
            ft_s,
            base_s,
            tokenizer=tok,
            prompt_formats={"base_large": "native", "ft_small": "chat", "base_small": "bogus"},
        )
    with pytest.raises(ValueError, match="same model but have prompt formats"):
        EFTPolicy(
            base_l,
            ft_s,
            base_l,
            tokenizer=tok,
            prompt_formats={"base_large": "native", "ft_small": "chat", "base_small": "chat"},
        )
    with pytest.raises(ValueError, match="needs prompt_formats"):
        EFTPolicy(base_l, ft_s, base_s, tokenizer=tok).render_prompts(["q"], "math")


def test_teacher_forced_eft_logprobs(tok, trio):
    """Completion log-probs under the EFT combination == the combination of full passes; a one-model
    policy (all roles the same model) == sequence_logprobs of that model."""
    from sahlab.eft.knowledge import eft_completion_logprobs
    from sahlab.eval.generate import sequence_logprobs

    base_l, ft_s, base_s = trio
    pairs = [(PROMPTS[0], "w5 w6"), (PROMPTS[1], "w1"), (PROMPTS[2], "w9 w9 w9 w2")]
    eft = EFTPolicy(base_l, ft_s, base_s, beta=1.0, tokenizer=tok)
    got = eft_completion_logprobs(eft, pairs, batch_size=2)
    for (p, c), lp in zip(pairs, got):
        ctx, comp = ids_of(tok, p), ids_of(tok, c)
        seq = ctx + comp
        total = torch.log_softmax(full_logp(base_l, seq) + full_logp(ft_s, seq) - full_logp(base_s, seq), -1)
        expected = [float(total[len(ctx) - 1 + j, t]) for j, t in enumerate(comp)]
        np.testing.assert_allclose(lp, expected, atol=1e-5)
    alone = EFTPolicy(ft_s, ft_s, ft_s, tokenizer=tok)
    assert [n for n, _, _ in alone.members] == ["base_large = ft_small = base_small"]
    for a, b in zip(
        eft_completion_logprobs(alone, pairs), sequence_logprobs(ft_s, tok, pairs, progress=False)
    ):
        np.testing.assert_allclose(a, b, atol=1e-5)

"""Speculative up-scaling: the accept/reject core against its analytic output distribution, greedy
equality with plain EFT decoding, and sampled outputs against the exact EFT distribution."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
stats = pytest.importorskip("scipy.stats")

from test_eft import OWN_LARGE, OWN_SMALL, PROMPTS, make_model, make_tokenizer  # noqa: E402

from sahlab.eft import EFTPolicy, greedy_accept, speculative_accept, speculative_generate  # noqa: E402
from sahlab.eval.generate import generate  # noqa: E402
from sahlab.eval.policy import ModelPolicy  # noqa: E402


def chi_square_p(counts: dict, expected_probs: dict, n: int) -> float:
    """Pearson chi-square p-value; cells expected below 5 are pooled into one."""
    obs, exp, pool_o, pool_e = [], [], 0.0, 0.0
    for cell, prob in expected_probs.items():
        if prob * n < 5:
            pool_o += counts.get(cell, 0)
            pool_e += prob * n
        else:
            obs.append(counts.get(cell, 0))
            exp.append(prob * n)
    unexpected = sum(c for cell, c in counts.items() if expected_probs.get(cell, 0.0) == 0.0)
    assert unexpected == 0, f"{unexpected} samples fell in cells of probability 0"
    if pool_e > 0:
        obs.append(pool_o)
        exp.append(pool_e)
    scale = sum(obs) / sum(exp)  # absorbs float rounding of the probabilities
    return float(stats.chisquare(obs, [e * scale for e in exp]).pvalue)


def test_greedy_accept_on_hand_made_scores():
    p = torch.tensor(
        [
            [[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.1, 0.1, 0.8]],
            [[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.1, 0.1, 0.8]],
            [[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.1, 0.1, 0.8]],
        ]
    ).log()
    drafts = torch.tensor([[1, 0], [1, 2], [0, 0]])  # all match / second wrong / first wrong
    n, nxt = greedy_accept(p, drafts)
    assert n.tolist() == [2, 1, 0]
    assert nxt.tolist() == [2, 0, 1]  # bonus argmax / correction argmax at the first mismatch


def test_speculative_accept_output_distribution_is_analytic():
    """k = 2, V = 4, fixed p and q per position; the law of (accepted count, emitted tokens) is exact:
    P(n=0, y) = max(0, p0−q0)(y); P(n=1, x, y) = min(p0,q0)(x)·max(0, p1−q1)(y);
    P(n=2, x, z, y) = min(p0,q0)(x)·min(p1,q1)(z)·p2(y). Zeros in p and q exercise the edge cases."""
    p = torch.tensor(
        [[0.5, 0.3, 0.2, 0.0], [0.1, 0.1, 0.4, 0.4], [0.25, 0.25, 0.25, 0.25]], dtype=torch.float64
    )
    q = torch.tensor([[0.2, 0.2, 0.2, 0.4], [0.0, 0.3, 0.3, 0.4]], dtype=torch.float64)
    n_samples = 60000
    gen = torch.Generator().manual_seed(123)
    drafts = torch.stack(
        [torch.multinomial(q[j], n_samples, replacement=True, generator=gen) for j in range(2)], 1
    )
    n, nxt = speculative_accept(p.expand(n_samples, -1, -1), q.expand(n_samples, -1, -1), drafts, gen)

    lo = torch.minimum(p[:2], q)
    hi = (p[:2] - q).clamp_min(0)
    expected = {}
    for y in range(4):
        expected[(0, y)] = float(hi[0, y])
        for x in range(4):
            expected[(1, x, y)] = float(lo[0, x] * hi[1, y])
            for z in range(4):
                expected[(2, x, z, y)] = float(lo[0, x] * lo[1, z] * p[2, y])
    assert sum(expected.values()) == pytest.approx(1.0)
    counts: dict = {}
    for row, (acc, tok) in enumerate(zip(n.tolist(), nxt.tolist())):
        cell = (acc, *drafts[row, :acc].tolist(), tok)
        counts[cell] = counts.get(cell, 0) + 1
    assert chi_square_p(counts, expected, n_samples) > 0.01
    # the first emitted token follows p0 exactly, the accepted count has the analytic rate
    first = [drafts[r, 0].item() if n[r] > 0 else nxt[r].item() for r in range(n_samples)]
    assert (
        chi_square_p(
            {(t,): first.count(t) for t in range(4)}, {(t,): float(p[0, t]) for t in range(4)}, n_samples
        )
        > 0.01
    )
    alpha0 = float(lo[0].sum())
    assert (n > 0).double().mean().item() == pytest.approx(
        alpha0, abs=4 * (alpha0 * (1 - alpha0) / n_samples) ** 0.5
    )
    assert first.count(3) == 0  # p0(3) = 0: never emitted although the draft proposes it 40% of the time
    # the chi-square has power: the same samples against a uniform law are rejected
    assert (
        chi_square_p({(t,): first.count(t) for t in range(4)}, {(t,): 0.25 for t in range(4)}, n_samples)
        < 1e-6
    )


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    tok = make_tokenizer()
    return tok, make_model(tok, 1, True), make_model(tok, 2, False), make_model(tok, 3, False)


@pytest.mark.parametrize("k,own_prompts", [(1, False), (3, False), (1, True), (3, True)])
def test_speculative_greedy_equals_plain_eft_greedy(setup, k, own_prompts):
    """Also with per-member prompts (each base member prefilled with its own, differently long prompt)."""
    tok, base_l, ft_s, base_s = setup
    eft = EFTPolicy(base_l, ft_s, base_s, beta=1.0, tokenizer=tok)
    prompts = PROMPTS
    if own_prompts:
        prompts = PROMPTS[:4]
        eft.bind_prompts(prompts, {"base_large": OWN_LARGE, "base_small": OWN_SMALL})
        shared = generate(
            EFTPolicy(base_l, ft_s, base_s, beta=1.0, tokenizer=tok),
            prompts,
            ignore_eos=True,
            max_new_tokens=14,
            batch_size=4,
            progress=False,
        )
    kwargs = dict(max_new_tokens=14, batch_size=4, progress=False)
    plain = generate(eft, prompts, ignore_eos=True, **kwargs)
    if own_prompts:
        assert plain != shared  # the members' own prompts change the decoding
    spec = speculative_generate(eft, prompts, k=k, ignore_eos=True, **kwargs)
    assert spec.outputs == plain
    assert all(len(ids) == 14 for ids in spec.token_ids)
    s = spec.stats
    assert 0 <= s["accepted"] <= s["proposed"] and s["k"] == k
    assert s["tokens_per_verification"] == pytest.approx(1 + s["accepted"] / (s["proposed"] / k), rel=0.2)

    # Stopping rules as in the harness: take a word and a token that plain decoding does produce.
    seen = [w for out in plain for w in out.split()]
    stop, eos_word = seen[len(seen) // 3], seen[2 * len(seen) // 3]
    eos_id = tok.convert_tokens_to_ids(eos_word)
    plain = generate(eft, prompts, stop_strings=[stop], eos_token_ids=[eos_id], **kwargs)
    spec = speculative_generate(eft, prompts, k=k, stop_strings=[stop], eos_token_ids=[eos_id], **kwargs)
    assert spec.outputs == plain
    assert any(len(ids) < 14 for ids in spec.token_ids)


def test_speculative_greedy_with_outside_draft_model(setup):
    """A draft that is not an EFT member is advanced and rewound alongside the members."""
    tok, base_l, ft_s, base_s = setup
    eft = EFTPolicy(base_l, ft_s, base_s, beta=0.5, tokenizer=tok)
    other = make_model(tok, 7, False)
    plain = generate(eft, PROMPTS, max_new_tokens=10, batch_size=3, progress=False, ignore_eos=True)
    spec = speculative_generate(
        eft, PROMPTS, max_new_tokens=10, k=2, batch_size=3, progress=False, ignore_eos=True, draft=other
    )
    assert spec.outputs == plain


def test_draft_equal_to_target_accepts_everything(setup):
    """base_small is base_large: EFT == ft_small, so its own drafts are always accepted."""
    tok, base_l, ft_s, _ = setup
    eft = EFTPolicy(base_l, ft_s, base_l, tokenizer=tok)
    for temperature in (0.0, 1.0):
        spec = speculative_generate(
            eft,
            PROMPTS,
            max_new_tokens=13,
            k=3,
            batch_size=6,
            progress=False,
            ignore_eos=True,
            temperature=temperature,
            seed=5,
        )
        assert spec.stats["acceptance_rate"] == 1.0
        # rounds emit 4, 4, 4, then 1 token (the budget caps the last draft): 13 tokens / 4 verifications
        assert spec.stats["tokens_per_verification"] == pytest.approx(13 / 4)
        assert spec.stats["verifications"] == 4


def test_sampling_is_seeded(setup):
    tok, base_l, ft_s, base_s = setup
    eft = EFTPolicy(base_l, ft_s, base_s, tokenizer=tok)
    runs = [
        speculative_generate(
            eft, PROMPTS, max_new_tokens=8, k=2, progress=False, temperature=1.0, seed=s, ignore_eos=True
        ).token_ids
        for s in (11, 11, 12)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.parametrize("k,temperature,own_prompts", [(2, 1.0, False), (1, 0.7, False), (2, 1.0, True)])
def test_speculative_samples_follow_the_eft_distribution(k, temperature, own_prompts):
    """Tiny vocabulary (12 tokens): the first two sampled tokens of two prompts (different lengths, one
    batch) against the exact EFT joint law computed from uncached forward passes; chi-square p > 0.01.
    The same samples against the draft model's own law must be rejected (the test has power).
    own_prompts: the two base members are prefilled with their own (other, differently long) prompts."""
    torch.set_num_threads(1)
    tok = make_tokenizer(n_words=7)
    vocab = len(tok)
    base_l, ft_s, base_s = (
        make_model(tok, seed, large, sharpen=3.0) for seed, large in ((21, True), (22, False), (23, False))
    )
    eft = EFTPolicy(base_l, ft_s, base_s, beta=1.0, tokenizer=tok)
    prompts = ["<|bos|> w1 w2", "<|bos|> w4 w0 w6 w3 w5"]
    own = {base_l: prompts, ft_s: prompts, base_s: prompts}
    if own_prompts:
        own[base_l] = ["<|bos|> w3 w3 w0 w1 w6 w2 w2", "<|bos|> w5"]
        own[base_s] = ["<|bos|> w6 w6 w6", "<|bos|> w0 w1 w2 w3 w4 w5 w6 w0"]
        eft.bind_prompts(prompts * 2500, {"base_large": own[base_l] * 2500, "base_small": own[base_s] * 2500})
    per_prompt = 2500
    result = speculative_generate(
        eft,
        prompts * per_prompt,
        max_new_tokens=3,
        k=k,
        batch_size=len(prompts) * per_prompt,
        temperature=temperature,
        seed=7,
        progress=False,
        ignore_eos=True,
    )
    assert result.stats["proposed"] > 0 and 0 < result.stats["acceptance_rate"] < 1

    def joint(weights):  # exact law of the first two tokens under softmax(Σ w·log π / T)
        def logp(i, conts):  # each member continues its own rendering of prompt i
            with torch.no_grad():
                total = 0
                for m, w in weights:
                    ids = tok(own[m][i], add_special_tokens=False)["input_ids"]
                    seqs = torch.tensor([ids + c for c in conts])
                    total = total + w * torch.log_softmax(m(seqs).logits[:, -1].double(), -1)
            return torch.softmax(torch.log_softmax(total, -1) / temperature, -1)

        out = {}
        for i, prompt in enumerate(prompts):
            first = logp(i, [[]])[0]
            second = logp(i, [[t] for t in range(vocab)])
            out[prompt] = {
                (a, b): float(first[a] * second[a, b]) for a, b in itertools.product(range(vocab), repeat=2)
            }
        return out

    exact = joint([(base_l, 1.0), (ft_s, 1.0), (base_s, -1.0)])
    draft_law = joint([(ft_s, 1.0)])
    for prompt in prompts:
        counts: dict = {}
        for r in range(prompts.index(prompt), len(result.token_ids), len(prompts)):
            cell = tuple(result.token_ids[r][:2])
            counts[cell] = counts.get(cell, 0) + 1
        assert sum(counts.values()) == per_prompt
        assert chi_square_p(counts, exact[prompt], per_prompt) > 0.01
        assert chi_square_p(counts, draft_law[prompt], per_prompt) < 1e-4


def test_bad_arguments(setup):
    tok, base_l, ft_s, base_s = setup
    eft = EFTPolicy(base_l, ft_s, base_s, tokenizer=tok)
    with pytest.raises(ValueError, match=r"k \(drafted tokens per verification\) must be >= 1"):
        speculative_generate(eft, PROMPTS, 4, k=0)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        speculative_generate(eft, PROMPTS, 4, temperature=-1.0)
    with pytest.raises(ValueError, match="different vocabularies"):
        speculative_generate(eft, PROMPTS, 4, draft=ModelPolicy(ft_s, make_tokenizer(prefix="v")))
    assert speculative_generate(eft, [], 4).outputs == []
    assert speculative_generate(eft, PROMPTS[:2], 0).outputs == ["", ""]


def test_forward_flops_and_flop_weighted_speedup(setup):
    from sahlab.eft.speculative import flop_weighted_speedup, forward_flops_per_token

    tok, base_l, ft_s, base_s = setup
    for m in (base_l, ft_s):
        cfg = m.config
        h, f, L, v = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, cfg.vocab_size
        kv = cfg.num_key_value_heads * h // cfg.num_attention_heads
        per_layer = h * h * 2 + h * kv * 2 + 3 * h * f + 2 * h  # q, o; k, v; gate/up/down; two norms
        assert forward_flops_per_token(m) == 2 * (L * per_layer + h + v * h)  # + final norm + untied head
    eft = EFTPolicy(base_l, ft_s, base_s, tokenizer=tok)
    f = {id(m): forward_flops_per_token(m) for m in (base_l, ft_s, base_s)}
    stats = {"row_tokens": 30, "row_draft_steps": 40, "row_verifications": 10}
    expected = 30 * sum(f.values()) / (40 * f[id(ft_s)] + 10 * (f[id(base_l)] + f[id(base_s)]))
    assert flop_weighted_speedup(eft, stats) == pytest.approx(expected)
    # the draft is the target (base_small is base_large: EFT == ft_small) and everything is accepted:
    # 13 tokens from 12 draft passes (prefill aside) -> 13/12, plain-decoding cost almost exactly
    same = EFTPolicy(base_l, ft_s, base_l, tokenizer=tok)
    spec = speculative_generate(
        same, PROMPTS, max_new_tokens=13, k=3, batch_size=6, progress=False, ignore_eos=True
    )
    assert flop_weighted_speedup(same, spec.stats) == pytest.approx(13 / 12)

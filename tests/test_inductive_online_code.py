"""Online code length (bits), block split, probes and LM features of sahlab.inductive."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sahlab.inductive.online_code import (
    DEFAULT_FRACTIONS,
    balanced_order,
    block_boundaries,
    codelength_bits,
    online_codelength,
)
from sahlab.inductive.probes import (
    FinetuneProbe,
    LinearProbe,
    MLPProbe,
    extract_features,
    mdl_over_seeds,
    relative_extractability,
)


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


# --------------------------------------------------------------------------- blocks
def test_default_fractions_sum_to_100_percent():
    assert sum(DEFAULT_FRACTIONS) == pytest.approx(100.0)
    assert len(DEFAULT_FRACTIONS) == 11


def test_block_ends_n1000_by_hand():
    # cumulative 0.1,0.2,0.4,0.8,1.6,3.2,6.25,12.5,25,50,100 % of 1000 (62.5 rounds up)
    assert block_boundaries(1000) == [1, 2, 4, 8, 16, 32, 63, 125, 250, 500, 1000]
    # min_first=2 raises the first end to 2, which then coincides with the second: merged
    assert block_boundaries(1000, min_first=2) == [2, 4, 8, 16, 32, 63, 125, 250, 500, 1000]


def test_block_ends_small_n_drop_empty_blocks():
    # n=20: raw ends 0,0,0,0,0,1,1,3(2.5),5,10,20 -> raised to >=1 -> repeated ends dropped
    assert block_boundaries(20) == [1, 3, 5, 10, 20]
    assert block_boundaries(1) == [1]
    for n in range(1, 400):
        for min_first in (1, 2, 3):
            if min_first > n:
                continue
            ends = block_boundaries(n, min_first=min_first)
            assert ends[-1] == n and ends[0] >= min_first
            assert all(b > a for a, b in zip(ends, ends[1:]))
            assert len(ends) <= len(DEFAULT_FRACTIONS)


def test_block_boundaries_rejects_bad_input():
    with pytest.raises(ValueError, match="fractions"):
        block_boundaries(100, fractions=(10, -1, 91))
    with pytest.raises(ValueError, match="n must be"):
        block_boundaries(0)
    with pytest.raises(ValueError, match="min_first"):
        block_boundaries(5, min_first=6)


def test_balanced_order_keeps_class_proportions_in_every_prefix():
    y = np.array([0] * 700 + [1] * 300)
    order = balanced_order(y, seed=3)
    assert sorted(order.tolist()) == list(range(1000))
    ones = np.cumsum(y[order])
    m = np.arange(1, 1001)
    assert np.all(np.abs(ones - 0.3 * m) <= 1.0)
    # three classes, unequal sizes
    y3 = np.repeat([0, 1, 2], [50, 30, 20])
    o3 = balanced_order(y3, seed=0)
    for c, frac in ((0, 0.5), (1, 0.3), (2, 0.2)):
        assert np.all(np.abs(np.cumsum(y3[o3] == c) - frac * np.arange(1, 101)) <= 1.0)


def test_balanced_order_seeded():
    y = np.random.default_rng(0).integers(0, 2, 200)
    assert np.array_equal(balanced_order(y, 1), balanced_order(y, 1))
    assert not np.array_equal(balanced_order(y, 1), balanced_order(y, 2))


# --------------------------------------------------------------------------- code length
def _recording_probe(y_all, calls):
    """A fixed 'probe' whose p(true label) = 1 - 1/(2 + m), m = its number of training rows.

    X holds each example's index, so the probe can look up the true label.
    """

    def train(X_train, y_train, seed):
        idx = X_train[:, 0].astype(int)
        assert np.array_equal(y_all[idx], y_train)  # labels travel with their rows
        calls.append((set(idx.tolist()), seed))
        m = len(idx)
        p_true = 1 - 1 / (2 + m)

        def predict(X):
            yy = y_all[X[:, 0].astype(int)]
            probs = np.full((len(yy), 2), 1 - p_true)
            probs[np.arange(len(yy)), yy] = p_true
            return probs

        return predict

    return train


def test_online_codelength_equals_hand_computation_in_bits():
    n = 1000
    y = np.array([0, 1] * 500)
    X = np.arange(n, dtype=float)[:, None]
    calls: list = []
    res = online_codelength(X, y, _recording_probe(y, calls), n_classes=2, seed=7, uniform_mix=0.0)
    ends = [2, 4, 8, 16, 32, 63, 125, 250, 500, 1000]  # see test_block_ends_n1000_by_hand
    expected = 2 * 1.0  # block 0: 2 examples × log2(2) bits
    per_block = [2.0]
    for prev, end in zip(ends[:-1], ends[1:]):
        bits = (end - prev) * -math.log2(1 - 1 / (2 + prev))
        per_block.append(bits)
        expected += bits
    assert res["block_ends"] == ends
    assert res["total_bits"] == pytest.approx(expected, rel=1e-12)
    assert res["per_block_bits"] == pytest.approx(per_block, rel=1e-12)
    assert res["uniform_bits"] == pytest.approx(1000.0)
    assert res["compression"] == pytest.approx(1000.0 / expected)
    assert res["final_accuracy"] == 1.0  # the recording probe puts most mass on the true label
    # one fresh probe per block after the first, trained on exactly the earlier blocks
    assert [len(c[0]) for c in calls] == ends[:-1]
    assert all(seed == 7 for _, seed in calls)
    assert all(a < b for (a, _), (b, _) in zip(calls, calls[1:]))  # strictly nested prefixes


def test_uniform_block_charge_and_uniform_probe():
    n, k = 1000, 3
    y = np.arange(n) % k
    X = np.zeros((n, 1))

    def uniform_probe(Xt, yt, seed):
        return lambda Z: np.full((len(Z), k), 1 / k)

    res = online_codelength(X, y, uniform_probe, n_classes=k, seed=0)
    assert res["block_ends"][0] == 3  # min_first = n_classes
    assert res["per_block_bits"][0] == pytest.approx(3 * math.log2(3))
    assert res["total_bits"] == pytest.approx(n * math.log2(3), rel=1e-9)
    assert res["compression"] == pytest.approx(1.0, rel=1e-9)


def test_final_accuracy_is_the_last_blocks():
    """The last probe (trained on the first half) scored on the second half: a probe that is
    right only on even-indexed rows gets exactly their share of the last block."""
    n = 400
    y = np.arange(n) % 2
    X = np.arange(n, dtype=float)[:, None]

    def half_right(Xt, yt, seed):
        def predict(Z):
            idx = np.asarray(Z)[:, 0].astype(int)
            right = idx % 4 < 2
            lab = np.where(right, y[idx], 1 - y[idx])
            return np.eye(2)[lab] * 0.9 + 0.05

        return predict

    res = online_codelength(X, y, half_right, n_classes=2, seed=3)
    last = balanced_order(y, 3)[res["block_ends"][-2] :]
    assert res["final_accuracy"] == pytest.approx(np.mean(last % 4 < 2))
    assert 0.3 < res["final_accuracy"] < 0.7


def test_codelength_bits_uniform_mixture_by_hand():
    probs = np.array([[1.0, 0.0], [0.25, 0.75]])
    y = np.array([1, 1])
    eps = 0.01
    expected = -math.log2(eps / 2) - math.log2((1 - eps) * 0.75 + eps / 2)
    assert codelength_bits(probs, y, eps) == pytest.approx(expected)
    assert codelength_bits(probs[1:], y[1:], 0.0) == pytest.approx(-math.log2(0.75))
    with pytest.raises(ValueError, match="sum to 1"):
        codelength_bits(np.array([[0.5, 0.6]]), np.array([0]))


def test_online_codelength_rejects_zero_probability_and_bad_labels():
    y = np.array([0, 1] * 10)
    X = np.zeros((20, 1))

    def certain_wrong(Xt, yt, seed):
        return lambda Z: np.tile([1.0, 0.0], (len(Z), 1))

    with pytest.raises(ValueError, match="probability 0"):
        online_codelength(X, y, certain_wrong, 2, 0, uniform_mix=0.0)
    # with the default uniform mixture the same probe costs a large but finite length
    assert math.isfinite(online_codelength(X, y, certain_wrong, 2, 0)["total_bits"])
    with pytest.raises(ValueError, match="n_classes"):
        online_codelength(X, y + 1, certain_wrong, 2, 0)
    with pytest.raises(ValueError, match="rows"):
        online_codelength(X[:5], y, certain_wrong, 2, 0)


# --------------------------------------------------------------------------- real probes
def _token_data(n: int, seed: int):
    """Length-10 digit sequences as bag-of-token counts; label = token 3 present, and a random label."""
    rng = np.random.default_rng(seed)
    seqs = rng.integers(0, 10, size=(n, 10))
    X = np.stack([(seqs == v).sum(1) for v in range(10)], 1).astype(float)
    return X, (seqs == 3).any(1).astype(int), rng.integers(0, 2, n)


@pytest.mark.parametrize("probe", [LinearProbe(2), MLPProbe(2)], ids=["linear", "mlp"])
def test_deterministic_token_feature_has_much_lower_mdl_than_random_label(probe):
    X, y_det, y_rand = _token_data(400, seed=0)
    det = online_codelength(X, y_det, probe, 2, seed=0)
    rand = online_codelength(X, y_rand, probe, 2, seed=0)
    assert det["total_bits"] < 0.4 * rand["total_bits"]
    assert det["compression"] > 2.5
    # random labels cannot be compressed much below the uniform code
    assert rand["total_bits"] > 0.85 * rand["uniform_bits"]


def test_linear_probe_learns_and_outputs_probabilities():
    X, y, _ = _token_data(300, seed=1)
    predict = LinearProbe(2)(X[:200], y[:200], seed=0)
    p = predict(X[200:])
    assert p.shape == (100, 2) and np.allclose(p.sum(1), 1)
    assert (p.argmax(1) == y[200:]).mean() > 0.95
    with pytest.raises(ValueError, match="labels"):
        LinearProbe(2)(X[:10], np.full(10, 2), seed=0)


def test_mdl_over_seeds_and_relative_extractability():
    X, y, _ = _token_data(120, seed=2)
    probe = LinearProbe(2)
    res = mdl_over_seeds(X, y, probe, 2, seeds=(0, 1, 2), progress=False)
    singles = [online_codelength(X, y, probe, 2, s)["total_bits"] for s in (0, 1, 2)]
    assert res["per_seed_bits"] == pytest.approx(singles)
    assert res["mean_bits"] == pytest.approx(np.mean(singles))
    assert res["std_bits"] == pytest.approx(np.std(singles, ddof=1))
    assert len(set(np.round(singles, 6))) > 1  # seeds really change the block order
    with pytest.raises(ValueError, match="seeds"):
        mdl_over_seeds(X, y, probe, 2, seeds=(0, 1), progress=False)
    assert relative_extractability(300.0, 100.0) == pytest.approx(3.0)
    assert relative_extractability({"mean_bits": 50.0}, res) == pytest.approx(50.0 / res["mean_bits"])
    with pytest.raises(ValueError, match="mdl_target"):
        relative_extractability(10.0, 0.0)


# --------------------------------------------------------------------------- tiny LM
@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"<|pad|>": 0, "<|bos|>": 1, "<|eos|>": 2, "<unk>": 3, **{str(d): 4 + d for d in range(10)}}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="<|pad|>", bos_token="<|bos|>", eos_token="<|eos|>", unk_token="<unk>"
    )
    cfg = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny_lm")
    LlamaForCausalLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    rng = np.random.default_rng(0)
    texts = ["<|bos|> " + " ".join(map(str, rng.integers(0, 10, size=rng.integers(3, 8)))) for _ in range(48)]
    y = np.array(["3" in t.split() for t in texts], dtype=int)
    return str(path), texts, y


def _manual_hidden(model_dir, text, layer):
    """Hidden states of one unpadded text, straight from transformers (independent of sahlab)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    lm = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    ids = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        return lm(**ids, output_hidden_states=True).hidden_states[layer][0].numpy()


def test_extract_features_match_unpadded_forward(tiny_lm):
    path, texts, _ = tiny_lm
    lengths = [len(t.split()) for t in texts[:6]]
    assert len(set(lengths)) > 1  # the batch really needs padding
    mean = extract_features(path, texts[:6], pooling="mean", batch_size=6, progress=False)
    last1 = extract_features(path, texts[:6], pooling="last", layer=1, batch_size=6, progress=False)
    assert mean.shape == (6, 32) and mean.dtype == np.float32
    for i in range(6):
        h_final = _manual_hidden(path, texts[i], -1)
        h_1 = _manual_hidden(path, texts[i], 1)
        assert np.allclose(mean[i], h_final.mean(0), atol=1e-5)
        assert np.allclose(last1[i], h_1[-1], atol=1e-5)
    with pytest.raises(ValueError, match="pooling"):
        extract_features(path, texts[:2], pooling="max", progress=False)
    with pytest.raises(ValueError, match="model folder .*_missing' does not exist"):
        extract_features(path + "_missing", texts[:2], progress=False)


def test_finetune_probe_learns_and_is_seeded(tiny_lm):
    path, texts, y = tiny_lm
    probe = FinetuneProbe(path, n_classes=2, epochs=4, lr=3e-3, batch_size=8)
    p1 = probe(texts, y, seed=0)(texts)
    p2 = probe(texts, y, seed=0)(texts)
    assert p1.shape == (len(texts), 2) and np.allclose(p1.sum(1), 1)
    assert np.allclose(p1, p2)  # same seed, same fine-tuned copy
    majority = max(y.mean(), 1 - y.mean())
    assert (p1.argmax(1) == y).mean() >= majority + 0.15
    res = online_codelength(texts[:24], y[:24], probe, 2, seed=0)
    assert math.isfinite(res["total_bits"]) and len(res["per_block_bits"]) == len(res["block_ends"])

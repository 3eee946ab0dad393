"""BLoRA (study B): Bayesian-Bits gates and their regulariser, learned widths and ranks, and the
payload's bit accounting (sahlab.complexity.blora, programs/blora.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sahlab.complexity import blora  # noqa: E402
from sahlab.complexity.config import check_complexity_config  # noqa: E402
from sahlab.complexity.programs import blora as program  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _quantiser(gammas, rank=None):
    x = torch.linspace(-1.0, 0.7, 40).reshape(4, 10)
    q = blora.BayesianBits(x, rank_gates=0 if rank is None else len(rank))
    with torch.no_grad():
        q.gamma.copy_(torch.tensor(gammas, dtype=torch.float32))
        if rank is not None:
            q.gamma_rank.copy_(torch.tensor(rank, dtype=torch.float32))
    return q.eval(), x


@pytest.mark.parametrize(
    "gammas, width",
    [([6, 6, 6, 6], 32), ([6, 6, 6, -6], 16), ([6, 6, -6, 6], 8), ([6, -6, 6, 6], 4), ([-6, 6, 6, 6], 2)],
)
def test_width_is_the_nested_open_gates_and_values_lie_on_its_grid(gammas, width):
    q, x = _quantiser(gammas)
    assert q.width() == width
    level = blora.WIDTHS.index(width)
    step = q.scales()[level].item()
    with torch.no_grad():
        xq = q(x)
    # on the finest open grid, and within half its step of x (no clipping: 2-bit grid covers x)
    assert torch.allclose(xq / step, torch.round(xq / step), atol=1e-3)
    assert (xq - x).abs().max().item() <= step / 2 * (1 + 1e-3) + 1e-6
    m, s = q.codes(x)
    assert s == pytest.approx(step) and np.allclose(m * s, xq.numpy(), atol=1e-6)
    if width == 2:
        assert len(np.unique(m)) <= 4  # x/s_2 in [-1.5, 1.05]: at most 4 levels


def test_eval_gate_threshold_and_closed_gates():
    # open iff P(z = 0) = sigmoid(β log(-γ/ζ) - log α) < 0.34, i.e. log α > -0.936
    assert blora.gate_eval(torch.tensor([-0.90, -0.97])).tolist() == [1.0, 0.0]
    q, x = _quantiser([-2.5, 6, 6, 6])
    q.train()  # a gate at γ <= -2 stays closed even when sampled
    assert all(q.gates()[0].tolist()[k] == 0.0 for k in range(4))
    assert 0.0 <= float(blora.gate_sample(torch.zeros(1000)).mean()) <= 1.0


def test_rank_gates_are_nested_and_drop_rows():
    q, x = _quantiser([6, 6, 6, 6], rank=[6, -6, 6])  # the 2nd gate closes every later row
    assert q.rank() == 2
    with torch.no_grad():
        xq = q(x)
    assert torch.all(xq[2:] == 0) and torch.any(xq[1] != 0)


def test_regulariser_prices_open_gates():
    q, _ = _quantiser([20, 20, 20, 20])
    rq, rr = q.regularizer()
    assert rq.item() == pytest.approx(4.0, rel=1e-6) and rr.item() == 0.0
    q, _ = _quantiser([20, 20, -20, -20], rank=[20, 20, 20])
    rq, rr = q.regularizer()  # per rank gate q_2 (q_4 + q_4 q_8 + ...), averaged over the gates
    assert rq.item() == pytest.approx(2.0, rel=1e-6) and rr.item() == pytest.approx(1.0, rel=1e-6)
    q, _ = _quantiser([-20] * 4, rank=[-20] * 3)
    assert sum(t.item() for t in q.regularizer()) < 1e-6
    # the gradient of the regulariser closes gates
    q.train()
    q.gamma.data.fill_(1.0)
    q.regularizer()[0].backward()
    assert torch.all(q.gamma.grad > 0)


class _Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(6, 5, bias=False)

    def forward(self, x):
        return self.proj(x)


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([_Block(), _Block()])

    def forward(self, x):
        for b in self.layers:
            x = torch.cat([b(x), x[..., :1]], -1)
        return x


def test_payload_decodes_to_the_gated_adapter_and_counts_bits():
    model = _Tiny()
    base = {n: p.detach().clone() for n, p in model.named_parameters()}
    layers = blora.wrap(model, r=4, gamma_init=6.0, seed=0)
    assert sorted(layers) == ["layers.0.proj", "layers.1.proj"]
    assert not any(p.requires_grad for n, p in model.named_parameters() if ".base." in n)
    with torch.no_grad():
        for layer in layers.values():
            layer.E.normal_()
        l0, l1 = layers["layers.0.proj"], layers["layers.1.proj"]
        l0.qE.gamma_rank.copy_(torch.tensor([6.0, -6.0, 6.0]))  # rank 2
        l0.qA.gamma.copy_(torch.tensor([6.0, -6.0, 6.0, 6.0]))  # A at 4 bits
        l1.qB.gamma.copy_(torch.tensor([-6.0, 6.0, 6.0, 6.0]))  # B at 2 bits
    model.eval()
    x = torch.randn(3, 6)
    with torch.no_grad():
        want = model(x)
    blob, info = blora.payload(layers, level=19)
    assert info["modules"]["layers.0.proj"] == {"rank": 2, "widths": {"A": 4, "E": 32, "B": 32}}
    assert info["modules"]["layers.1.proj"] == {"rank": 4, "widths": {"A": 32, "E": 32, "B": 2}}
    # the paper's nominal count: Σ #params × width over the kept rows and columns
    assert info["nominal_bits"] == (2 * 6 * 4 + 2 * 32 + 5 * 2 * 32) + (4 * 6 * 32 + 4 * 32 + 5 * 4 * 2)
    assert info["payload_bits"] == 8 * len(blob)
    f = program.tensors(blob)
    assert f["layers.0.proj.A"].shape == (2, 6) and f["layers.0.proj.B"].shape == (5, 2)
    blora.unwrap(model, layers)
    for n, p in model.named_parameters():
        assert torch.equal(p, base[n])
    program.apply(model, blob)
    with torch.no_grad():
        got = model(x)
    assert torch.allclose(got, want, atol=1e-5)


def test_training_moves_gates_and_keeps_base_frozen(monkeypatch):
    """A few steps of the training loop on a tiny causal LM: the loss is finite, gates move
    towards closing under the regulariser, base weights stay."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    model = LlamaForCausalLM(cfg)
    base = {n: p.detach().clone() for n, p in model.named_parameters()}

    class Tok:
        pad_token_id, eos_token_id = 0, 1

    examples = [{"input_ids": [3 + i, 5, 7, 9 + i], "completion_mask": [0, 0, 1, 1]} for i in range(8)]
    monkeypatch.setattr("sahlab.train.sft.tokenize_sft_rows", lambda rows, tok, fmt: examples)
    opts = {**blora.DEFAULTS, "r": 3, "epochs": 2, "batch_size": 4, "lambda_quant": 1.0}
    layers, summary = blora.train_blora(model, Tok(), [{}] * 8, "native", opts, seed=0)
    assert summary["steps"] == 4 and math.isfinite(summary["loss"])
    assert len(layers) == 7  # q, k, v, o, gate, up, down
    g = torch.stack([layer.qA.gamma for layer in layers.values()])
    assert g.max().item() < 6.0  # pushed down from the start (γ = 6) by the regulariser
    blora.unwrap(model, layers)
    for n, p in model.named_parameters():
        assert torch.equal(p, base[n])


def test_config_fills_blora_defaults():
    cfg = {
        "scales": {"small": {}},
        "tasks": {"math": {"source": "embedded"}},
        "world": {"tasks": {"math": {"train": 64, "test": 40}}},
        "complexity": {"blora": {"r": 4}},
    }
    s = check_complexity_config(cfg)
    assert s["blora"] == {**blora.DEFAULTS, "r": 4}
    cfg["complexity"] = {}
    assert check_complexity_config(cfg)["blora"] is None

"""Uniform quantisation of state dicts and their deterministic payloads."""

import struct

import numpy as np
import pytest

from sahlab.complexity.quantize import (
    dequantize_payload,
    n_params,
    naive_bits,
    pack_nibbles,
    quantize_state_dict,
    unpack_nibbles,
)

torch = pytest.importorskip("torch")


def _sd(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "layer.1.lora_B": torch.randn(7, 3, generator=g) * 0.05,  # odd element count
        "layer.0.lora_A": torch.randn(3, 16, generator=g),
        "bias": torch.randn(5, generator=g).to(torch.bfloat16),
        "zeros": torch.zeros(2, 2),
    }


@pytest.mark.parametrize("bits", [8, 4])
def test_round_trip_error_bounded_by_half_step(bits):
    sd = _sd()
    payload, deq = quantize_state_dict(sd, bits)
    qmax = 2 ** (bits - 1) - 1
    for name, w in sd.items():
        d = deq[name]
        assert d.shape == w.shape and d.dtype == w.dtype and isinstance(d, torch.Tensor)
        w32 = w.float()
        step = w32.abs().max().item() / qmax
        err = (w32 - d.float()).abs().max().item()
        if w.dtype == torch.bfloat16:  # the dequantised value is rounded back to bf16 too
            step += 2 * w32.abs().max().item() * 2**-8
        assert err <= step / 2 * (1 + 1e-5) + 1e-12, (name, err, step)
        # at most 2*qmax+1 distinct levels survive
        assert torch.unique(d.float()).numel() <= 2 * qmax + 1
    # the payload alone reproduces the dequantised weights (receiver's view)
    back = dequantize_payload(payload)
    assert sorted(back) == sorted(sd)
    for name, w in sd.items():
        assert torch.equal(torch.from_numpy(back[name]).to(w.dtype), deq[name])


def test_payload_size_matches_bit_width():
    sd = {"w": torch.randn(64, 64)}
    for bits, want in ((16, 2 * 4096), (8, 4096), (4, 2048)):
        payload = quantize_state_dict(sd, bits)[0]
        (n_head,) = struct.unpack_from("<I", payload, 6)  # magic(4) version(1) bits(1) len(4)
        assert payload[5] == bits
        assert len(payload) - 10 - n_head == want
    assert naive_bits(sd) == 16 * 4096 and n_params(sd) == 4096


def test_16_bits_is_a_float16_cast():
    sd = _sd(1)
    payload, deq = quantize_state_dict(sd, 16)
    for name, w in sd.items():
        assert torch.equal(deq[name], w.half().to(w.dtype))
        assert np.array_equal(dequantize_payload(payload)[name], w.half().float().numpy())


def test_serialisation_is_deterministic_and_order_free():
    sd = _sd(2)
    shuffled = dict(reversed(list(sd.items())))
    for bits in (16, 8, 4):
        assert quantize_state_dict(sd, bits)[0] == quantize_state_dict(shuffled, bits)[0]
    other = _sd(3)
    assert quantize_state_dict(sd, 8)[0] != quantize_state_dict(other, 8)[0]


def test_numpy_input_keeps_numpy_output():
    rng = np.random.default_rng(0)
    sd = {"a": rng.normal(size=(4, 5)).astype(np.float32)}
    _, deq = quantize_state_dict(sd, 4)
    assert isinstance(deq["a"], np.ndarray) and deq["a"].dtype == np.float32
    assert np.abs(deq["a"] - sd["a"]).max() <= np.abs(sd["a"]).max() / 7 / 2 * (1 + 1e-6)


def test_nibble_packing_round_trip():
    q = np.array([-7, 7, 0, 3, -1], dtype=np.int8)
    packed = pack_nibbles(q)
    assert len(packed) == 3
    assert packed[0] == (((7 + 8) << 4) | (-7 + 8))  # low nibble holds the even index
    assert np.array_equal(unpack_nibbles(packed, 5), q)
    with pytest.raises(ValueError):
        pack_nibbles(np.array([8], dtype=np.int8))


def test_bad_input_is_reported():
    with pytest.raises(ValueError, match="bits must be one of"):
        quantize_state_dict({"w": torch.ones(2)}, 3)
    with pytest.raises(ValueError, match="'idx'.*floating-point"):
        quantize_state_dict({"idx": torch.arange(3)}, 8)
    with pytest.raises(ValueError, match="'w' has nan"):
        quantize_state_dict({"w": torch.tensor([1.0, float("nan")])}, 8)
    with pytest.raises(ValueError, match="empty"):
        quantize_state_dict({}, 8)
    with pytest.raises(ValueError, match="bad magic"):
        dequantize_payload(b"nope")
    payload, _ = quantize_state_dict({"w": torch.ones(10)}, 8)
    with pytest.raises(ValueError, match="truncated"):
        dequantize_payload(payload[:-3])

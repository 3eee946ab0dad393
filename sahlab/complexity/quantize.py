"""Uniform weight quantisation and a deterministic byte payload for LoRA adapters / weight deltas.

Scheme (chosen for study B): symmetric, **per-tensor** uniform quantisation. For b in {8, 4}
each tensor keeps one float32 scale s = max|w| / (2^(b-1) - 1) and integers
q = round(w / s) in [-(2^(b-1) - 1), 2^(b-1) - 1], so |w - q*s| <= s/2 for every element.
Per-tensor (rather than per-row) keeps the header to one number per tensor, which matters at
LoRA rank 1 where a per-row scale would cost as much as the weights. b = 16 is a plain float16
cast (no scale). 4-bit values are stored two per byte (low nibble first, as q + 8).

Payload layout: b"SAHQ" | version u8 | bits u8 | header length u32 LE | header JSON | data.
The header lists tensors sorted by name with shape, original dtype and scale; data follows in
the same order. Same state dict and bits -> byte-identical payload.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

ALLOWED_BITS = (16, 8, 4)
MAGIC, VERSION = b"SAHQ", 1
_FP16_MAX = float(np.finfo(np.float16).max)


def _to_numpy(name: str, t: Any) -> tuple[np.ndarray, str, bool]:
    """float32 copy of a tensor/array, its dtype name, and whether it was a torch tensor."""
    if hasattr(t, "detach"):  # torch tensor; bfloat16 has no numpy twin, so go through float32
        import torch

        if not torch.is_floating_point(t):
            raise ValueError(
                f"quantize: tensor {name!r} has dtype {t.dtype}; only floating-point weights can be quantised"
            )
        return t.detach().to("cpu", torch.float32).numpy(), str(t.dtype).removeprefix("torch."), True
    a = np.asarray(t)
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(
            f"quantize: array {name!r} has dtype {a.dtype}; only floating-point weights can be quantised"
        )
    return a.astype(np.float32), str(a.dtype), False


def quantize_array(x: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """Symmetric uniform quantisation of a float array. Returns (integer codes as int8, scale).

    For bits == 16 returns (float16 array, 1.0).
    """
    if bits not in ALLOWED_BITS:
        raise ValueError(f"quantize: bits must be one of {ALLOWED_BITS}, got {bits!r}")
    x = np.asarray(x, dtype=np.float32)
    if bits == 16:
        if np.any(np.abs(x) > _FP16_MAX):
            raise ValueError(f"quantize: |w| up to {np.abs(x).max():g} overflows float16")
        return x.astype(np.float16), 1.0
    qmax = 2 ** (bits - 1) - 1
    amax = float(np.abs(x).max()) if x.size else 0.0
    scale = float(np.float32(amax / qmax))  # stored as float32: quantise with exactly that value
    if scale == 0.0:
        return np.zeros(x.shape, dtype=np.int8), 0.0
    q = np.clip(np.rint(x / np.float32(scale)), -qmax, qmax).astype(np.int8)
    return q, scale


def dequantize_array(q: np.ndarray, scale: float, bits: int) -> np.ndarray:
    """Inverse of quantize_array, as float32."""
    if bits == 16:
        return q.astype(np.float32)
    return q.astype(np.float32) * np.float32(scale)


def pack_nibbles(q: np.ndarray) -> bytes:
    """Pack int values in [-7, 7] two per byte (low nibble = even index), stored as q + 8."""
    u = (q.ravel().astype(np.int16) + 8).astype(np.uint8)
    if u.size and (u.min() < 1 or u.max() > 15):
        raise ValueError("pack_nibbles: values must lie in [-7, 7]")
    if u.size % 2:
        u = np.append(u, np.uint8(0))
    return (u[0::2] | (u[1::2] << 4)).astype(np.uint8).tobytes()


def unpack_nibbles(data: bytes, n: int) -> np.ndarray:
    """Inverse of pack_nibbles: the first n values as int8."""
    b = np.frombuffer(data, dtype=np.uint8)
    u = np.empty(b.size * 2, dtype=np.uint8)
    u[0::2], u[1::2] = b & 0x0F, b >> 4
    return (u[:n].astype(np.int16) - 8).astype(np.int8)


def _nbytes(n: int, bits: int) -> int:
    return {16: 2 * n, 8: n, 4: (n + 1) // 2}[bits]


def quantize_state_dict(sd: Mapping[str, Any], bits: int) -> tuple[bytes, dict[str, Any]]:
    """Quantise every tensor of a state dict to `bits` in {16, 8, 4}.

    Returns (payload bytes, dequantised state dict). The dequantised tensors have the original
    shapes, dtypes and container type (torch tensor in -> torch tensor out), so they can be
    loaded back into the model to measure the performance the payload actually buys.
    """
    if bits not in ALLOWED_BITS:
        raise ValueError(f"quantize_state_dict: bits must be one of {ALLOWED_BITS}, got {bits!r}")
    if not sd:
        raise ValueError("quantize_state_dict: empty state dict")
    header, chunks, deq = [], [], {}
    for name in sorted(sd):
        if not isinstance(name, str):
            raise ValueError(f"quantize_state_dict: tensor names must be strings, got {name!r}")
        x, dtype, is_torch = _to_numpy(name, sd[name])
        if not np.all(np.isfinite(x)):
            raise ValueError(f"quantize_state_dict: tensor {name!r} has nan or inf values")
        q, scale = quantize_array(x, bits)
        if bits == 16:
            chunks.append(q.astype("<f2").tobytes())
        elif bits == 8:
            chunks.append(q.tobytes())
        else:
            chunks.append(pack_nibbles(q))
        header.append({"name": name, "shape": list(x.shape), "dtype": dtype, "scale": scale})
        d = dequantize_array(q, scale, bits)
        if is_torch:
            import torch

            deq[name] = torch.from_numpy(d).to(getattr(torch, dtype))
        else:
            deq[name] = d.astype(dtype)
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    payload = MAGIC + struct.pack("<BBI", VERSION, bits, len(head)) + head + b"".join(chunks)
    return payload, deq


def dequantize_payload(payload: bytes) -> dict[str, np.ndarray]:
    """Read a payload written by quantize_state_dict back into float32 numpy arrays.

    This is what a receiver of the program does: it needs nothing but the payload bytes.
    """
    if payload[:4] != MAGIC:
        raise ValueError("dequantize_payload: not a sahlab quantised payload (bad magic)")
    version, bits, n_head = struct.unpack_from("<BBI", payload, 4)
    if version != VERSION or bits not in ALLOWED_BITS:
        raise ValueError(f"dequantize_payload: unsupported version {version} / bits {bits}")
    start = 4 + struct.calcsize("<BBI")
    header = json.loads(payload[start : start + n_head])
    pos, out = start + n_head, {}
    for t in header:
        n = int(np.prod(t["shape"], dtype=np.int64))
        chunk = payload[pos : pos + _nbytes(n, bits)]
        pos += _nbytes(n, bits)
        if bits == 16:
            q = np.frombuffer(chunk, dtype="<f2")
        elif bits == 8:
            q = np.frombuffer(chunk, dtype=np.int8)
        else:
            q = unpack_nibbles(chunk, n)
        if q.size != n:
            raise ValueError(f"dequantize_payload: payload truncated in tensor {t['name']!r}")
        out[t["name"]] = dequantize_array(q, t["scale"], bits).reshape(t["shape"])
    if pos != len(payload):
        raise ValueError(f"dequantize_payload: {len(payload) - pos} trailing bytes")
    return out


def n_params(sd: Mapping[str, Any]) -> int:
    """Number of scalar parameters in a state dict."""
    return int(sum(int(np.prod(tuple(t.shape), dtype=np.int64)) for t in sd.values()))


def naive_bits(sd: Mapping[str, Any], bits_per_param: int = 16) -> int:
    """The uncompressed size study B reports for comparison: bits_per_param x #parameters."""
    return bits_per_param * n_params(sd)

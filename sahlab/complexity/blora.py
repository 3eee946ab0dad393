"""BLoRA, as in the task-complexity paper's code (tvergara/sah, `strategies/blora`): a LoRA adapter
in SVD form, ΔW = B · diag(E) · A, whose three factors are quantised with Bayesian Bits (van
Baalen et al. 2020) and whose rank is pruned by learned gates, trained with a regulariser that
prices every gate that stays open. The payload is the adapter at its learned widths and ranks.

- Quantiser (`BayesianBits`, one per factor): a 2-bit grid of learned step s_2, then residual
  grids s_4 = s_2/5, s_8 = s_4/17, s_16 = s_8/257, s_32 = s_16/65537, each added behind a nested
  hard-concrete gate (z_4, z_4·z_8, ...); the width is 2^(1 + #open nested gates) ∈ {2, ..., 32}.
  Rounding passes gradients straight through. Gates γ start at 6 (open); a gate with γ ≤ -2 is
  closed for good. At evaluation a gate is open iff P(z = 0) < 0.34 (the paper's threshold).
- Rank gates (E's quantiser only): r - 1 hard-concrete gates, cumulated (component k survives
  only if every gate before it does); the first component always stays.
- Regulariser (the paper's `regularizer`, constant cost per gate): with q = P(z ≠ 0),
  R_quant = Σ_rank-gates (q_2 q_4 + q_2 q_4 q_8 + ...) / (r-1) (q_2 = 1 for A and B),
  R_rank = Σ q_2 / (r-1); loss = CE + λ_q ΣR_quant + λ_r ΣR_rank.
- Optimiser: AdamW, one group for the factors (lr), one for the gates (gates_lr), one for the
  steps (scales_lr), weight decay on all; constant learning rates (the paper's Lightning setup).

The payload: per kept factor its integer codes on the finest open grid (x = s_fin · m exactly
for the quantised value) and s_fin, the rank components beyond the learned rank dropped; zstd.
`nominal_bits` is the paper's own count Σ #params × width (uncompressed), reported beside it.
"""

from __future__ import annotations

import json
import math
import random

import numpy as np
import torch
from torch import nn

from sahlab.complexity.config import BLORA_DEFAULTS as DEFAULTS  # noqa: F401 (re-exported)

WIDTHS = (2, 4, 8, 16, 32)
HC_BETA, HC_ZETA, HC_GAMMA, HC_THRES = 2.0 / 3.0, 1.1, -0.1, 0.34
_OFFSET = HC_BETA * math.log(-HC_GAMMA / HC_ZETA)  # log-odds shift of P(z = 0)
# each residual grid divides the previous step by 2^b + 1 (b = the width before it)
_DIVISORS = (5, 17, 257, 65537)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """round(x) forward, identity backward."""
    return (torch.round(x) - x).detach() + x


def gate_sample(log_alpha: torch.Tensor) -> torch.Tensor:
    """A stretched hard-concrete sample (Louizos et al. 2018) per gate, in [0, 1]."""
    u = torch.rand_like(log_alpha).clamp(1e-6, 1 - 1e-6)
    s = torch.sigmoid((torch.log(u) - torch.log(1 - u) + log_alpha) / HC_BETA)
    return (s * (HC_ZETA - HC_GAMMA) + HC_GAMMA).clamp(0.0, 1.0)


def gate_eval(log_alpha: torch.Tensor) -> torch.Tensor:
    """The deterministic gate of the paper's evaluation: open iff P(z = 0) < 0.34."""
    return (torch.sigmoid(_OFFSET - log_alpha) < HC_THRES).to(log_alpha.dtype)


def prob_open(log_alpha: torch.Tensor) -> torch.Tensor:
    """P(z ≠ 0) of a hard-concrete gate."""
    return torch.sigmoid(log_alpha - _OFFSET)


class BayesianBits(nn.Module):
    """Bayesian-Bits quantiser of one tensor; `rank_gates` > 0 adds nested gates on its rows
    (rows 1.. of E), the first row is always kept."""

    def __init__(
        self, init: torch.Tensor, rank_gates: int = 0, gamma_init: float = 6.0, s2_init: float | None = None
    ):
        super().__init__()
        amax = float(init.detach().abs().max()) if init.numel() else 0.0
        if s2_init is None:
            if amax == 0.0:
                raise ValueError("BayesianBits: an all-zero tensor needs an explicit s2_init")
            s2_init = 2.0 * amax / 3.0  # signed 2-bit grid over [-amax, amax]
        self.s_2 = nn.Parameter(torch.tensor(float(s2_init)))
        self.gamma = nn.Parameter(torch.full((4,), float(gamma_init)))  # widths 4, 8, 16, 32
        self.gamma_rank = nn.Parameter(torch.full((rank_gates,), float(gamma_init))) if rank_gates else None

    def gates(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(nested width gates z_4, z_4 z_8, z_4 z_8 z_16, z_4..z_32; row mask or None)."""
        fn = gate_sample if self.training else gate_eval
        z = torch.where(self.gamma > -2, fn(self.gamma), torch.zeros_like(self.gamma))
        rows = None
        if self.gamma_rank is not None:
            keep = torch.cumprod(fn(self.gamma_rank), 0)
            keep = round_ste(keep) if self.training else keep
            rows = torch.cat([keep.new_ones(1), keep])
        return torch.cumprod(z, 0), rows

    def scales(self) -> list[torch.Tensor]:
        out = [self.s_2.abs() + 1e-12]
        for d in _DIVISORS:
            out.append(out[-1] / d)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rnd = round_ste if self.training else torch.round
        nested, rows = self.gates()
        s = self.scales()
        xq = s[0] * rnd(x / s[0])
        for k in range(4):
            xq = xq + nested[k] * s[k + 1] * rnd((x - xq) / s[k + 1])
        if rows is not None:
            xq = xq * rows.view(-1, *([1] * (x.dim() - 1)))
        return xq

    def regularizer(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(R_quant, R_rank) as in the paper's `BayesianBitsQuantizer.regularizer`."""
        q = prob_open(self.gamma)
        if self.gamma_rank is None:
            q2, n = torch.ones(1, device=q.device), 1
        else:
            q2, n = prob_open(self.gamma_rank), self.gamma_rank.numel()
        chain = torch.cumprod(q, 0)  # q_4, q_4 q_8, ...
        reg_quant = (q2[:, None] * chain[None, :]).sum() / n
        reg_rank = q2.sum() / n if self.gamma_rank is not None else torch.zeros((), device=q.device)
        return reg_quant, reg_rank

    @torch.no_grad()
    def width(self) -> int:
        """The learned bit width (evaluation gates)."""
        was = self.training
        self.eval()
        nested, _ = self.gates()
        self.train(was)
        return WIDTHS[int(nested.sum().item())]

    @torch.no_grad()
    def rank(self) -> int:
        """Rows kept (1 + open cumulated rank gates); all rows without rank gates."""
        if self.gamma_rank is None:
            return -1
        was = self.training
        self.eval()
        _, rows = self.gates()
        self.train(was)
        return int(rows.sum().item())

    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> tuple[np.ndarray, float]:
        """The evaluation-mode quantised x as (integers m, step s) with x_q = s · m: m on the
        finest open grid (every coarser step is an integer multiple of it)."""
        was = self.training
        self.eval()
        xq = self(x).double()
        self.train(was)
        level = WIDTHS.index(self.width())
        step = float(self.scales()[level])
        return np.rint(xq.cpu().numpy() / step).astype(np.int64), step


class BLoRALinear(nn.Module):
    """A frozen linear layer plus a Bayesian-Bits-quantised SVD-form LoRA branch:
    y = W x + B_q diag(E_q) A_q x (A, B ~ N(0, 0.02²), E = 0 at the start, as in AdaLoRA)."""

    def __init__(self, base: nn.Linear, r: int, gamma_init: float, generator: torch.Generator):
        super().__init__()
        self.base = base
        out_f, in_f = base.weight.shape
        self.A = nn.Parameter(torch.randn(r, in_f, generator=generator) * 0.02)
        self.B = nn.Parameter(torch.randn(out_f, r, generator=generator) * 0.02)
        self.E = nn.Parameter(torch.zeros(r, 1))
        self.qA = BayesianBits(self.A, gamma_init=gamma_init)
        self.qB = BayesianBits(self.B, gamma_init=gamma_init)
        # E starts at zero: its 2-bit step starts at the factors' (A, B) init scale
        self.qE = BayesianBits(self.E, rank_gates=r - 1, gamma_init=gamma_init, s2_init=2.0 * 0.02 / 3.0)

    def forward(self, x):
        a, e, b = self.qA(self.A), self.qE(self.E), self.qB(self.B)
        return self.base(x) + (x @ (a * e).T) @ b.T


def wrap(model, r: int, gamma_init: float, seed: int) -> dict[str, BLoRALinear]:
    """Replace every linear layer of the decoder blocks (LoRA's "all-linear": not the head) by a
    BLoRALinear; freeze everything else. Returns {module name: layer}."""
    gen = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.requires_grad_(False)
    targets = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and ".layers." in f".{n}"]
    if not targets:
        raise ValueError("BLoRA: the model has no linear layers inside decoder blocks (.layers.)")
    out = {}
    for name, lin in targets:
        parent, _, child = name.rpartition(".")
        layer = BLoRALinear(lin, r, gamma_init, gen)
        setattr(model.get_submodule(parent), child, layer)
        out[name] = layer
    return out


def unwrap(model, layers: dict[str, BLoRALinear]) -> None:
    """Put the plain linear layers back (after the payload is read)."""
    for name, layer in layers.items():
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, layer.base)


def gate_loss(layers: dict[str, BLoRALinear]) -> tuple[torch.Tensor, torch.Tensor]:
    rq, rr = [], []
    for layer in layers.values():
        for q in (layer.qA, layer.qB, layer.qE):
            a, b = q.regularizer()
            rq.append(a)
            rr.append(b)
    return torch.stack(rq).sum(), torch.stack(rr).sum()


def _batches(examples: list[dict], batch_size: int, max_length: int, pad_id: int, rng):
    order = list(range(len(examples)))
    rng.shuffle(order)
    for i in range(0, len(order), batch_size):
        chunk = [examples[j] for j in order[i : i + batch_size]]
        length = min(max_length, max(len(e["input_ids"]) for e in chunk))
        ids = torch.full((len(chunk), length), pad_id, dtype=torch.long)
        labels = torch.full((len(chunk), length), -100, dtype=torch.long)
        mask = torch.zeros((len(chunk), length), dtype=torch.long)
        for k, e in enumerate(chunk):
            x = e["input_ids"][:length]
            m = e["completion_mask"][:length]
            ids[k, : len(x)] = torch.tensor(x)
            mask[k, : len(x)] = 1
            labels[k, : len(x)] = torch.tensor([t if c else -100 for t, c in zip(x, m)])
        yield ids, mask, labels


def train_blora(
    model, tok, rows: list[dict], prompt_format: str, opts: dict, seed: int, log=None
) -> tuple[dict[str, BLoRALinear], dict]:
    """Wrap `model` with BLoRA layers and train them (SFT, answer tokens) on `rows` (each with
    its "task"). Returns (layers, summary {"steps", "loss", "gate_loss_quant", "gate_loss_rank"})."""
    from sahlab.train.sft import tokenize_sft_rows

    torch.manual_seed(seed)
    layers = wrap(model, opts["r"], opts["gamma_init"], seed)
    params = {"f": [], "g": [], "s": []}
    for layer in layers.values():
        params["f"] += [layer.A, layer.B, layer.E]
        for q in (layer.qA, layer.qB, layer.qE):
            params["g"] += [q.gamma] + ([q.gamma_rank] if q.gamma_rank is not None else [])
            params["s"].append(q.s_2)
    wd = opts["weight_decay"]
    optim = torch.optim.AdamW(
        [
            {"params": params["f"], "lr": opts["lr"], "weight_decay": wd},
            {"params": params["g"], "lr": opts["gates_lr"], "weight_decay": wd},
            {"params": params["s"], "lr": opts["scales_lr"], "weight_decay": wd},
        ]
    )
    examples = tokenize_sft_rows(rows, tok, prompt_format)
    rng = random.Random(seed)
    model.train()
    steps, last = 0, {}
    for epoch in range(opts["epochs"]):
        for ids, mask, labels in _batches(
            examples, opts["batch_size"], opts["max_length"], tok.pad_token_id, rng
        ):
            ce = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            rq, rr = gate_loss(layers)
            loss = ce + opts["lambda_quant"] * rq + opts["lambda_rank"] * rr
            optim.zero_grad()
            loss.backward()
            optim.step()
            steps += 1
            last = {
                "loss": round(ce.item(), 4),
                "gate_loss_quant": round(rq.item(), 4),
                "gate_loss_rank": round(rr.item(), 4),
            }
        if log:
            log.info("blora epoch %d/%d: %d steps, %s", epoch + 1, opts["epochs"], steps, last)
    model.eval()
    return layers, {"steps": steps, **last}


def payload(layers: dict[str, BLoRALinear], level: int) -> tuple[bytes, dict]:
    """The trained adapter at its learned widths and ranks as a zstd blob (read by
    `programs/blora.py`), and info: payload_bits, nominal_bits (the paper's Σ #params × width),
    per-module ranks and widths."""
    import zstandard

    header, chunks, nominal, modules = [], [], 0, {}
    for name in sorted(layers):
        layer = layers[name]
        r = layer.qE.rank()
        widths = {}
        for part, q, x in (("A", layer.qA, layer.A), ("E", layer.qE, layer.E), ("B", layer.qB, layer.B)):
            m, step = q.codes(x)
            m = m[:, :r] if part == "B" else m[:r]  # components beyond the learned rank: dropped
            dtype = next(
                d for d in ("<i1", "<i2", "<i4", "<i8") if not m.size or np.abs(m).max() < np.iinfo(d).max
            )
            header.append({"name": f"{name}.{part}", "shape": list(m.shape), "scale": step, "dtype": dtype})
            chunks.append(m.astype(dtype).tobytes())
            widths[part] = q.width()
            nominal += m.size * widths[part]
        modules[name] = {"rank": r, "widths": widths}
    head = json.dumps(header, separators=(",", ":")).encode()
    raw = len(head).to_bytes(4, "little") + head + b"".join(chunks)
    blob = zstandard.ZstdCompressor(level=level).compress(raw)
    return blob, {"payload_bits": 8 * len(blob), "nominal_bits": int(nominal), "modules": modules}

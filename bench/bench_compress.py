"""Cost of pricing a program in study B, measured side by side in one run.

For two weight payloads shaped like the embedded study's largest ones — a rank-r LoRA adapter on
every linear projection of the "large" model, and a full fine-tuning delta of that model
(~5.9M parameters) — filled with random normal values, it times quantisation to 16/8/4 bits and
zstd compression at levels 3, 19 and 19 with long-distance matching (MB/s of payload in), and
the compressed sizes. It then times a few AdamW training steps of the same model on random
tokens, so the share of training time spent on pricing can be read off directly:

    ratio = (t_quantise + t_zstd) / (n_steps x t_step)      (target: < 5 %)

Usage: .venv/bin/python bench/bench_compress.py [--rank 8] [--train-steps 3] [--no-train]
Model sizes come from config/config.yaml (scales.<scale>.build) unless given on the command line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config_sizes import fill_sizes  # noqa: E402  (bench/ is on sys.path as the script folder)

from sahlab.complexity.compress import compress, decompress  # noqa: E402
from sahlab.complexity.quantize import quantize_state_dict  # noqa: E402

LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def build_model(a):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=a.vocab,
        hidden_size=a.hidden,
        num_hidden_layers=a.layers,
        num_attention_heads=a.heads,
        num_key_value_heads=a.heads,
        intermediate_size=a.intermediate,
        max_position_embeddings=max(512, a.seq_len),
    )
    return LlamaForCausalLM(cfg)


def payloads(model, rank: int) -> dict[str, dict]:
    """Random-normal state dicts with the shapes of a LoRA adapter and of a full delta."""
    import torch

    g = torch.Generator().manual_seed(1)
    lora = {}
    for name, mod in model.named_modules():
        if name.rsplit(".", 1)[-1] in LINEAR:
            lora[f"{name}.lora_A.weight"] = torch.randn(rank, mod.in_features, generator=g) * 0.02
            lora[f"{name}.lora_B.weight"] = torch.randn(mod.out_features, rank, generator=g) * 0.02
    full = {
        k: torch.randn(v.shape, generator=g) * 1e-3
        for k, v in model.state_dict().items()
        if v.is_floating_point()
    }
    return {f"LoRA r={rank}": lora, "full delta": full}


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def bench_pricing(sds: dict[str, dict]) -> dict[str, float]:
    """Print one table row per (payload, bits, zstd mode); return the level-19 pricing times."""
    modes = [("zstd-3", 3, False), ("zstd-19", 19, False), ("zstd-19-long", 19, True)]
    print(f"{'':<47}" + "".join(f"{'--- ' + m + ' ---':>27}" for m, _, _ in modes))
    print(
        f"{'payload':<14}{'params':>10}{'bits':>5}{'raw MB':>9}{'quant s':>9}"
        + f"{'MB/s':>9}{'out MB':>10}{'ratio':>8}" * len(modes)
    )
    cost = {}
    for label, sd in sds.items():
        n = sum(v.numel() for v in sd.values())
        for bits in (16, 8, 4):
            (payload, _), tq = timed(quantize_state_dict, sd, bits)
            mb = len(payload) / 1e6
            row = f"{label:<14}{n:>10,}{bits:>5}{mb:>9.3f}{tq:>9.3f}"
            for mode, level, long in modes:
                blob, tz = timed(compress, payload, level=level, long=long)
                assert decompress(blob) == payload
                row += f"{mb / tz:>9.1f}{len(blob) / 1e6:>10.3f}{len(blob) / len(payload):>8.3f}"
                if mode == "zstd-19":
                    cost[f"{label} @{bits}b"] = tq + tz
            print(row, flush=True)
    return cost


def bench_training(model, a) -> float:
    """Seconds per AdamW step (forward + backward + update) on random tokens."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, a.vocab, (a.batch_size, a.seq_len), generator=torch.Generator().manual_seed(2))
    model.train()

    def step():
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()  # warm-up (allocations, kernel selection)
    t = time.perf_counter()
    for _ in range(a.train_steps):
        step()
    return (time.perf_counter() - t) / a.train_steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    p.add_argument("--scale", default="large")
    p.add_argument("--rank", type=int, default=8, help="LoRA rank (largest default)")
    for k in ("hidden", "layers", "heads", "intermediate", "vocab"):
        p.add_argument(f"--{k}", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--train-steps", type=int, default=3)
    p.add_argument("--no-train", action="store_true", help="skip the training-step timing")
    a = p.parse_args()

    fill_sizes(a)

    import torch

    print(
        f"model: hidden={a.hidden} layers={a.layers} heads={a.heads} "
        f"intermediate={a.intermediate} vocab={a.vocab}; torch threads={torch.get_num_threads()}, "
        f"load average={os.getloadavg()[0]:.2f}\n"
    )
    model = build_model(a)
    cost = bench_pricing(payloads(model, a.rank))

    print()
    if a.no_train:
        print("training not timed (--no-train); ratio = (t_quantise + t_zstd) / (n_steps x t_step)")
        return
    t_step = bench_training(model, a)
    print(
        f"training: {t_step:.2f} s per AdamW step (batch {a.batch_size} x {a.seq_len} tokens, "
        f"full model; a LoRA step costs about the same forward/backward)"
    )
    print(
        "\npricing time at zstd-19 / training time  (ratio = (t_quantise + t_zstd) / "
        "(n_steps x t_step); target < 5 %)"
    )
    print(f"{'payload':<22}{'pricing s':>10}{'= steps':>9}{'ratio @100 steps':>18}{'steps for < 5 %':>17}")
    for label, t in cost.items():
        print(
            f"{label:<22}{t:>10.2f}{t / t_step:>9.2f}{t / (100 * t_step):>17.2%}"
            f"{int(np.ceil(20 * t / t_step)):>17}"
        )


if __name__ == "__main__":
    main()

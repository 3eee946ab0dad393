"""Pre-training throughput and MFU on this machine, measured side by side in one run.

(a) fp32 matmul FLOP/s: torch.matmul of square matrices, all threads, measured right before and
    after each training variant (their mean is that variant's MFU denominator; the spread shows
    how much other load the shared machine had).
(b) training throughput of a Llama model through `sahlab.models.pretrain.make_trainer` (the HF
    Trainer path `pretrain` uses) and, for comparison, through a plain PyTorch loop doing the same
    work (AdamW, cosine schedule, grad clipping, same model and data).

FLOPs per trained token = 6 * N_matmul + 12 * n_layers * hidden * seq_len, where N_matmul counts
the parameters used in matrix products (all but the input embedding, the LM head included) and
the second term is attention scores and values, forward + backward, counted over the full
seq_len x seq_len matrix (PaLM's convention; causal masking would halve the real work).
MFU = achieved FLOP/s / measured matmul FLOP/s.

    python bench/bench_pretrain.py                       # sizes of "large" in config/config.yaml
    python bench/bench_pretrain.py --hidden 128 --layers 4 --heads 4 --intermediate 512
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402  (a benchmark needs torch anyway)
from config_sizes import fill_sizes  # noqa: E402  (bench/ is on sys.path as the script folder)

from sahlab.models.pretrain import PackedBlocks, build_model, make_trainer, resolve_hparams  # noqa: E402
from sahlab.models.tokenizer import train_tokenizer  # noqa: E402


def matmul_flops(n: int, reps: int) -> tuple[float, float]:
    """fp32 FLOP/s of n x n @ n x n products (2 n^3 FLOPs each), best of 3 rounds of `reps`:
    (per wall-clock second, per process-CPU second / threads)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    best_wall = best_cpu = 0.0
    for _ in range(3):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(reps):
            torch.matmul(a, b)
        flops = 2 * n**3 * reps
        best_wall = max(best_wall, flops / (time.perf_counter() - w0))
        best_cpu = max(best_cpu, flops / ((time.process_time() - c0) / torch.get_num_threads()))
    return best_wall, best_cpu


def flops_per_token(model, seq_len: int) -> tuple[int, int]:
    """(6 N_matmul, attention term) training FLOPs per token; see the module docstring."""
    cfg = model.config
    n_matmul = model.num_parameters() - model.get_input_embeddings().weight.numel()
    if cfg.tie_word_embeddings:  # the tied matrix still does the LM-head product
        n_matmul += model.get_input_embeddings().weight.numel()
    n_matmul -= sum(p.numel() for n, p in model.named_parameters() if "norm" in n)
    return 6 * n_matmul, 12 * cfg.num_hidden_layers * cfg.hidden_size * seq_len


def bench_tokenizer(vocab: int, out_dir: Path):
    """A real tokenizer of the requested size, trained on random pseudo-words (content is irrelevant)."""
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(20000)]
    texts = [" ".join(rng.choice(words) for _ in range(200)) for _ in range(500)]
    return train_tokenizer(texts, vocab, out_dir)


def run_trainer(
    build, tokenizer, blocks, hp, warmup: int, steps: int, attn: str, compile_model: bool
) -> list[tuple[float, float]]:
    """(wall s, CPU s) of each timed optimizer step through `make_trainer`, the pretrain path."""
    from transformers import TrainerCallback

    class CpuTimer(TrainerCallback):
        def __init__(self):
            self.times = []

        def on_step_begin(self, args, state, control, **kwargs):
            self.c0 = time.process_time()

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.process_time() - self.c0)

    model = build_model(build, tokenizer, seed=0)
    model.config._attn_implementation = attn
    cpu = CpuTimer()
    with tempfile.TemporaryDirectory() as ckpt:
        hp = resolve_hparams(
            {
                **hp,
                "max_steps": warmup + steps,
                "eval_every": 0,
                "save_every": 0,
                "log_every": warmup + steps,
                "compile": compile_model,
            }
        )
        trainer, timer = make_trainer(model, tokenizer, blocks, None, ckpt, hp, seed=0, callbacks=[cpu])
        trainer.train()
    return list(zip(timer.step_times, cpu.times))[warmup:]


def run_loop(
    build, tokenizer, blocks, hp, warmup: int, steps: int, attn: str, compile_model: bool
) -> list[tuple[float, float]]:
    """The same optimisation as the Trainer path as a bare loop (nanoGPT style): (wall, CPU) s."""
    from transformers import get_cosine_schedule_with_warmup

    model = build_model(build, tokenizer, seed=0)
    model.config._attn_implementation = attn
    model.train()
    hp = resolve_hparams({**hp, "max_steps": warmup + steps})
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": hp["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=hp["lr"],
        betas=(0.9, hp["adam_beta2"]),
        fused=True,
    )
    sched = get_cosine_schedule_with_warmup(opt, int(hp["warmup_ratio"] * hp["max_steps"]), hp["max_steps"])
    fwd = torch.compile(model) if compile_model else model
    data = PackedBlocks(blocks, n_items=hp["max_steps"] * hp["batch_size"], seed=0)
    times = []
    for step in range(hp["max_steps"]):
        w0, c0 = time.perf_counter(), time.process_time()
        ids = torch.stack([data[step * hp["batch_size"] + i]["input_ids"] for i in range(hp["batch_size"])])
        loss = fwd(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), hp["max_grad_norm"])
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        times.append((time.perf_counter() - w0, time.process_time() - c0))
    return times[warmup:]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "config" / "config.yaml"))
    p.add_argument("--scale", default="large", help="model sizes from this scale of --config")
    for k in ("hidden", "layers", "heads", "intermediate", "vocab"):
        p.add_argument(f"--{k}", type=int, default=None)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=20, help="timed optimizer steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--attn", default="sdpa", help="comma-separated: sdpa, eager")
    p.add_argument(
        "--variants",
        default="trainer,loop",
        help="comma-separated: trainer, trainer-compile, loop, loop-compile",
    )
    p.add_argument("--matmul-size", type=int, default=2048)
    p.add_argument("--matmul-reps", type=int, default=5)
    args = p.parse_args(argv)
    fill_sizes(args)

    torch.set_num_threads(args.threads)
    build = {
        "arch": "llama",
        "hidden_size": args.hidden,
        "num_layers": args.layers,
        "num_heads": args.heads,
        "intermediate_size": args.intermediate,
        "max_position_embeddings": args.seq_len,
    }
    hp = {"seq_len": args.seq_len, "batch_size": args.batch, "lr": 1e-3}
    with tempfile.TemporaryDirectory(prefix="bench_pretrain_") as tmp:
        tokenizer = bench_tokenizer(args.vocab, Path(tmp) / "tok")
    gen = torch.Generator().manual_seed(0)
    n_blocks = (args.warmup + args.steps) * args.batch
    blocks = torch.randint(
        len(tokenizer.all_special_ids),
        len(tokenizer),
        (n_blocks, args.seq_len),
        generator=gen,
        dtype=torch.int32,
    )

    probe = build_model(build, tokenizer, seed=0)
    six_n, attn_term = flops_per_token(probe, args.seq_len)
    per_token = six_n + attn_term
    tokens_per_step = args.batch * args.seq_len
    threads = torch.get_num_threads()
    results = []
    for attn in args.attn.split(","):
        for variant in args.variants.split(","):
            # The machine is shared: measure the matmul peak right before and after each variant
            # so every MFU has a denominator taken under the same load.
            mm_before = matmul_flops(args.matmul_size, args.matmul_reps)
            t0 = time.perf_counter()
            if variant in ("trainer", "trainer-compile"):
                times = run_trainer(
                    build,
                    tokenizer,
                    blocks,
                    hp,
                    args.warmup,
                    args.steps,
                    attn,
                    compile_model=variant == "trainer-compile",
                )
            elif variant in ("loop", "loop-compile"):
                times = run_loop(
                    build,
                    tokenizer,
                    blocks,
                    hp,
                    args.warmup,
                    args.steps,
                    attn,
                    compile_model=variant == "loop-compile",
                )
            else:
                raise ValueError(
                    f"unknown variant {variant!r}; allowed: trainer, trainer-compile, loop, loop-compile"
                )
            total = time.perf_counter() - t0
            mm_after = matmul_flops(args.matmul_size, args.matmul_reps)
            wall = statistics.median(t for t, _ in times)
            cpu = statistics.median(c for _, c in times) / threads
            results.append((variant, attn, wall, cpu, total, mm_before, mm_after))

    print(
        f"\nmodel: hidden {args.hidden}, layers {args.layers}, heads {args.heads}, intermediate "
        f"{args.intermediate}, vocab {len(tokenizer)}, seq_len {args.seq_len}, batch {args.batch}; "
        f"params {probe.num_parameters():,} (N_matmul {six_n // 6:,}); threads {threads}; "
        f"{args.steps} timed steps after {args.warmup} warm-up steps"
    )
    print(
        f"FLOPs/token = 6*N_matmul + 12*layers*hidden*seq_len = {six_n:,} + {attn_term:,} = {per_token:,}"
        f"; FLOPs/step = {per_token * tokens_per_step / 1e9:.1f} G"
    )
    print(
        f"peak = fp32 {args.matmul_size}^2 torch.matmul GFLOP/s, measured right before / after each "
        "variant; MFU = achieved / mean(before, after).\n"
        "wall: median wall-clock step time. cpu: median process CPU time per step / threads, against "
        "matmul FLOPs per CPU second (robust to other jobs on a shared machine).\n"
        "'total s' includes model building, compilation and warm-up steps."
    )
    print(
        f"{'variant':<16}{'attn':<6}{'s/step':>8}{'tok/s':>7}{'GFLOP/s':>8}{'peak':>10}{'MFU':>7}"
        f"{'| cpu s/step':>12}{'GFLOP/cpu-s':>12}{'peak':>10}{'MFU':>7}{'total s':>9}"
    )
    for variant, attn, wall, cpu, total, (wb, cb), (wa, ca) in results:
        fl = per_token * tokens_per_step
        print(
            f"{variant:<16}{attn:<6}{wall:>8.3f}{tokens_per_step / wall:>7.0f}{fl / wall / 1e9:>8.1f}"
            f"{f'{wb / 1e9:.0f}/{wa / 1e9:.0f}':>10}{fl / wall / ((wb + wa) / 2):>7.1%}"
            f"{'| ' + format(cpu, '.3f'):>12}{fl / cpu / 1e9:>12.1f}"
            f"{f'{cb / 1e9:.0f}/{ca / 1e9:.0f}':>10}{fl / cpu / ((cb + ca) / 2):>7.1%}{total:>9.1f}"
        )


if __name__ == "__main__":
    main()

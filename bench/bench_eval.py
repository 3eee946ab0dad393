"""Benchmark: batched, KV-cached `sahlab.eval.generate` vs Hugging Face `model.generate` on the same
batches (left-padded, the strongest fair baseline), and, for reference, a naive loop of
`model.generate` one prompt at a time; same model and prompts, greedy, fixed length (EOS ignored by
all), same run.

What the custom harness buys beyond speed (and why it exists although `model.generate` batches
too): one decoding loop shared by a plain model and an EFT policy (three models' logits combined per
step, sahlab.eft.policy), rewinding for speculative up-scaling (sahlab.eft.rewind), per-row stop
strings that end each row where the scorer would cut it, and per-member prompts (each EFT member
prefilled with its own prompt format).

    python bench/bench_eval.py                  # random-weight ~3.7M-parameter Llama
    python bench/bench_eval.py results/models/X # a saved model folder (model + tokenizer)

The naive loop is timed on a subset of the prompts (`--naive-prompts`) to keep the run short; its
tokens/s is a per-token rate so the two are comparable. Outputs of the subset must be identical (exit
status 1 otherwise). Both paths use the same number of torch threads (`--threads`); timings are given
in wall time and in process CPU time, which is steadier when other jobs share the machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

SPECIALS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|user|>", "<|assistant|>"]


def build_tokenizer(vocab_size: int):
    """Word-level tokenizer: the pipeline's special tokens, then words w0, w1, ..."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = [f"w{i}" for i in range(vocab_size - len(SPECIALS))]
    core = Tokenizer(
        models.WordLevel(vocab={t: i for i, t in enumerate(SPECIALS + words)}, unk_token="<|pad|>")
    )
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<|pad|>",
        bos_token="<|bos|>",
        eos_token="<|eos|>",
        additional_special_tokens=SPECIALS[3:],
    )


def build_model(tokenizer, seed: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=256,
        intermediate_size=704,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def make_prompts(tokenizer, n: int, lo: int, hi: int, seed: int) -> list[str]:
    """n prompts of lo..hi random ordinary tokens after BOS, as text."""
    rng = random.Random(seed)
    special = set(tokenizer.all_special_ids)
    ordinary = [i for i in range(len(tokenizer)) if i not in special]
    bos = tokenizer.bos_token or ""
    return [
        bos + " " + tokenizer.decode([rng.choice(ordinary) for _ in range(rng.randint(lo, hi))])
        for _ in range(n)
    ]


def naive_generate(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[str]:
    """One `model.generate` call per prompt: what an evaluation loop without batching does."""
    outs = []
    for prompt in prompts:
        enc = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
        ids = model.generate(
            **enc, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id
        )
        new = ids[0, enc["input_ids"].shape[1] :]
        if len(new) != max_new_tokens:
            raise RuntimeError(f"naive loop produced {len(new)} tokens, expected {max_new_tokens}")
        outs.append(tokenizer.decode(new, skip_special_tokens=True))
    return outs


def hf_batched_generate(
    model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int
) -> list[str]:
    """`model.generate` on left-padded batches of `batch_size`: what a careful user of transformers
    does without a custom harness."""
    import torch

    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    outs = []
    try:
        for i in range(0, len(prompts), batch_size):
            enc = tokenizer(
                prompts[i : i + batch_size], add_special_tokens=False, padding=True, return_tensors="pt"
            )
            with torch.no_grad():
                ids = model.generate(
                    **enc, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id
                )
            new = ids[:, enc["input_ids"].shape[1] :]
            if new.shape[1] != max_new_tokens:
                raise RuntimeError(
                    f"batched generate produced {new.shape[1]} tokens, expected {max_new_tokens}"
                )
            outs.extend(tokenizer.batch_decode(new, skip_special_tokens=True))
    finally:
        tokenizer.padding_side = side
    return outs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="save_pretrained folder (default: random ~3.7M Llama)")
    parser.add_argument("--prompts", type=int, default=128)
    parser.add_argument("--naive-prompts", type=int, default=32, help="prompts timed in the naive loop")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads for both paths (0: torch default, all cores); 1 gives steadier "
        "timings on a busy shared machine",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    from sahlab.eval.generate import generate
    from sahlab.eval.policy import ModelPolicy

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.model)
        model = AutoModelForCausalLM.from_pretrained(args.model)
    else:
        tokenizer = build_tokenizer(2048)
        model = build_model(tokenizer, args.seed)
    model.eval()
    # Fixed-length decoding in both paths: HF must not stop at EOS either.
    model.generation_config.eos_token_id = None
    n_params = sum(p.numel() for p in model.parameters())
    prompts = make_prompts(tokenizer, args.prompts, 30, 60, args.seed)
    subset = prompts[: min(args.naive_prompts, len(prompts))]
    policy = ModelPolicy(model, tokenizer)

    def batched(ps):
        return generate(
            policy, ps, args.new_tokens, batch_size=args.batch_size, ignore_eos=True, progress=False
        )

    # Warm-up (allocator, kernels, lazy imports) so neither path pays first-call costs.
    batched(prompts[:4])
    naive_generate(model, tokenizer, prompts[:1], 4)

    # The machine is shared: run A B C C B A (sahlab, batched HF, naive halves, batched HF, sahlab) so
    # all paths see the same load on average, and count process CPU time as well as wall time.
    half = len(subset) // 2
    clock = {"batched": [0.0, 0.0], "hf": [0.0, 0.0], "naive": [0.0, 0.0]}
    results = {}

    def timed(path, fn):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        clock[path][0] += time.perf_counter() - w
        clock[path][1] += time.process_time() - c
        return out

    first = timed("batched", lambda: batched(prompts))
    results["hf"] = timed(
        "hf", lambda: hf_batched_generate(model, tokenizer, prompts, args.new_tokens, args.batch_size)
    )
    results["naive"] = timed(
        "naive", lambda: naive_generate(model, tokenizer, subset[:half], args.new_tokens)
    )
    results["naive"] += timed(
        "naive", lambda: naive_generate(model, tokenizer, subset[half:], args.new_tokens)
    )
    hf_second = timed(
        "hf", lambda: hf_batched_generate(model, tokenizer, prompts, args.new_tokens, args.batch_size)
    )
    ours = timed("batched", lambda: batched(prompts))
    if ours != first:
        print("batched generate is not deterministic across runs", file=sys.stderr)
        return 1

    mismatches = sum(a != b for a, b in zip(ours, results["naive"]))
    hf_mismatches = sum(a != b for a, b in zip(ours, results["hf"])) + (hf_second != results["hf"])
    n_tokens = {
        "batched": 2 * len(prompts) * args.new_tokens,
        "hf": 2 * len(prompts) * args.new_tokens,
        "naive": len(subset) * args.new_tokens,
    }
    rate = {p: [n_tokens[p] / t for t in clock[p]] for p in clock}
    print(
        f"model: {args.model or 'random Llama'} ({n_params / 1e6:.2f}M parameters), "
        f"threads={torch.get_num_threads()}, {len(prompts)} prompts of 30-60 tokens, "
        f"{args.new_tokens} new tokens each, greedy, EOS ignored"
    )
    print(f"{'path':<34}{'prompts':>8}{'wall s':>9}{'tok/s wall':>12}{'CPU s':>9}{'tok/s CPU':>11}")
    for path, label, n in [
        ("naive", "naive model.generate, 1 at a time", len(subset)),
        ("hf", f"model.generate, batch {args.batch_size}", 2 * len(prompts)),
        ("batched", f"sahlab generate, batch {args.batch_size}", 2 * len(prompts)),
    ]:
        print(
            f"{label:<34}{n:>8}{clock[path][0]:>9.2f}{rate[path][0]:>12.0f}{clock[path][1]:>9.2f}"
            f"{rate[path][1]:>11.0f}"
        )
    print(
        f"speed-up vs batched model.generate (the fair baseline): {rate['batched'][0] / rate['hf'][0]:.2f}x "
        f"wall, {rate['batched'][1] / rate['hf'][1]:.2f}x CPU time"
    )
    print(
        f"speed-up vs one-at-a-time model.generate (reference only): "
        f"{rate['batched'][0] / rate['naive'][0]:.1f}x wall, {rate['batched'][1] / rate['naive'][1]:.1f}x CPU time"
    )
    print(
        f"(sahlab and batched HF: all {len(prompts)} prompts, each run twice, interleaved A B C C B A; "
        f"naive: first {len(subset)} prompts, in two halves)"
    )
    print(
        f"outputs identical to batched model.generate on all {len(prompts)} prompts: {hf_mismatches == 0} "
        f"({hf_mismatches} differ); to the naive loop on {len(subset)} prompts: {mismatches == 0} "
        f"({mismatches} differ)"
    )
    return 0 if mismatches == 0 and hf_mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

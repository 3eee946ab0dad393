"""Benchmark (study C): (a) the cost of EFT decoding against its members' own decoding, and
(b) speculative up-scaling against plain EFT decoding, measured side by side in one run.

    python bench/bench_eft.py                                   # three random Llamas (see below)
    python bench/bench_eft.py --models BASE_L FT_S BASE_S       # save_pretrained folders, e.g. trained models

(a) per generated token, `generate(EFTPolicy)` vs the sum of `generate(ModelPolicy(m))` over its three
    models (same prompts, batch and token count, greedy, EOS ignored): ratio target <= 1.2.
(b) `speculative_generate` vs `generate(EFTPolicy)`: acceptance rate, tokens per EFT verification,
    speed-up (target >= 1.5x where acceptance >= 0.6); greedy outputs must be identical.

Default models: small (hidden 128, 4 layers, 4 heads, intermediate 352) and large (hidden 256,
6 layers, 4 heads, intermediate 704), vocabulary 2048, random weights. Random models are near
uniform and unrelated, so the draft rarely agrees with the EFT argmax; the bench therefore also runs a
"draft-dominated" sanity case: the same three architectures, but the fine-tune's output layer is
scaled (x20, x60: `--sharpen`) so that it dominates the combination, as a trained fine-tune's sharp distribution does.
Its costs are exactly those of the real up-scaling configuration (one large and two small models).

Compute-bound pair: `--large-size 640 8 10 1728` makes the large base a ~42M-parameter model (the
small members stay 1.3M), so a step costs the large model's compute, not per-call overhead;
with `--batch-size 1 --sharpen 60` the draft-dominated case gives acceptance >= 0.6 and the
wall-clock speed-up can be read against the >= 1.5x target. Every row also prints the
FLOP-weighted speed-up (`sahlab.eft.speculative.flop_weighted_speedup`: passes weighted by the
FLOPs per token of their model), the speed-up the pass counts predict when compute sets the cost.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

SPECIALS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|user|>", "<|assistant|>"]
SMALL = dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=352)
LARGE = dict(hidden_size=256, num_hidden_layers=6, num_attention_heads=4, intermediate_size=704)


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


def build_model(tokenizer, size: dict, seed: int, sharpen: float = 1.0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        num_key_value_heads=size["num_attention_heads"],
        max_position_embeddings=512,
        tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **size,
    )
    model = LlamaForCausalLM(config)
    if sharpen != 1.0:
        with torch.no_grad():
            model.lm_head.weight.mul_(sharpen)
    return model.eval()


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


class Clock:
    """Accumulated wall and CPU seconds per label (the machine is shared: we interleave and sum)."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def run(self, label, fn):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        self.wall[label] = self.wall.get(label, 0.0) + time.perf_counter() - w
        self.cpu[label] = self.cpu.get(label, 0.0) + time.process_time() - c
        return out


def overhead(eft, members, prompts, args) -> dict:
    """(a): EFT decoding vs the sum of its members' own decoding, interleaved A B C D D C B A."""
    from sahlab.eval.generate import generate
    from sahlab.eval.policy import ModelPolicy

    policies = {"eft": eft, **{name: ModelPolicy(m, eft.tokenizer) for name, m in members}}
    clock = Clock()
    labels = list(policies)
    for label in labels + labels[::-1]:
        clock.run(
            label,
            lambda: generate(
                policies[label],
                prompts,
                args.new_tokens,
                batch_size=args.batch_size,
                ignore_eos=True,
                progress=False,
            ),
        )
    parts = [n for n, _ in members]
    return {
        "wall": clock.wall["eft"] / sum(clock.wall[p] for p in parts),
        "cpu": clock.cpu["eft"] / sum(clock.cpu[p] for p in parts),
        "clock": clock,
    }


def speculative(eft, prompts, args, batch_size: int, temperature: float) -> dict:
    """(b): speculative up-scaling vs plain EFT decoding, interleaved A B B A."""
    from sahlab.eft import speculative_generate
    from sahlab.eval.generate import generate

    clock = Clock()
    kw = dict(batch_size=batch_size, ignore_eos=True, progress=False, temperature=temperature, seed=args.seed)
    outs = {"plain": [], "spec": []}
    result = None
    for label in ("plain", "spec", "spec", "plain"):
        if label == "plain":
            outs[label].append(clock.run(label, lambda: generate(eft, prompts, args.new_tokens, **kw)))
        else:
            result = clock.run(
                label, lambda: speculative_generate(eft, prompts, args.new_tokens, k=args.k, **kw)
            )
            outs[label].append(result.outputs)
    from sahlab.eft.speculative import flop_weighted_speedup

    return {
        "acceptance": result.stats["acceptance_rate"],
        "tpv": result.stats["tokens_per_verification"],
        "flop_speedup": flop_weighted_speedup(eft, result.stats),
        "speedup_wall": clock.wall["plain"] / clock.wall["spec"],
        "speedup_cpu": clock.cpu["plain"] / clock.cpu["spec"],
        "tok_s_plain": 2 * len(prompts) * args.new_tokens / clock.wall["plain"],
        "tok_s_spec": 2 * len(prompts) * args.new_tokens / clock.wall["spec"],
        "identical": outs["plain"][0] == outs["spec"][0] if temperature == 0 else None,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        nargs=3,
        metavar=("BASE_LARGE", "FT_SMALL", "BASE_SMALL"),
        help="save_pretrained folders (default: random models of the sizes above)",
    )
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--k", type=int, default=4, help="drafted tokens per verification")
    parser.add_argument(
        "--sharpen",
        type=float,
        nargs="*",
        default=[20.0, 60.0],
        help="output-layer scales of the sanity cases' fine-tune (higher: higher acceptance)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (0: torch default); 1 keeps timings steady on a shared machine, where "
        "several threads spinning against other jobs distort the comparison",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--large-size",
        type=int,
        nargs=4,
        metavar=("HIDDEN", "LAYERS", "HEADS", "INTERMEDIATE"),
        help="size of the random large base (default: hidden 256, 6 layers, 4 heads, 704); "
        "640 8 10 1728 gives a ~42M-parameter, compute-bound target",
    )
    parser.add_argument(
        "--no-random-trio",
        action="store_true",
        help="(b) only for the draft-dominated cases (the random trio never agrees)",
    )
    args = parser.parse_args(argv)

    import torch

    from sahlab.eft import EFTPolicy
    from sahlab.eval.policy import ModelPolicy

    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    cases = []  # (case name, EFTPolicy, [(role, model)])
    if args.models:
        loaded = [ModelPolicy.from_pretrained(path) for path in args.models]
        eft = EFTPolicy(*loaded)
        cases.append(
            (
                f"folders {', '.join(Path(p).name for p in args.models)}",
                eft,
                list(zip(("base_large", "ft_small", "base_small"), (p.model for p in loaded))),
            )
        )
    else:
        tok = build_tokenizer(2048)
        large = (
            LARGE
            if not args.large_size
            else dict(
                zip(
                    ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"),
                    args.large_size,
                )
            )
        )
        base_l, ft_s, base_s = (
            build_model(tok, large, args.seed),
            build_model(tok, SMALL, args.seed + 1),
            build_model(tok, SMALL, args.seed + 2),
        )
        members = [("base_large", base_l), ("ft_small", ft_s), ("base_small", base_s)]
        cases.append(("random trio", EFTPolicy(base_l, ft_s, base_s, tokenizer=tok), members))
        for scale in args.sharpen:
            sharp = build_model(tok, SMALL, args.seed + 1, sharpen=scale)
            cases.append(
                (
                    f"draft-dominated (ft x{scale:g})",
                    EFTPolicy(base_l, sharp, base_s, tokenizer=tok),
                    [("base_large", base_l), ("ft_small", sharp), ("base_small", base_s)],
                )
            )
    tokenizer = cases[0][1].tokenizer
    params = {role: sum(p.numel() for p in m.parameters()) / 1e6 for role, m in cases[0][2]}
    prompts = make_prompts(tokenizer, args.prompts, 20, 40, args.seed)

    # Warm-up: lazy imports, allocator, kernels.
    from sahlab.eft import speculative_generate
    from sahlab.eval.generate import generate

    generate(cases[0][1], prompts[:2], 4, progress=False)
    speculative_generate(cases[0][1], prompts[:2], 4, k=2, progress=False)

    print(
        f"models: {cases[0][0]}: "
        + ", ".join(f"{r} {v:.2f}M" for r, v in params.items())
        + f" parameters; threads={torch.get_num_threads()}; {len(prompts)} prompts of 20-40 tokens, "
        f"{args.new_tokens} new tokens, EOS ignored"
    )

    name, eft, members = cases[0]
    ov = overhead(eft, members, prompts, args)
    per_tok = {k: 1000 * v / (2 * len(prompts) * args.new_tokens) for k, v in ov["clock"].wall.items()}
    print(
        f"\n(a) EFT decoding vs its three models decoding alone (batch {args.batch_size}, greedy), "
        "ms of wall time per generated token (prefill included):"
    )
    print("    " + ", ".join(f"{k} {v:.2f}" for k, v in per_tok.items()))
    print(f"    ratio EFT / sum of members: {ov['wall']:.3f} wall, {ov['cpu']:.3f} CPU   (target <= 1.2)")

    print(f"\n(b) speculative up-scaling (draft = ft_small, k = {args.k}) vs plain EFT decoding")
    header = (
        f"{'case':<30}{'T':>5}{'batch':>7}{'accept':>8}{'tok/verif':>10}{'plain tok/s':>12}"
        f"{'spec tok/s':>11}{'speed-up':>10}{'CPU':>7}{'FLOP-w.':>9}{'identical':>10}"
    )
    print(header)
    for name, eft, _ in cases[1:] if args.no_random_trio and not args.models else cases:
        for temperature in (0.0, 1.0):
            for batch in sorted({1, args.batch_size}):
                ps = prompts if batch > 1 else prompts[: max(2, len(prompts) // 4)]
                r = speculative(eft, ps, args, batch, temperature)
                same = "-" if r["identical"] is None else str(r["identical"])
                print(
                    f"{name:<30}{temperature:>5g}{batch:>7}{r['acceptance']:>8.2f}{r['tpv']:>10.2f}"
                    f"{r['tok_s_plain']:>12.0f}{r['tok_s_spec']:>11.0f}{r['speedup_wall']:>9.2f}x"
                    f"{r['speedup_cpu']:>6.2f}x{r['flop_speedup']:>8.2f}x{same:>10}"
                )
                if r["identical"] is False:
                    print("greedy speculative output differs from plain EFT greedy output", file=sys.stderr)
                    return 1
    print(
        f"\n(target: speed-up >= 1.5x where acceptance >= 0.6; T = 1 acceptance is min(1, p/q) averaged, "
        f"greedy acceptance is draft == EFT argmax)\ntotal bench time {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

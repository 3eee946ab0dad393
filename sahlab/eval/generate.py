"""Batched decoding from any DecodingPolicy, and per-token log-probabilities of texts under a model.

`generate` is the harness every evaluation uses: prompts are tokenised once, sorted by length so a
batch holds similar lengths (less padding), left-padded, prefilled once and extended one token per step
through the policy's KV cache. Outputs come back in the caller's order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from sahlab.eval.policy import DecodingPolicy

# Extra tokens decoded beyond the longest stop string when looking for it in a row's tail: tokens that
# decode to nothing (special tokens) or whose first character depends on its neighbour need slack.
TAIL_SLACK = 8


def render_prompts(
    tokenizer: "PreTrainedTokenizerBase",
    prompts: Sequence[str | dict],
    prompt_format: str,
    task: str | None = None,
) -> list[str]:
    """Render task prompts (strings, or common-schema rows: the native layouts may read their
    metadata) as model input text in `prompt_format`, see `format_prompt`."""
    from sahlab.models.prompting import format_prompt

    return [format_prompt(tokenizer, p, prompt_format, task) for p in prompts]


def check_decoding_args(max_new_tokens: int, batch_size: int, temperature: float, stop_strings) -> list[str]:
    """Validate the decoding arguments shared by every decoder; returns the stop strings as a list."""
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    if isinstance(stop_strings, str):
        stop_strings = [stop_strings]
    stop_strings = list(stop_strings)
    if any(not isinstance(s, str) or not s for s in stop_strings):
        raise ValueError(f"stop_strings must be non-empty strings, got {stop_strings!r}")
    return stop_strings


def encode_prompts(tokenizer, prompts: list[str]) -> list[list[int]]:
    """Token ids of rendered prompts (they carry their own special tokens); none may be empty."""
    encoded = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    empty = [i for i, ids in enumerate(encoded) if not ids]
    if empty:
        raise ValueError(
            f"prompts {empty[:10]} tokenise to nothing; every prompt needs at least one token "
            "(render them with render_prompts, which adds BOS)"
        )
    return encoded


def eos_and_pad(tokenizer, eos_token_ids, ignore_eos: bool) -> tuple[list[int], int]:
    """The EOS ids that stop a row ([] with ignore_eos) and the id used for padding."""
    eos = [] if ignore_eos else _eos_ids(tokenizer, eos_token_ids)
    pad_id = tokenizer.pad_token_id
    if pad_id is None:  # the pad id is never attended to, any valid id will do
        pad_id = eos[0] if eos else 0
    return eos, pad_id


def generate(
    policy: "DecodingPolicy",
    prompts: Sequence[str],
    max_new_tokens: int,
    batch_size: int = 64,
    stop_strings: Sequence[str] = (),
    temperature: float = 0.0,
    seed: int = 0,
    progress: bool = True,
    *,
    ignore_eos: bool = False,
    eos_token_ids: Sequence[int] | int | None = None,
) -> list[str]:
    """Continue each rendered prompt and return the continuations (prompt excluded), in input order.

    Prompts must already be rendered (`render_prompts`): they are tokenised with
    `add_special_tokens=False`. Decoding is greedy (argmax) when `temperature == 0`, otherwise sampling
    from softmax(log p / temperature) with one `torch.Generator` seeded by `seed`; since prompts are
    grouped by length, a sample depends on the seed and on the whole prompt list, not on the prompt alone.

    A row stops at an end-of-sequence token (`eos_token_ids`; default the policy's `eos_token_ids`
    attribute if it has one, else the tokenizer's `eos_token_id`; the EOS is not part of the output),
    when one of `stop_strings` appears in its decoded continuation (the output is cut just before the
    earliest stop string), or after `max_new_tokens`.
    `ignore_eos=True` disables the EOS stop (fixed-length decoding, used by benchmarks). Outputs are
    decoded with `skip_special_tokens=True`.
    """
    from tqdm.auto import tqdm

    stop_strings = check_decoding_args(max_new_tokens, batch_size, temperature, stop_strings)
    prompts = list(prompts)
    if not prompts:
        return []
    if max_new_tokens == 0:
        return [""] * len(prompts)

    tokenizer = policy.tokenizer
    encoded = encode_prompts(tokenizer, prompts)
    if eos_token_ids is None:
        eos_token_ids = getattr(policy, "eos_token_ids", None)
    eos, pad_id = eos_and_pad(tokenizer, eos_token_ids, ignore_eos)

    # Longest first: the biggest batch (peak memory) runs first, so an out-of-memory shows at once.
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    outputs: list[str] = [""] * len(prompts)
    state = {"generator": None}
    # Data-parallel (processes of a `parallel:` block): each process decodes every world-th batch
    # of the single-process batching, so every row sees the same batch (same padding) as in one
    # process and the merged outputs are identical. Sampling draws from one generator over all
    # batches in order, which a split would change: it stays on one process.
    from sahlab.parallel import gather_objects, rank_world

    rank, world = rank_world()
    if temperature > 0 and world > 1:
        raise ValueError(
            "data-parallel generation is greedy only (temperature 0): sampled "
            "outputs depend on the whole batch sequence; run sampling on one process"
        )
    mine = batches[rank::world]
    for batch in tqdm(mine, desc="generate", unit="batch", disable=not progress or rank > 0):
        texts = _generate_batch(
            policy,
            [encoded[i] for i in batch],
            max_new_tokens,
            pad_id,
            eos,
            stop_strings,
            temperature,
            seed,
            state,
        )
        for i, text in zip(batch, texts):
            outputs[i] = text
    if world > 1:
        for part in gather_objects({i: outputs[i] for batch in mine for i in batch}):
            for i, text in part.items():
                outputs[i] = text
    return outputs


def _eos_ids(tokenizer, eos_token_ids) -> list[int]:
    if eos_token_ids is None:
        eos_token_ids = tokenizer.eos_token_id
    if eos_token_ids is None:
        return []
    if isinstance(eos_token_ids, int):
        return [eos_token_ids]
    return [int(i) for i in eos_token_ids]


def _generate_batch(
    policy,
    rows: list[list[int]],
    max_new_tokens: int,
    pad_id: int,
    eos: list[int],
    stop_strings: list[str],
    temperature: float,
    seed: int,
    state: dict,
) -> list[str]:
    import torch

    tokenizer = policy.tokenizer
    n, width = len(rows), max(len(r) for r in rows)
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((n, width), dtype=torch.long)
    for r, ids in enumerate(rows):
        input_ids[r, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention_mask[r, width - len(ids) :] = 1

    logp = policy.prefill(input_ids, attention_mask)
    if temperature > 0 and state["generator"] is None:
        state["generator"] = torch.Generator(device=logp.device).manual_seed(seed)
    eos_t = torch.tensor(eos, dtype=torch.long)
    tail = max((len(s) for s in stop_strings), default=0) + TAIL_SLACK
    generated = torch.full((n, max_new_tokens), pad_id, dtype=torch.long)  # CPU bookkeeping
    kept = torch.zeros(n, dtype=torch.long)  # tokens of each row that belong to its output
    running = torch.ones(n, dtype=torch.bool)

    for t in range(max_new_tokens):
        if temperature == 0:
            nxt = logp.argmax(dim=-1)
        else:
            probs = torch.softmax(logp / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=state["generator"]).squeeze(1)
        nxt_cpu = nxt.cpu()
        generated[:, t] = nxt_cpu
        if eos:
            running &= ~torch.isin(nxt_cpu, eos_t)
        kept[running] = t + 1
        if stop_strings and bool(running.any()):
            # Only running rows, only their last few tokens: a stop string that just appeared ends in
            # the newest token, so it lies within the tail.
            live = running.nonzero().squeeze(1).tolist()
            start = max(0, t + 1 - tail)
            tails = tokenizer.batch_decode(generated[live, start : t + 1].tolist(), skip_special_tokens=True)
            for r, text in zip(live, tails):
                if any(s in text for s in stop_strings):
                    running[r] = False
        if t == max_new_tokens - 1 or not bool(running.any()):
            break
        logp = policy.step(nxt)

    texts = tokenizer.batch_decode(
        [generated[r, : kept[r]].tolist() for r in range(n)], skip_special_tokens=True
    )
    return [cut_at_stop(text, stop_strings) for text in texts]


def cut_at_stop(text: str, stop_strings: list[str]) -> str:
    cuts = [i for i in (text.find(s) for s in stop_strings) if i >= 0]
    return text[: min(cuts)] if cuts else text


def sequence_logprobs(
    model: "PreTrainedModel",
    tokenizer: "PreTrainedTokenizerBase",
    items: Sequence[str | tuple[str, str]],
    batch_size: int = 16,
    progress: bool = True,
) -> list["np.ndarray"]:
    """Per-token log-probabilities, in **nats** (natural log), of texts under a causal LM.

    Each item is either
    - a text `str`: returns ln p(token_i | tokens_<i) for every token but the first (which has no
      context; rendered texts start with BOS, so every real token is scored), length n_tokens - 1;
    - a `(prompt, completion)` pair: prompt and completion are tokenised separately and concatenated,
      and only the completion tokens are scored, conditioned on the prompt (length = completion tokens).
    Texts are tokenised with `add_special_tokens=False` (add BOS yourself, or render with
    `render_prompts`). Returns one float64 numpy array per item, in input order. Convert to bits with
    `-arr.sum() / math.log(2)` (the description length of the scored tokens). The model must be in eval
    mode; batches are right-padded (exact for causal LMs).
    """
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if model.training:
        raise ValueError("sequence_logprobs needs the model in eval mode (call model.eval())")
    seqs: list[tuple[list[int], int]] = []  # (token ids, index of the first scored token)
    for k, item in enumerate(items):
        if isinstance(item, str):
            ids = tokenizer(item, add_special_tokens=False)["input_ids"]
            seqs.append((ids, 1))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(x, str) for x in item):
            ctx = tokenizer(item[0], add_special_tokens=False)["input_ids"]
            comp = tokenizer(item[1], add_special_tokens=False)["input_ids"]
            if not ctx:
                raise ValueError(
                    f"item {k}: the prompt tokenises to nothing; the first completion token "
                    "needs a context (start the prompt with BOS)"
                )
            seqs.append((ctx + comp, len(ctx)))
        else:
            raise ValueError(
                f"item {k}: expected a text str or a (prompt, completion) pair of str, "
                f"got {type(item).__name__}"
            )

    limit = getattr(model.config, "max_position_embeddings", None)
    too_long = [k for k, (ids, _) in enumerate(seqs) if limit and len(ids) > limit]
    if too_long:
        raise ValueError(f"items {too_long[:10]} exceed the model's max_position_embeddings={limit} tokens")

    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    results: list[np.ndarray] = [np.zeros(0) for _ in seqs]
    order = sorted(
        (k for k in range(len(seqs)) if len(seqs[k][0]) > seqs[k][1]), key=lambda k: -len(seqs[k][0])
    )
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    with torch.inference_mode():
        for batch in tqdm(batches, desc="logprobs", unit="batch", disable=not progress):
            width = max(len(seqs[k][0]) for k in batch)
            input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, k in enumerate(batch):
                ids = seqs[k][0]
                input_ids[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                mask[r, : len(ids)] = 1
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            for r, k in enumerate(batch):
                ids, first = seqs[k]
                # logits at position i predict token i + 1; normalise only the rows we score.
                rows = torch.log_softmax(logits[r, first - 1 : len(ids) - 1].float(), dim=-1)
                target = input_ids[r, first : len(ids)].to(rows.device)
                results[k] = rows.gather(1, target[:, None]).squeeze(1).double().cpu().numpy()
    return results

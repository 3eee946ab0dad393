"""Speculative up-scaling: a small draft model proposes k tokens, the EFT distribution verifies them.

Each round, per batch:
1. the draft model (by default EFT's own small fine-tuned member) proposes d_1..d_k one cached step at
   a time, sampling from its distribution q (argmax when greedy);
2. every other EFT member scores the pending token and the k drafts in ONE forward pass (`extend`),
   which gives p_EFT at all k + 1 positions (the draft member's log-probs are reused, not recomputed);
3. standard speculative sampling (Leviathan et al. 2023; Chen et al. 2023): accept d_j with
   probability min(1, p(d_j)/q(d_j)) until the first rejection; there, draw from the normalised
   residual max(0, p − q); if all k are accepted, draw a bonus token from p. The emitted tokens are
   then distributed exactly as samples from p_EFT. Greedy: accept while d_j equals argmax p, then emit
   argmax p — identical to plain EFT greedy decoding;
4. every model forgets what was not accepted (`RewindablePolicy.rewind`). The new token is not yet in
   any cache: it is the "pending" token fed first in the next round.

Rows of a batch accept different numbers of drafts; each row keeps its own count (rejected cache
entries are masked out per row), so batching changes speed, not results. Rows that finish (EOS,
stop string, token budget) are dropped from every cache, since with uneven acceptance they finish
rounds apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import torch

    from sahlab.eft.policy import EFTPolicy


@dataclass
class SpeculativeResult:
    """Continuations in input order, their token ids (EOS and stop tails excluded), and run statistics.

    stats: `acceptance_rate` (accepted drafts / proposed drafts, over rows still running), `k`,
    `tokens_per_verification` (tokens a running row gains per EFT verification pass; 1 is plain
    decoding), `verifications` (EFT forward passes per member, summed over batches), `draft_steps`,
    `row_verifications`, `row_draft_steps` and `row_tokens` (the same per running row: what one row
    waits for, and the tokens it emitted, EOS included),
    `proposed`, `accepted`, `new_tokens`, `wall_time_s`.
    """

    outputs: list[str]
    token_ids: list[list[int]]
    stats: dict[str, Any] = field(default_factory=dict)


def greedy_accept(
    p_logp: "torch.Tensor", drafts: "torch.LongTensor"
) -> tuple["torch.LongTensor", "torch.LongTensor"]:
    """Greedy verification: accept drafts while they equal the target argmax.

    p_logp [B, k+1, V]: target scores at each draft position and after the last draft; drafts [B, k].
    Returns (n_accepted [B], next_token [B]) where next_token = argmax of p at position n_accepted.
    """
    target = p_logp.argmax(dim=-1)  # [B, k+1]
    k = drafts.shape[1]
    n = (drafts == target[:, :k]).long().cumprod(dim=-1).sum(dim=-1)
    return n, target.gather(1, n[:, None]).squeeze(1)


def speculative_accept(
    p: "torch.Tensor",
    q: "torch.Tensor",
    drafts: "torch.LongTensor",
    generator: "torch.Generator | None" = None,
) -> tuple["torch.LongTensor", "torch.LongTensor"]:
    """The speculative-sampling accept/reject rule on probability tensors.

    p [B, k+1, V]: target probabilities at each draft position and after the last draft;
    q [B, k, V]: draft probabilities the drafts [B, k] were sampled from. Draft j is accepted with
    probability min(1, p_j(d_j) / q_j(d_j)), scanning until the first rejection at position n; the
    next token is drawn from normalise(max(0, p_n − q_n)) there, or from p_k when all k are accepted.
    Returns (n_accepted [B], next_token [B]). If the residual has no mass (p_n == q_n up to rounding,
    where rejection has probability ~0) the next token is drawn from p_n.
    """
    import torch

    bsz, k = drafts.shape
    if p.shape[:2] != (bsz, k + 1) or q.shape[:2] != (bsz, k) or p.shape[-1] != q.shape[-1]:
        raise ValueError(
            f"speculative_accept: p {tuple(p.shape)} must be [B, k+1, V] and q {tuple(q.shape)} "
            f"[B, k, V] for drafts {tuple(drafts.shape)}"
        )
    rows = torch.arange(bsz, device=p.device)
    if k:
        p_d = p[:, :k].gather(-1, drafts[..., None]).squeeze(-1)
        q_d = q.gather(-1, drafts[..., None]).squeeze(-1)
        u = torch.rand(bsz, k, generator=generator, device=p.device, dtype=p.dtype)
        accept = u * q_d < p_d  # u < p/q without dividing by a possibly tiny q
        n = accept.long().cumprod(dim=-1).sum(dim=-1)
    else:
        n = torch.zeros(bsz, dtype=torch.long, device=p.device)
    p_n = p[rows, n]
    dist = p_n
    if k:
        rejected = n < k
        q_n = q[rows, n.clamp(max=k - 1)]
        residual = (p_n - q_n).clamp_min(0)
        usable = rejected & (residual.sum(-1) > 0)
        dist = torch.where(usable[:, None], residual, p_n)
    nxt = torch.multinomial(dist, 1, generator=generator).squeeze(1)
    return n, nxt


def speculative_generate(
    eft: "EFTPolicy",
    prompts: Sequence[str],
    max_new_tokens: int,
    k: int = 4,
    batch_size: int = 64,
    stop_strings: Sequence[str] = (),
    temperature: float = 0.0,
    seed: int = 0,
    progress: bool = True,
    *,
    draft: Any = None,
    ignore_eos: bool = False,
    eos_token_ids: Sequence[int] | int | None = None,
) -> SpeculativeResult:
    """Decode rendered prompts from `eft` with speculative up-scaling; same contract as `generate`.

    Prompts, batching (longest first), EOS, stop strings, `max_new_tokens` and `temperature`
    (softmax(log p / T), applied to both the EFT and the draft distribution) behave as in
    `sahlab.eval.generate.generate`, and so do per-member prompts (`EFTPolicy.render_prompts`:
    each member is prefilled with its own rendering; drafted and emitted tokens are shared). Greedy
    output equals `generate(eft, ...)` token for token (up to float rounding between a k-token and a
    1-token forward pass), and sampled output follows the same distribution. `draft` is the proposal model (a model or ModelPolicy sharing the tokenizer; default
    the EFT's `ft_small`). `k` is the number of drafted tokens per verification.
    """
    import torch
    from tqdm.auto import tqdm

    from sahlab.eval.generate import check_decoding_args, encode_prompts, eos_and_pad

    if k < 1:
        raise ValueError(f"k (drafted tokens per verification) must be >= 1, got {k}")
    stop_strings = check_decoding_args(max_new_tokens, batch_size, temperature, stop_strings)
    prompts = list(prompts)
    stats = {
        "k": k,
        "proposed": 0,
        "accepted": 0,
        "row_verifications": 0,
        "row_tokens": 0,
        "row_draft_steps": 0,
        "verifications": 0,
        "draft_steps": 0,
        "new_tokens": 0,
    }
    if not prompts or max_new_tokens == 0:
        return SpeculativeResult([""] * len(prompts), [[] for _ in prompts], _finish(stats, 0.0))

    tokenizer = eft.tokenizer
    drafter = _draft_policy(eft, draft)
    encoded = encode_prompts(tokenizer, prompts)
    eos, pad_id = eos_and_pad(tokenizer, eos_token_ids, ignore_eos)

    start = time.perf_counter()
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))  # as generate: same batches
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    outputs: list[str] = [""] * len(prompts)
    token_ids: list[list[int]] = [[] for _ in prompts]
    device = eft.members[0][1].device
    generator = torch.Generator(device=device).manual_seed(seed) if temperature > 0 else None
    for batch in tqdm(batches, desc="speculative", unit="batch", disable=not progress):
        rows = _speculative_batch(
            eft,
            drafter,
            [encoded[i] for i in batch],
            max_new_tokens,
            k,
            pad_id,
            eos,
            stop_strings,
            temperature,
            generator,
            stats,
        )
        for i, (text, ids) in zip(batch, rows):
            outputs[i], token_ids[i] = text, ids
    eft.reset()
    if drafter not in [m[1] for m in eft._all]:
        drafter.reset()
    return SpeculativeResult(outputs, token_ids, _finish(stats, time.perf_counter() - start))


def forward_flops_per_token(model) -> float:
    """Forward FLOPs per token of a causal LM, 2 × its parameters except the input embedding (a
    lookup); the output layer counts (tied or not). Attention over the context is left out."""
    total = sum(p.numel() for p in model.parameters())
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if emb is not None:
        total -= emb.weight.numel()
        if head is not None and head.weight is emb.weight:  # tied: the output layer still computes
            total += head.weight.numel()
    return 2.0 * total


def flop_weighted_speedup(eft: "EFTPolicy", stats: dict, draft: Any = None) -> float:
    """Speed-up of speculative over plain EFT decoding when each sequential forward pass costs the
    FLOPs of one token through its model, however many tokens it scores (the regime where a pass is
    bound by reading the weights, as for large models on accelerators; per-call overhead, which
    dominates tiny CPU models, is left out).

    Per running row: plain decoding runs every member once per emitted token (`row_tokens`, EOS
    included); speculative decoding runs the draft model `row_draft_steps` times and every other
    member once per verification (`row_verifications`). speed-up = row_tokens · Σ_m F_m /
    (row_draft_steps · F_draft + row_verifications · Σ_{m ≠ draft} F_m), F =
    `forward_flops_per_token`. With i.i.d. acceptance α and k drafts per round this is Leviathan
    et al.'s (2023) expected factor (1 − α^{k+1}) / (1 − α) · Σ F / (k·F_draft + Σ F − F_draft).
    """
    drafter = _draft_policy(eft, draft)
    flops = {id(p): forward_flops_per_token(p.model) for _, p, _ in eft.members}
    f_draft = forward_flops_per_token(drafter.model)
    others = sum(f for key, f in flops.items() if key != id(drafter))
    spec = stats["row_draft_steps"] * f_draft + stats["row_verifications"] * others
    plain = stats["row_tokens"] * sum(flops.values())
    return plain / spec if spec else float("nan")


def _finish(stats: dict, wall: float) -> dict:
    out = {
        key: stats[key]
        for key in (
            "k",
            "proposed",
            "accepted",
            "verifications",
            "draft_steps",
            "new_tokens",
            "row_verifications",
            "row_draft_steps",
            "row_tokens",
        )
    }
    out["acceptance_rate"] = stats["accepted"] / stats["proposed"] if stats["proposed"] else float("nan")
    out["tokens_per_verification"] = (
        stats["row_tokens"] / stats["row_verifications"] if stats["row_verifications"] else float("nan")
    )
    out["wall_time_s"] = wall
    return out


def _draft_policy(eft: "EFTPolicy", draft):
    """The RewindablePolicy that drafts: an EFT member when the model is one (its work is reused)."""
    from sahlab.eft.policy import check_shared_tokenizer
    from sahlab.eft.rewind import RewindablePolicy
    from sahlab.eval.policy import ModelPolicy

    if draft is None:
        draft = eft.ft_small_model
    tokenizer = eft.tokenizer
    if isinstance(draft, ModelPolicy):
        check_shared_tokenizer([("eft", eft.tokenizer), ("draft", draft.tokenizer)])
        draft = draft.model
    policy = eft.member_policy(draft)
    if policy is None:
        policy = RewindablePolicy(draft, tokenizer)
    head = policy.model.get_output_embeddings()
    if head is not None and head.weight.shape[0] < eft.vocab_size:
        raise ValueError(
            f"draft model's output layer has {head.weight.shape[0]} rows, fewer than the EFT "
            f"vocabulary width {eft.vocab_size}"
        )
    return policy


def _speculative_batch(
    eft,
    drafter,
    rows: list[list[int]],
    max_new_tokens: int,
    k: int,
    pad_id: int,
    eos: list[int],
    stop_strings: list[str],
    temperature: float,
    generator,
    stats: dict,
):
    import torch

    from sahlab.eval.generate import TAIL_SLACK, cut_at_stop

    tokenizer = eft.tokenizer
    vocab = eft.vocab_size
    n, width = len(rows), max(len(r) for r in rows)
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((n, width), dtype=torch.long)
    for r, ids in enumerate(rows):
        input_ids[r, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention_mask[r, width - len(ids) :] = 1

    members = [policy for _, policy, _ in eft.members]
    draft_idx = next((i for i, policy in enumerate(members) if policy is drafter), None)
    # log-probs at position 0; each member prefilled with its own prompt rendering when bound
    first = eft.prefill_members(input_ids, attention_mask)
    # an outside draft model sees the reference prompts (the fine-tuned member's format)
    q_first = first[draft_idx] if draft_idx is not None else drafter.prefill(input_ids, attention_mask)
    models = members if draft_idx is not None else members + [drafter]  # everything that must be rewound

    def pick(logp):  # a draft token from q (argmax when greedy)
        if temperature == 0:
            return logp.argmax(dim=-1)
        probs = torch.softmax(logp[..., :vocab] / temperature, dim=-1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(1)

    eos_set = set(eos)
    tail = max((len(s) for s in stop_strings), default=0) + TAIL_SLACK
    out: list[list[int]] = [[] for _ in range(n)]
    alive = list(range(n))  # original row of each batch position; finished rows are dropped
    pending = None  # [B] token emitted last round, not yet in any cache
    while alive:
        budget = max(max_new_tokens - len(out[r]) for r in alive)
        kk = min(k, budget - 1)  # a round emits up to kk + 1 tokens
        # 1. draft kk tokens (the draft consumes the pending token first)
        q_cur = q_first if pending is None else drafter.step(pending)
        q_steps, drafts = [], []
        for _ in range(kk):
            q_steps.append(q_cur[..., :vocab])
            drafts.append(pick(q_cur[..., :vocab]))
            q_cur = drafter.step(drafts[-1])
        q_steps.append(q_cur[..., :vocab])
        stats["draft_steps"] += kk + (pending is not None)
        drafts_t = (
            torch.stack(drafts, dim=1)
            if drafts
            else torch.zeros((len(alive), 0), dtype=torch.long, device=q_cur.device)
        )
        # 2. every other member scores pending + drafts in one pass
        fed = drafts_t if pending is None else torch.cat([pending[:, None], drafts_t], dim=1)
        logps = []
        for i, policy in enumerate(members):
            if i == draft_idx:
                logps.append(torch.stack(q_steps, dim=1))
                continue
            scored = policy.extend(fed) if fed.shape[1] else None
            if pending is None:  # position 0 was scored by prefill
                head = first[i][:, None]
                scored = head if scored is None else torch.cat([head, scored], dim=1)
            logps.append(scored)
        p_all = eft.combine(logps)  # [B, kk+1, V]
        stats["verifications"] += 1
        # 3. accept / reject
        if temperature == 0:
            n_acc, nxt = greedy_accept(p_all, drafts_t)
        else:
            p_prob = torch.softmax(p_all / temperature, dim=-1)
            q_prob = (
                torch.softmax(torch.stack(q_steps[:kk], dim=1) / temperature, dim=-1) if kk else p_prob[:, :0]
            )
            n_acc, nxt = speculative_accept(p_prob, q_prob, drafts_t, generator)
        # 4. rewind every cache to pending + accepted drafts
        keep = n_acc + (0 if pending is None else 1)
        for policy in models:
            policy.rewind(keep, fed.shape[1])
        pending = nxt
        # bookkeeping: the harness's stopping rules, token by token (a row never exceeds max_new_tokens)
        n_list, nxt_list, drafts_list = n_acc.tolist(), nxt.tolist(), drafts_t.tolist()
        still = []
        for pos, r in enumerate(alive):
            stats["proposed"] += kk
            stats["row_draft_steps"] += kk + (fed.shape[1] - drafts_t.shape[1])  # + the pending token
            stats["accepted"] += n_list[pos]
            stats["row_verifications"] += 1
            stats["row_tokens"] += n_list[pos] + 1
            if _append(
                out[r],
                drafts_list[pos][: n_list[pos]] + [nxt_list[pos]],
                eos_set,
                max_new_tokens,
                tokenizer,
                stop_strings,
                tail,
            ):
                still.append(pos)
        if still and len(still) < len(alive):  # drop finished rows from every cache
            index = torch.tensor(still, dtype=torch.long)
            for policy in models:
                policy.select_rows(index)
            pending = pending[index.to(pending.device)]
        alive = [alive[pos] for pos in still]
    for r in range(n):
        stats["new_tokens"] += len(out[r])
    texts = tokenizer.batch_decode(out, skip_special_tokens=True)
    return [(cut_at_stop(text, stop_strings), ids) for text, ids in zip(texts, out)]


def _append(
    row: list[int],
    new: list[int],
    eos: set[int],
    max_new_tokens: int,
    tokenizer,
    stop_strings: list[str],
    tail: int,
) -> bool:
    """Add a round's tokens to a row as the harness would one by one; return whether it still runs."""
    for tok in new:
        if tok in eos:
            return False
        row.append(tok)
        if stop_strings:
            text = tokenizer.decode(row[-tail:], skip_special_tokens=True)
            if any(s in text for s in stop_strings):
                return False
        if len(row) >= max_new_tokens:
            return False
    return True

"""Factuality by likelihood in the 2×2 grid: the world's knowledge items under each cell's
teacher-forced EFT distribution.

The items are the knowledge probe's (`sahlab.eval.knowledge.cloze_items`): for every corpus person
and attribute, a biography sentence of the corpus cut before the value, and the values that
attribute takes in the world as candidate completions. A cell knows a fact when the true value is
the likeliest completion under the cell's distribution, token by token

    log p_cell(completion | prompt) = Σ_t log p_cell(c_t | prompt, c_<t),

with p_cell the real post-trained model on the diagonal and the per-token EFT combination
log_softmax(log π_base_L + log π_ft − log π_base_ft) off it (the same combination decoding uses).
Every member sees the item in the corpus's own words — the pre-training text every model, base
or post-trained, has seen — which is also how the stage table's knowledge probe asks post-trained
models. Ranking candidates needs no answer format, so factuality here does not depend on whether
a member can produce an answer in a given format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from sahlab.eft.config import CELLS

if TYPE_CHECKING:
    from sahlab.eft.policy import EFTPolicy

TASK = "knowledge"  # the grid's task name of the cloze items
METRIC = "cloze_accuracy"


def eft_completion_logprobs(
    eft: "EFTPolicy", pairs: Sequence[tuple[str, str]], batch_size: int = 128
) -> list[np.ndarray]:
    """Per-token log-probs (nats) of each completion after its prompt under the EFT distribution.

    pairs: (prompt, completion) texts, tokenised separately with `add_special_tokens=False` and
    concatenated (as `sahlab.eval.generate.sequence_logprobs`, which this equals for a one-model
    policy). Every member scores the whole sequence in one uncached forward pass (right-padded);
    the members' log-probs at the completion positions are combined with `EFTPolicy.combine`."""
    import torch

    tok = eft.tokenizer
    seqs = []
    for k, (prompt, completion) in enumerate(pairs):
        ctx = tok(prompt, add_special_tokens=False)["input_ids"]
        comp = tok(completion, add_special_tokens=False)["input_ids"]
        if not ctx or not comp:
            raise ValueError(
                f"pair {k}: prompt and completion must both tokenise to something, got "
                f"{prompt!r}, {completion!r}"
            )
        seqs.append((ctx + comp, len(ctx)))
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    order = sorted(range(len(seqs)), key=lambda k: -len(seqs[k][0]))
    out: list[np.ndarray] = [np.zeros(0) for _ in seqs]
    with torch.inference_mode():
        for i in range(0, len(order), batch_size):
            batch = order[i : i + batch_size]
            width = max(len(seqs[k][0]) for k in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, k in enumerate(batch):
                ids[r, : len(seqs[k][0])] = torch.tensor(seqs[k][0])
                mask[r, : len(seqs[k][0])] = 1
            member_logps = []
            for _, policy, _ in eft.members:
                if policy.model.training:
                    raise ValueError("EFT knowledge scoring needs every member in eval mode")
                dev = policy.device
                logits = policy.model(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits
                member_logps.append(torch.log_softmax(logits.float(), dim=-1))
            for r, k in enumerate(batch):
                full, first = seqs[k]
                rows = eft.combine([lp[r, first - 1 : len(full) - 1] for lp in member_logps])  # [C, V]
                target = torch.tensor(full[first:], device=rows.device)
                out[k] = rows.gather(1, target[:, None]).squeeze(1).double().cpu().numpy()
    return out


def cell_policies(members: dict[str, Any]) -> dict[str, "EFTPolicy"]:
    """The four cells as policies: the diagonal a post-trained model alone (all three roles the same
    model: weight 1 + 1 − 1), off the diagonal the up- and down-scaling EFT combinations."""
    from sahlab.eft.experiment import EMULATION
    from sahlab.eft.policy import EFTPolicy

    out = {}
    for cell in CELLS:
        if cell in EMULATION:
            base, ft, ft_base = (members[r] for r in EMULATION[cell])
            out[cell] = EFTPolicy(base, ft, ft_base)
        else:
            post = members[f"{cell}_post"]
            out[cell] = EFTPolicy(post, post, post)
    return out


def run_knowledge(
    dirs: dict[str, str], world, *, n_boot: int, seed: int, batch_size: int = 128
) -> tuple[list[dict], list[dict]]:
    """Cloze accuracy of every grid cell on the world's knowledge items: (metric rows, per-item
    records tagged with cell, task = "knowledge" and id = "<person>/<attribute>")."""
    from sahlab.eft.experiment import ROLES, load_members, metric_rows
    from sahlab.eval.knowledge import cloze_items, cloze_results

    items = cloze_items(world)
    if not items:
        raise ValueError("knowledge items: the world has no corpus people")
    pairs = [(it["prompt"], c) for it in items for c in it["candidates"]]
    members = load_members(dirs, ROLES)
    rows, records = [], []
    for cell, policy in cell_policies(members).items():
        scores = [lp.sum() for lp in eft_completion_logprobs(policy, pairs, batch_size=batch_size)]
        recs, metrics = cloze_results(items, scores, n_boot=n_boot, seed=seed)
        pre, ft = CELLS[cell]
        rows += metric_rows(
            {METRIC: metrics[METRIC]},
            cell=cell,
            pretrain=pre,
            finetune=ft,
            emulated=cell not in ("small", "large"),
            task=TASK,
        )
        records += [{"cell": cell, "task": TASK, "id": f"{r['person']}/{r['attribute']}", **r} for r in recs]
    return rows, records

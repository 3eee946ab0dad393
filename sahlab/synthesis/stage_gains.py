"""Paired stage contrasts: what pre-training and post-training add on one task's test items.

Every stage of a scale is scored on the same test items (same ids, same order), so a gain is a
difference of paired measurements: each bootstrap resample draws one set of item indices and
recomputes both stages' metric on it (`sahlab.eft.paired.item_stats`: means, ratios and corpus
chrF/BLEU from per-item statistics). Contrasts, each in a stated prompt format:

- base_native: pre-trained − random init, both asked in the corpus's own (native) layout;
- base_chat:   pre-trained − random init, both asked in the chat template;
- post_chat:   post-trained − pre-trained, both in the chat template (format held fixed:
               what post-training adds beyond the template);
- post_own:    post-trained (chat) − pre-trained (native): each stage in its own format, the
               comparison the SAH's "post-training only selects a format" is about.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sahlab.stats.resampling import bootstrap_ci

# contrast -> ((stage, format) of the later model, (stage, format) of the earlier one)
CONTRASTS = {
    "base_native": (("base", "native"), ("random", "native")),
    "base_chat": (("base", "chat"), ("random", "chat")),
    "post_chat": (("post", "chat"), ("base", "chat")),
    "post_own": (("post", "chat"), ("base", "native")),
}


COLUMNS = ("scale", "task", "metric", "contrast", "later", "earlier", "gain", "ci_low", "ci_high", "n")


def paired_gain(
    metric: str,
    later: Sequence[dict],
    earlier: Sequence[dict],
    *,
    n_boot: int,
    seed: int,
    alpha: float = 0.05,
) -> dict:
    """metric(later) − metric(earlier) on the same items, with a paired percentile interval."""
    from sahlab.eft.paired import item_stats

    ids_a, ids_b = [r.get("id") for r in later], [r.get("id") for r in earlier]
    if ids_a != ids_b:
        raise ValueError(
            f"{metric}: the two stages score different items (or in another order); "
            "a paired gain needs the same test items"
        )
    (sa, score_a), (sb, score_b) = item_stats(metric, later), item_stats(metric, earlier)

    def stat(idx):  # idx [n] (the full sample) or [B, n] (the resamples)
        rows = np.atleast_2d(idx)
        res = score_a(sa[rows].sum(axis=1)) - score_b(sb[rows].sum(axis=1))
        return res[0] if np.ndim(idx) == 1 else res

    iv = bootstrap_ci(stat, n_boot=n_boot, seed=seed, alpha=alpha, n=len(ids_a), vectorised=True)
    return {"gain": iv["value"], "ci_low": iv["ci_low"], "ci_high": iv["ci_high"], "n": iv["n"]}


def gains_rows(
    records: dict[tuple[str, str, str, str], Sequence[dict]],
    metrics: dict[str, str],
    *,
    n_boot: int,
    seed: int,
    alpha: float = 0.05,
) -> list[dict]:
    """records: (scale, stage, format, task) -> per-item records. One row per (scale, task,
    contrast) whose two stages were both evaluated; a missing stage just skips its contrasts."""
    rows = []
    keys = sorted({(s, t) for s, _, _, t in records})
    for scale, task in keys:
        for name, (a, b) in CONTRASTS.items():
            ka, kb = (scale, *a, task), (scale, *b, task)
            if ka not in records or kb not in records:
                continue
            g = paired_gain(metrics[task], records[ka], records[kb], n_boot=n_boot, seed=seed, alpha=alpha)
            rows.append(
                {
                    "scale": scale,
                    "task": task,
                    "metric": metrics[task],
                    "contrast": name,
                    "later": "/".join(a),
                    "earlier": "/".join(b),
                    **g,
                }
            )
    return rows


CAPTION = (
    "Stage gains on each task's main metric: later stage − earlier stage on the same test "
    "items, with paired percentile bootstrap 95 % CIs (one set of resampled items for both "
    "stages). base_native / base_chat: pre-trained − random init in the native layout / the "
    "chat template; post_chat: post-trained − pre-trained, both in the chat template; "
    "post_own: post-trained (chat) − pre-trained (native), each in its own format."
)

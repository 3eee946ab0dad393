"""Knowledge probe: does a model know the corpus people's facts, in pre-training's own words?

For every corpus person and attribute the probe completes one biography sentence of the corpus
("Dris Lefurain works for ___.") with each value that attribute takes in the world, and counts the
person as known when the true value is the likeliest completion. Ranking by likelihood needs no
answer format, so random-init, pre-trained and post-trained models are compared on one scale
(chance = 1 / number of values), the way knowledge is probed in LAMA-style cloze tests.
"""

from __future__ import annotations

import numpy as np

from sahlab.models.prompting import BOS
from sahlab.stats.resampling import bootstrap_ci
from sahlab.world.biographies import TEMPLATES, article, fact_value

# attribute -> index of the biography template whose sentence ends with the value
CLOZE_TEMPLATES = {"birth_city": 0, "employer": 0, "profession": 0, "university": 0, "hobby": 1}


def cloze_items(world) -> list[dict]:
    """One item per (corpus person, attribute): the sentence head, the candidate completions and
    the index of the true one."""
    items = []
    for attr, k in CLOZE_TEMPLATES.items():
        template = TEMPLATES["person"][attr][k]
        cut = template.index(" {a}" if "{a}" in template else " {v}")  # the value ends the sentence
        head = template[:cut]
        values = sorted({fact_value(world, p, attr) for p in world.people})
        endings = [template[cut:].format(a=article(v), v=v) for v in values]
        for person in world.corpus_people:
            items.append(
                {
                    "person": person["id"],
                    "attribute": attr,
                    "prompt": BOS + head.format(S=person["name"]),
                    "candidates": endings,
                    "answer": values.index(fact_value(world, person, attr)),
                }
            )
    return items


def knowledge_probe(
    model, tokenizer, world, *, batch_size: int = 256, n_boot: int = 1000, seed: int = 0
) -> tuple[list[dict], dict]:
    """Cloze accuracy over the corpus people's facts: (records, metrics).

    metrics: "cloze_accuracy" (bootstrap CI over facts), "chance" and one accuracy per attribute.
    """
    from sahlab.eval.generate import sequence_logprobs

    items = cloze_items(world)
    if not items:
        raise ValueError("knowledge probe: the world has no corpus people")
    pairs = [(it["prompt"], c) for it in items for c in it["candidates"]]
    scores = [
        lp.sum()
        for lp in sequence_logprobs(model.eval(), tokenizer, pairs, batch_size=batch_size, progress=False)
    ]
    return cloze_results(items, scores, n_boot=n_boot, seed=seed)


def cloze_results(items: list[dict], scores, *, n_boot: int = 1000, seed: int = 0) -> tuple[list[dict], dict]:
    """(records, metrics) of the cloze items from the log-likelihood of every candidate (`scores`:
    flat, items in order, each item's candidates in order); the likeliest candidate is the answer."""
    records, pos = [], 0
    for it in items:
        s = scores[pos : pos + len(it["candidates"])]
        pos += len(it["candidates"])
        best = int(np.argmax(s))
        records.append(
            {
                "person": it["person"],
                "attribute": it["attribute"],
                "pred": it["candidates"][best].strip(" ."),
                "reference": it["candidates"][it["answer"]].strip(" ."),
                "correct": best == it["answer"],
                "n_candidates": len(s),
            }
        )
    correct = np.array([r["correct"] for r in records], dtype=float)
    metrics = {
        "cloze_accuracy": bootstrap_ci(correct, n_boot=n_boot, seed=seed),
        "chance": {"value": float(np.mean([1 / r["n_candidates"] for r in records]))},
    }
    for attr in CLOZE_TEMPLATES:
        sub = [r["correct"] for r in records if r["attribute"] == attr]
        metrics[f"cloze_{attr}"] = {"value": float(np.mean(sub))}
    return records, metrics

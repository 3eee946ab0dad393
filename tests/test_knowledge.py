"""The cloze knowledge probe (sahlab.eval.knowledge): items re-derived from the world, ranking and
accuracy on hand-made scores, and a real model end to end."""

from __future__ import annotations

import numpy as np
import pytest

from sahlab.eval import knowledge
from sahlab.models.prompting import BOS
from sahlab.world.build import build_world

CFG = {
    "entities": {
        "n_countries": 2,
        "n_cities": 3,
        "n_companies": 4,
        "n_universities": 2,
        "n_corpus_people": 6,
        "n_new_people": 2,
    },
    "tasks": {"multihop": {"train": 8, "test": 8}},
    "newknowledge": {"test": 8},
}


@pytest.fixture(scope="module")
def world():
    return build_world(CFG, 3)


def test_items_ask_every_corpus_fact_with_the_truth_among_the_candidates(world):
    items = knowledge.cloze_items(world)
    people = world.corpus_people
    assert len(items) == len(people) * len(knowledge.CLOZE_TEMPLATES)
    for it in items:
        person = world.entity(it["person"])
        assert person["split"] == "corpus" and it["prompt"].startswith(BOS + person["name"])
        value = person[it["attribute"]]
        value = world.name(value) if isinstance(value, str) and ":" in value else str(value)
        sentence = it["prompt"][len(BOS) :] + it["candidates"][it["answer"]]
        assert sentence.endswith(f" {value}.")
        assert len(set(it["candidates"])) == len(it["candidates"]) >= 2


def test_accuracy_counts_the_true_value_ranked_first(world, monkeypatch):
    import sahlab.eval.generate as gen

    items = knowledge.cloze_items(world)
    truth = {(it["prompt"], it["candidates"][it["answer"]]) for it in items}

    def oracle(model, tok, pairs, **_):  # the true completion likeliest
        return [np.array([0.0 if p in truth else -5.0]) for p in pairs]

    class Model:
        def eval(self):
            return self

    monkeypatch.setattr(gen, "sequence_logprobs", oracle)
    records, metrics = knowledge.knowledge_probe(Model(), None, world, n_boot=50)
    assert metrics["cloze_accuracy"]["value"] == 1.0 and all(r["correct"] for r in records)
    assert 0 < metrics["chance"]["value"] < 1

    def first(model, tok, pairs, **_):  # always the first candidate
        out, seen = [], {}
        for p, c in pairs:
            seen[p] = seen.get(p, -1) + 1 if p in seen else 0
            out.append(np.array([0.0 if seen[p] == 0 else -1.0]))
        return out

    monkeypatch.setattr(gen, "sequence_logprobs", first)
    _, metrics = knowledge.knowledge_probe(Model(), None, world, n_boot=50)
    expected = np.mean([it["answer"] == 0 for it in items])
    assert metrics["cloze_accuracy"]["value"] == pytest.approx(expected)
    lo, hi = metrics["cloze_accuracy"]["ci_low"], metrics["cloze_accuracy"]["ci_high"]
    assert lo <= expected <= hi


def test_probe_runs_on_a_model(world, tmp_path):
    from sahlab.models.pretrain import init_random
    from sahlab.models.registry import load_model, load_tokenizer
    from sahlab.models.tokenizer import train_tokenizer

    texts = [f"{p['name']} works for {world.name(p['employer'])}." for p in world.people] * 5
    train_tokenizer(texts, 300, tmp_path / "tok")
    build = {
        "arch": "llama",
        "hidden_size": 16,
        "num_layers": 1,
        "num_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": 128,
    }
    init_random(build, tmp_path / "tok", tmp_path / "m", seed=0)
    records, metrics = knowledge.knowledge_probe(
        load_model(tmp_path / "m"), load_tokenizer(tmp_path / "m"), world, n_boot=20
    )
    assert len(records) == len(knowledge.cloze_items(world))
    assert 0 <= metrics["cloze_accuracy"]["value"] <= 1
    assert set(metrics) >= {f"cloze_{a}" for a in knowledge.CLOZE_TEMPLATES}

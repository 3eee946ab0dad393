"""Study A's new-knowledge experiment: the paper's arm (QA about some new people, tests on the
held-out ones) — the people split, no leakage into the arm's QA, and the paired tables/CIs."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import unpad
from sahlab.scaling.newknowledge import (
    CONDITIONS,
    arm_qa_rows,
    new_people_qa,
    newknowledge_markdown,
    newknowledge_tables,
    person_of,
    split_new_people,
)

WORLD = {
    "entities": {
        "n_corpus_people": 30,
        "n_new_people": 12,
        "n_cities": 6,
        "n_companies": 8,
        "n_universities": 3,
    },
    "corpus": {"total_chars": 20000},
    "tasks": {t: {"train": 64, "test": 16} for t in ("math", "translation", "instructions", "multihop")},
    "newknowledge": {"bios_per_person": 2, "test": 60},
}


@pytest.fixture(scope="module")
def world_data():
    from sahlab.world.build import build_world, make_newknowledge, make_task, validate_world_config

    cfg = validate_world_config(WORLD)
    world = build_world(cfg, seed=4)
    return world, make_newknowledge(world, cfg, 4), make_task(world, "multihop", cfg, 4)["train"]


# ----------------------------------------------------------------------------- the split
def test_split_is_deterministic_disjoint_and_complete():
    ids = [f"person:{i}" for i in range(40, 60)]
    qa, held = split_new_people(ids, 0.5, seed=7)
    assert (qa, held) == split_new_people(list(reversed(ids)), 0.5, seed=7)  # order-free
    assert len(qa) == 10 and not set(qa) & set(held) and set(qa) | set(held) == set(ids)
    assert split_new_people(ids, 0.5, seed=8) != (qa, held)  # the seed draws the split
    assert len(split_new_people(ids, 0.25, seed=7)[0]) == 5
    with pytest.raises(ValueError, match="qa_people_fraction.*at least one"):
        split_new_people(ids[:2], 0.1, seed=7)


def test_the_arms_qa_never_mentions_a_heldout_fact(world_data):
    world, nk, old_qa = world_data
    qa_people, held = split_new_people([p["id"] for p in world.new_people], 0.5, seed=4)
    new_rows = new_people_qa(world, qa_people, 12, seed=4)
    arm = arm_qa_rows(old_qa[:32], new_rows)
    assert all(r["metadata"]["kind"] == "direct" and person_of(r) in qa_people for r in new_rows)
    # same size and the same direct/2-hop mix as the control, only whose facts differ
    assert len(arm) == 32 and [r["metadata"]["kind"] for r in arm] == [
        r["metadata"]["kind"] for r in old_qa[:32]
    ]
    assert sum(r in new_rows for r in arm) == 12
    held_names = {world.entity(pid)["name"] for pid in held}
    arm_text = [f"{r['prompt']}\n{r['reference']}" for r in arm]
    assert not any(name in text for name in held_names for text in arm_text)
    heldout_tests = [t for t in nk["test"] if person_of(t) in held]
    assert heldout_tests and {person_of(t) for t in nk["test"]} - set(held) <= set(qa_people)
    prompts = {r["prompt"] for r in arm}
    assert not any(t["prompt"] in prompts for t in heldout_tests)
    # the old-people control has no new person at all
    new_names = {p["name"] for p in world.new_people}
    assert not any(n in r["prompt"] for n in new_names for r in old_qa[:32])


def test_arm_cannot_swap_more_than_the_controls_direct_questions(world_data):
    world, _, old_qa = world_data
    qa_people, _ = split_new_people([p["id"] for p in world.new_people], 0.5, seed=4)
    n_direct = sum(r["metadata"]["kind"] == "direct" for r in old_qa[:8])
    with pytest.raises(ValueError, match="n_qa_new"):
        arm_qa_rows(old_qa[:8], new_people_qa(world, qa_people, n_direct + 1, seed=4))
    with pytest.raises(ValueError, match="n_qa_new"):  # more than the people's distinct questions
        new_people_qa(world, qa_people[:1], 19, seed=4)


# ----------------------------------------------------------------------------- tables and CIs
def _records(n=40, seed=0):
    """Two models x three conditions over the same items; the new arm is right wherever the
    control is, and on extra items (so its paired difference is > 0)."""
    rng = np.random.default_rng(seed)
    out = []
    for model in ("s-base", "s-post"):
        ctrl = rng.random(n) < 0.3
        extra = rng.random(n) < 0.4
        for cond, correct in (
            ("qa_only", rng.random(n) < 0.05),
            ("bios+qa", ctrl),
            ("bios+newqa", ctrl | extra),
        ):
            for i in range(n):
                out.append(
                    {
                        "model": model,
                        "condition": cond,
                        "id": f"t{i}",
                        "kind": "direct" if i % 2 else "2hop",
                        "heldout": i < n - 6,
                        "correct": bool(correct[i]),
                    }
                )
    return out


def test_tables_give_accuracies_and_paired_differences_on_heldout_items():
    recs = _records()
    acc, diffs = newknowledge_tables(recs, n_boot=300, seed=1)
    held = [r for r in recs if r["heldout"]]
    row = next(
        r for r in acc if r["model"] == "s-post" and r["condition"] == "bios+newqa" and r["kind"] == "direct"
    )
    sel = [
        r["correct"]
        for r in held
        if r["model"] == "s-post" and r["condition"] == "bios+newqa" and r["kind"] == "direct"
    ]
    assert row["n"] == len(sel) == 17 and row["value"] == pytest.approx(np.mean(sel))
    assert row["ci_low"] <= row["value"] <= row["ci_high"]
    assert {(r["condition"], r["kind"]) for r in acc} == {
        (c, k) for c in CONDITIONS for k in ("all", "direct", "2hop")
    }
    arm = next(r for r in diffs if r["contrast"] == "arm" and r["model"] == "s-base" and r["kind"] == "all")

    def acc_of(cond):
        return next(
            r["value"]
            for r in acc
            if r["model"] == "s-base" and r["condition"] == cond and r["kind"] == "all"
        )

    assert arm["diff"] == pytest.approx(acc_of("bios+newqa") - acc_of("bios+qa"))
    # item-wise the arm is never worse: a paired interval cannot go below 0
    assert arm["ci_low"] >= 0 and arm["verdict"] == "> 0"
    contrasts = {r["contrast"] for r in diffs}
    assert contrasts == {"arm", "bios", "post - base", "arm: post - base"}
    pb = [r for r in diffs if r["contrast"] == "post - base" and r["kind"] == "all"]
    assert {r["condition"] for r in pb} == set(CONDITIONS)
    md = unpad(newknowledge_markdown(acc, diffs))
    assert md.count("\n| s-base |") == 9 and "| arm | s-base |" in md


def test_paired_ci_is_narrower_than_the_unpaired_spread():
    acc, diffs = newknowledge_tables(_records(n=200, seed=3), n_boot=500, seed=0)
    arm = next(r for r in diffs if r["contrast"] == "arm" and r["model"] == "s-base" and r["kind"] == "all")
    a = {r["condition"]: r for r in acc if r["model"] == "s-base" and r["kind"] == "all"}
    unpaired = (a["bios+newqa"]["ci_high"] - a["bios+newqa"]["ci_low"]) ** 2 + (
        a["bios+qa"]["ci_high"] - a["bios+qa"]["ci_low"]
    ) ** 2
    assert (arm["ci_high"] - arm["ci_low"]) < np.sqrt(unpaired)


def test_tables_refuse_unpaired_items_and_missing_flags():
    recs = _records()
    bad = [r | {"id": "other"} if r["condition"] == "bios+qa" and r["id"] == "t0" else r for r in recs]
    with pytest.raises(ValueError, match="same items"):
        newknowledge_tables(bad, n_boot=10, seed=0)
    with pytest.raises(ValueError, match="held-out flag"):
        newknowledge_tables([r | {"heldout": None} for r in recs], n_boot=10, seed=0)
    acc, _ = newknowledge_tables([r | {"heldout": None} for r in recs], n_boot=10, seed=0, heldout_only=False)
    assert max(r["n"] for r in acc) == 40


def test_figure_shows_both_arms_and_the_differences():
    from sahlab.figures.scaling import plot_newknowledge
    from sahlab.figures.theme import apply_theme

    apply_theme()
    acc, diffs = newknowledge_tables(_records(), n_boot=50, seed=0)
    fig = plot_newknowledge(acc, diffs)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:2] == ["direct questions (n = 17)", "2-hop questions (n = 17)"]
    assert titles[2:] == ["direct questions: differences", "2-hop questions: differences"]
    labels = set(fig.axes[1].get_legend_handles_labels()[1])
    assert "bios + QA (incl. new people)" in labels


# ----------------------------------------------------------------------------- config checks
@pytest.mark.parametrize(
    "change, pattern",
    [
        ({"n_qa_new": 65}, r"scaling\.newknowledge\.n_qa_new.*must not exceed n_qa"),
        ({"qa_people_fraction": 0.01}, r"scaling\.newknowledge\.qa_people_fraction.*at least one"),
        ({"qa_people_fraction": 0.05, "n_qa_new": 20}, r"scaling\.newknowledge\.n_qa_new.*only 18"),
    ],
)
def test_bad_new_arm_settings_fail_with_the_key_named(change, pattern):
    from pathlib import Path

    import yaml

    from sahlab.config import ConfigError, check_config
    from sahlab.scaling.config import check_scaling_config

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    check_config(config)  # the default passes
    config["scaling"]["newknowledge"].update(change)
    with pytest.raises(ConfigError, match=pattern):
        check_scaling_config(config)
        check_config(config)

"""Task splits in the common schema ``{"id", "prompt", "reference", "metadata"}``.

math / translation / instructions / coding draw test and train items from disjoint pools of the item
space (``rng.in_pool``), which the corpus never uses either. multihop asks about corpus people
(knowledge from pre-training), with disjoint people in train and test. newknowledge is about the
people absent from the corpus.
"""

from __future__ import annotations

from . import arithmetic, coding, language, multihop
from .biographies import distinct_biographies
from .config import TASKS, check_world_matches, validate_world_config
from .corpus import pool_instruction, pool_problem, pool_program, pool_sentence
from .rng import rng_for


def _distinct(make, n: int, key, what: str) -> list:
    """`n` items from `make()` with distinct `key(item)`."""
    out, seen = [], set()
    for _ in range(50 * n + 1000):
        if len(out) == n:
            return out
        item = make()
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    if len(out) == n:
        return out
    raise ValueError(f"{what}: could not find {n} distinct items (found {len(out)}); lower the size")


def _math(world, cfg, seed, split, n, rng) -> list[dict]:
    problems = _distinct(
        lambda: pool_problem(world, cfg["math"], rng, split),
        n,
        lambda p: p["question"],
        f"tasks.math.{split}",
    )
    return [
        {
            "prompt": p["question"],
            "reference": arithmetic.task_reference(p),
            "metadata": {"answer": str(p["answer"]), "steps": p["steps"]},
        }
        for p in problems
    ]


def translation_prompt(lang_name: str, english: str) -> str:
    return f"Translate into {lang_name}: {english}"


def _translation(world, cfg, seed, split, n, rng) -> list[dict]:
    lang = world.language
    sents = _distinct(
        lambda: pool_sentence(world, cfg["language"], rng, split),
        n,
        lambda s: language.english(s, lang),
        f"tasks.translation.{split}",
    )
    return [
        {
            "prompt": translation_prompt(lang["name"], language.english(s, lang)),
            "reference": language.foreign(s, lang),
            "metadata": {
                "src_lang": "en",
                "tgt_lang": lang["code"],
                "tgt_name": lang["name"],
                "source": language.english(s, lang),
            },
        }
        for s in sents
    ]


def _instructions(world, cfg, seed, split, n, rng) -> list[dict]:
    exs = _distinct(
        lambda: pool_instruction(world, cfg["instructions"], rng, split),
        n,
        lambda e: e["prompt"],
        f"tasks.instructions.{split}",
    )
    return [
        {
            "prompt": e["prompt"],
            "reference": e["reference"],
            "metadata": {
                "instruction_id_list": e["instruction_id_list"],
                "kwargs": e["kwargs"],
                "entity": e["entity"],
                # invented names defeat langdetect: case checks judge the case only
                "detect_language": False,
            },
        }
        for e in exs
    ]


def _multihop(world, cfg, seed, split, n, rng) -> list[dict]:
    people = multihop.split_people(world, cfg, seed)[split]
    return multihop.sample_questions(
        world,
        people,
        n,
        cfg["multihop"]["two_hop_fraction"],
        rng,
        all_templates=split == "train",
        what=f"tasks.multihop.{split}",
    )


def _coding(world, cfg, seed, split, n, rng) -> list[dict]:
    # distinct prompts (description + examples), programs disjoint across splits (`in_pool` on the
    # program): a short program may recur with other examples and words, else the few one-step
    # programs of a pool could not carry a difficulty mix
    first = cfg["coding"]["examples_first"]
    prompt = lambda p: coding.task_prompt(p, first)  # noqa: E731
    problems = _distinct(
        lambda: pool_program(world, cfg["coding"], rng, split), n, prompt, f"tasks.coding.{split}"
    )
    return [
        {
            "prompt": prompt(p),
            "reference": p["program"],
            "metadata": {
                "tests": p["tests"],
                "examples": p["examples"],
                "steps": p["steps"],
                "language": "tiny",
            },
        }
        for p in problems
    ]


_MAKERS = {
    "math": _math,
    "translation": _translation,
    "instructions": _instructions,
    "multihop": _multihop,
    "coding": _coding,
}


def make_task(world, task: str, cfg: dict, seed: int) -> dict[str, list[dict]]:
    """``{"train": [...], "test": [...]}`` of one embedded task, sizes from ``cfg["tasks"]``."""
    if task not in TASKS:
        raise ValueError(f"unknown embedded task {task!r}; allowed: {list(TASKS)}")
    cfg = validate_world_config(cfg)
    check_world_matches(world, cfg)
    out = {}
    for split in ("test", "train"):
        rng = rng_for(seed, "task", task, split)
        rows = _MAKERS[task](world, cfg, seed, split, cfg["tasks"][task][split], rng)
        out[split] = [{"id": f"{task}-{split}-{i}", **r} for i, r in enumerate(rows)]
    return out


def make_newknowledge(world, cfg: dict, seed: int) -> dict[str, list[dict]]:
    """Biographies of the new people (train: ``{"id", "text"}``) and questions about them
    (test: common schema, ``metadata.kind`` ∈ {direct, 2hop}; 2-hop questions lead from a new
    person to a fact of a corpus-visible company, city or university)."""
    cfg = validate_world_config(cfg)
    check_world_matches(world, cfg)
    nk = cfg["newknowledge"]
    rng = rng_for(seed, "newknowledge", "bios")
    train = []
    for p in world.new_people:
        texts = distinct_biographies(world, p, nk["bios_per_person"], rng, cfg["entities"]["pronoun_rate"])
        train += [
            {"id": f"newknowledge-bio-{p['id'].split(':')[1]}-{k}", "text": t} for k, t in enumerate(texts)
        ]
    rng_for(seed, "newknowledge", "order").shuffle(train)
    qs = multihop.sample_questions(
        world,
        world.new_people,
        nk["test"],
        nk["two_hop_fraction"],
        rng_for(seed, "newknowledge", "test"),
        all_templates=False,
        what="newknowledge.test",
    )
    test = [{"id": f"newknowledge-test-{i}", **q} for i, q in enumerate(qs)]
    return {"train": train, "test": test}
